import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { chromiumMissing, launchChromium } from "../../e2e/harness/browser";
import { type Json, simulatorCaller, startReceiver, waitFor } from "./harness";

/**
 * The simulated videos play in a real browser: Chromium (Debian's /usr/bin/chromium) loads
 * them through the real route handler, with the byte ranges a player asks for.
 */
process.env.SIMULATOR_DELAY_MS = "10";
process.env.SIMULATOR_PROGRESS_STEPS = "0";
vi.resetModules();
const route = await import("@/app/api/simulator/[...path]/route");
const { resetSimulator } = await import("@/simulator/router");
const call = simulatorCaller(route, "http://127.0.0.1:3999");

let receiver: Awaited<ReturnType<typeof startReceiver>>;
let server: ReturnType<typeof createServer>;
let origin = "";
beforeAll(async () => {
  resetSimulator();
  receiver = await startReceiver();
  // Same origin for the page and the media, so the test can read the decoded pixels.
  server = createServer(async (req, res) => {
    if (req.url === "/page") {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(
        '<body style="margin:0"><video id="v" muted playsinline></video><canvas id="c" width="256" height="144"></canvas></body>',
      );
      return;
    }
    const path = (req.url ?? "").replace(/^\/api\/simulator\//, "");
    const request = new Request(`${origin}${req.url}`, {
      headers: req.headers.range ? { range: req.headers.range } : {},
    });
    const response = await route.GET(request, {
      params: Promise.resolve({ path: path.split("/") }),
    });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  resetSimulator();
  await receiver.close();
  await new Promise((resolve) => server.close(resolve));
});

async function videoOf(sceneNumber: number, duration: number): Promise<string> {
  const jobId = `job_play${sceneNumber}`;
  const { json } = await call("POST", "video/api/v1/tasks/submit", {
    project_id: "prj_play",
    task_type: "generate_video",
    task_data: {
      scene_id: `scn_play${sceneNumber}`,
      scene_number: sceneNumber,
      prompt: "A lighthouse",
      start_image_url: null,
      duration,
    },
    callback_url: receiver.callbackUrl("video-complete", jobId),
  });
  const done = await waitFor(
    () => receiver.forTask(json.task_id).find((r) => r.body.status === "completed"),
    "video",
  );
  const body = done.body as Json;
  return new URL(body.video_url ?? body.result.video_url).pathname;
}

type Playback = {
  width: number;
  height: number;
  duration: number;
  first: number[];
  last: number[];
  barEnd: number[];
};

describe.skipIf(chromiumMissing)("simulated videos in Chromium", () => {
  it("plays a scene's clip and a stitched video to the end", async () => {
    const scene1 = await videoOf(1, 2);
    const scene2 = await videoOf(2, 1);
    const stitch = await call("POST", "stitch/api/v1/stitch", {
      video_urls: [`http://127.0.0.1:3999${scene1}`, `http://127.0.0.1:3999${scene2}`],
      webhook_url: receiver.callbackUrl("stitch-complete", "job_play_stitch"),
    });
    const final = `/api/simulator/media/${stitch.json.task_id}/final.mp4`;

    const browser = await launchChromium(["--autoplay-policy=no-user-gesture-required"]);
    try {
      const page = await browser.newPage();
      await page.goto(`${origin}/page`);
      const play = (src: string) =>
        page.evaluate(async (src): Promise<Playback | string> => {
          const video = document.getElementById("v") as HTMLVideoElement;
          const canvas = (document.getElementById("c") as HTMLCanvasElement).getContext("2d")!;
          const pixel = (x: number, y: number) => {
            canvas.drawImage(video, 0, 0);
            return Array.from(canvas.getImageData(x, y, 1, 1).data.slice(0, 3));
          };
          video.src = src;
          const loaded = await new Promise<string | null>((resolve) => {
            video.onloadeddata = () => resolve(null);
            video.onerror = () => resolve(`error ${video.error?.code}: ${video.error?.message}`);
          });
          if (loaded) return loaded;
          const ended = new Promise<void>((resolve) => {
            video.onended = () => resolve();
          });
          const first = await new Promise<number[]>((resolve) => {
            video.requestVideoFrameCallback(() => resolve(pixel(200, 100)));
            void video.play();
          });
          await ended;
          return {
            width: video.videoWidth,
            height: video.videoHeight,
            duration: video.duration,
            first,
            last: pixel(200, 100),
            barEnd: pixel(250, 130),
          };
        }, src);

      const clip = (await play(scene1)) as Playback;
      expect(clip).toMatchObject({ width: 256, height: 144, duration: 2 });
      expect(clip.barEnd).toEqual([255, 255, 255]); // the bar has filled by the last frame
      expect(clip.last).toEqual(clip.first);

      const stitched = (await play(final)) as Playback;
      expect(stitched).toMatchObject({ width: 256, height: 144, duration: 3 });
      expect(stitched.last).not.toEqual(stitched.first); // it ends on scene 2's colour
      expect(stitched.barEnd).toEqual([255, 255, 255]);
    } finally {
      await browser.close();
    }
  });
});

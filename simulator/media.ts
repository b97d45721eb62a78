import { createHash } from "node:crypto";
import { CLIP_LINE_CHARS, type ClipScene, renderClip } from "./clip";
import type { MediaRecord } from "./media-store";
import { MEDIA_FORMAT, type MediaKind, taskIdOfMediaUrl } from "./payloads";
import { boundedSet } from "./state";

/**
 * Media the simulated services "produce", served from
 * `/api/simulator/media/<task id>/<kind>.<svg|mp4>`: still images are SVG cards with the
 * scene's number, take, colour and prompt; videos are real MP4 clips of the same card
 * (simulator/clip.ts), so a `<video>` element plays them.
 */

/** The task behind a media URL: the live one, else its record saved before a restart. */
type Lookup = (taskId: string) => MediaRecord | undefined | null;

export type Media = { body: string | Uint8Array<ArrayBuffer>; contentType: string; known: boolean };

/** The file behind `<kind>.<svg|mp4>` of a task; null for a name we never hand out. */
export function renderMedia(taskId: string, file: string, lookup: Lookup): Media | null {
  const [kind, format] = file.split(".") as [MediaKind, string];
  if (!Object.hasOwn(MEDIA_FORMAT, kind) || MEDIA_FORMAT[kind] !== format) return null;
  const task = lookup(taskId) ?? undefined;
  const sourceVideo = (url: string | undefined) => {
    const source = lookup(taskIdOfMediaUrl(url) ?? "");
    return source?.service === "video" ? source : undefined;
  };
  if (format === "svg") {
    return {
      body: renderStill(taskId, task, kind, sourceVideo),
      contentType: "image/svg+xml; charset=utf-8",
      known: Boolean(task),
    };
  }
  return {
    body: clipOf(taskId, task, sourceVideo),
    contentType: "video/mp4",
    known: Boolean(task),
  };
}

const clipCache = new Map<string, Uint8Array<ArrayBuffer>>();

/** A clip is a few tens of KB built in a few ms; players ask for it in ranges, so keep the last few. */
function clipOf(
  taskId: string,
  task: MediaRecord | undefined,
  sourceVideo: SourceVideo,
): Uint8Array<ArrayBuffer> {
  const cached = clipCache.get(taskId);
  if (cached) return cached;
  const clip = renderClip(task ? clipScenes(task, sourceVideo) : [unknownScene(`task ${taskId}`)]);
  if (task) boundedSet(clipCache, taskId, clip, 16);
  return clip;
}

type SourceVideo = (url: string | undefined) => MediaRecord | undefined;

function clipScenes(task: MediaRecord, sourceVideo: SourceVideo): ClipScene[] {
  const scenes = task.service === "stitch" ? task.videoUrls.map(sourceVideo) : [task];
  return scenes.map((scene, i) =>
    scene?.sceneNumber
      ? {
          hue: sceneHue(scene.sceneNumber),
          title: `Scene ${scene.sceneNumber}`,
          lines: [takeLabel(scene), ...wrapText(scene.prompt ?? "", CLIP_LINE_CHARS, 3)],
          seconds: scene.duration ?? 5,
        }
      : unknownScene(`external video ${i + 1}`),
  );
}

function unknownScene(text: string): ClipScene {
  return { hue: 220, title: "Framechain", lines: wrapText(text, CLIP_LINE_CHARS, 4), seconds: 5 };
}

const WIDTH = 640;
const HEIGHT = 360;

/** Text as XML character data: escaped, and without the control characters XML forbids. */
export function xmlEscape(text: string): string {
  return (
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: removing the characters XML 1.0 forbids is the point
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "")
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&apos;")
  );
}

/** A distinct hue per scene number (golden-angle steps around the colour wheel). */
export function sceneHue(sceneNumber: number): number {
  return Math.round((sceneNumber * 137.508 + 200) % 360);
}

/** Up to `maxLines` lines of about `width` characters, the last one cut with an ellipsis. */
export function wrapText(text: string, width = 44, maxLines = 4): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.replace(/\s+/g, " ").trim().split(" ")) {
    const piece = word.length > width ? `${word.slice(0, width - 1)}…` : word;
    if (line && line.length + 1 + piece.length > width) {
      lines.push(line);
      line = piece;
    } else line = line ? `${line} ${piece}` : piece;
  }
  if (line) lines.push(line);
  if (lines.length <= maxLines) return lines;
  const kept = lines.slice(0, maxLines);
  kept[maxLines - 1] = `${kept[maxLines - 1]!.slice(0, width - 1)}…`;
  return kept;
}

type Card = {
  hue: number;
  title: string;
  label: string;
  body: string[];
  strip?: number[];
};

function renderCard(card: Card): string {
  const text = (x: number, y: number, size: number, content: string, extra = "") =>
    `<text x="${x}" y="${y}" font-size="${size}" ${extra}>${xmlEscape(content)}</text>`;
  const body = card.body.map((line, i) => text(32, 150 + i * 30, 22, line)).join("");
  const strip = (card.strip ?? [])
    .map((hue, i, all) => {
      const w = (WIDTH - 64) / all.length;
      return `<rect x="${(32 + i * w).toFixed(1)}" y="290" width="${(w - 4).toFixed(1)}" height="24" rx="4" fill="hsl(${hue} 70% 55%)"/>`;
    })
    .join("");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, sans-serif">`,
    `<defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl(${card.hue} 65% 38%)"/><stop offset="1" stop-color="hsl(${(card.hue + 40) % 360} 70% 22%)"/></linearGradient></defs>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="url(#bg)"/>`,
    `<g fill="#fff">`,
    text(32, 64, 40, card.title, 'font-weight="700"'),
    text(32, 100, 18, card.label, 'opacity="0.8"'),
    body,
    `</g>`,
    strip,
    `</svg>`,
  ].join("");
}

/** What a card says it is; a scene's thumbnail is also a one-scene project's poster, so "video". */
const LABELS: Record<MediaKind, string> = {
  video: "video",
  thumbnail: "video",
  "last-frame": "last frame",
  final: "final video",
  poster: "final video",
};

/** The SVG card of a still; an unknown task (e.g. after a restart) gets a neutral one. */
function renderStill(
  taskId: string,
  task: MediaRecord | undefined,
  kind: MediaKind,
  sourceVideo: SourceVideo,
): string {
  if (!task) {
    return renderCard({
      hue: 220,
      title: "Framechain",
      label: LABELS[kind],
      body: wrapText(`task ${taskId}`),
    });
  }
  if (task.service === "stitch") {
    // The stitched video's first frame, as a real service's thumbnail would be: its first
    // scene's card — so a project's poster looks the same whether it comes from the stitch
    // service or (when the callback carries none) from scene 1's thumbnail. The strip
    // below shows every scene's colour.
    const scenes = task.videoUrls.map(sourceVideo);
    const count = task.videoUrls.length;
    const first = scenes[0];
    return renderCard({
      hue: sceneHue(first?.sceneNumber ?? 1),
      title: first?.sceneNumber ? `Scene ${first.sceneNumber}` : "Scene",
      label: `${LABELS[kind]} · ${count} scene${count === 1 ? "" : "s"} · ${first ? takeLabel(first) : ""}`,
      body: wrapText(first?.prompt ?? "from an external video"),
      strip: scenes.map((s, i) => sceneHue(s?.sceneNumber ?? i + 1)),
    });
  }
  // A last frame shows the scene of the video it was taken from.
  const scene = task.service === "last-frame" ? sourceVideo(task.videoUrls[0]) : task;
  const number = scene?.sceneNumber ?? null;
  return renderCard({
    hue: sceneHue(number ?? 0),
    title: number ? `Scene ${number}` : "Scene",
    label: scene ? `${LABELS[kind]} · ${takeLabel(scene)}` : LABELS[kind],
    body: wrapText(scene?.prompt ?? "from an external video"),
  });
}

/**
 * Which take a scene's media show, so that re-shoots of a scene look different (issue 15):
 * the take number and a short hash of its prompt, e.g. "take 2 · #3fa9".
 */
export function takeLabel(scene: Pick<MediaRecord, "take" | "prompt">): string {
  const hash = createHash("sha256")
    .update(scene.prompt ?? "")
    .digest("hex")
    .slice(0, 4);
  return `take ${scene.take ?? 1} · #${hash}`;
}

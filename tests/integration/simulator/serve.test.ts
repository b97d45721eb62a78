import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServedStandIn, serveStandIn } from "@/simulator/serve";
import { expectedSignature, type Receiver, startReceiver, waitFor } from "./harness";

/**
 * The stand-in on its own loopback port, as the integration tests and the bench/soak use it:
 * over real HTTP, with the knobs only they set (the simulator's own are in simulator.test.ts).
 */
const SECRET = "stand-in-secret";
let receiver: Receiver;
let standIn: ServedStandIn;
beforeAll(async () => {
  receiver = await startReceiver();
  standIn = await serveStandIn({
    secret: () => SECRET,
    acceptedStatus: 200,
    delivery: { attempts: Number.POSITIVE_INFINITY, firstBackoffMs: 10, maxBackoffMs: 20 },
  });
});
afterAll(async () => {
  await standIn.close();
  await receiver.close();
});

const submit = (jobId: string) =>
  fetch(`${standIn.base}/frame/api/v1/process`, {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": jobId },
    body: JSON.stringify({
      video_url: "https://videos.example.com/1.mp4",
      webhook_url: `${receiver.callbackUrl("last-frame-complete", jobId)}&sig=abc`,
    }),
  });

describe("a stand-in on a loopback port", () => {
  it("quiet by default: answers, records every request, sends nothing, replays a key's task", async () => {
    const first = await submit("job_q1");
    expect(first.status).toBe(200);
    const { task_id } = (await first.json()) as { task_id: string };
    expect((await (await submit("job_q1")).json()) as object).toMatchObject({ task_id });
    standIn.answerNext("last-frame", { status: 503, headers: { "retry-after": "0" } });
    expect((await submit("job_q2")).status).toBe(503);
    expect(
      standIn.requests.map((r) => [r.path, r.idempotencyKey, r.status, r.taskId !== null]),
    ).toEqual([
      ["/frame/api/v1/process", "job_q1", 200, true],
      ["/frame/api/v1/process", "job_q1", 200, true],
      ["/frame/api/v1/process", "job_q2", 503, false],
    ]);
    expect(standIn.requests[1]!.taskId).toBe(task_id);
    expect(standIn.deliveries).toEqual([]);
    expect(receiver.received).toEqual([]);
  });

  it("an early callback goes signed to the bare endpoint before the submission is answered", async () => {
    Object.assign(standIn.knobs, { callbacks: true, early_callback_rate: 1 });
    const response = await submit("job_early");
    const { task_id } = (await response.json()) as { task_id: string };
    const [callback] = receiver.forTask(task_id);
    expect(callback?.url.search).toBe(""); // no ref: the app cannot match it yet and parks it
    expect(callback?.headers["x-webhook-signature"]).toBe(expectedSignature(SECRET, callback!.raw));
    expect(standIn.deliveries.at(-1)).toMatchObject({
      taskId: task_id,
      stage: "last-frame-complete",
      via: "signed-body",
      early: true,
      status: 200,
    });
  });

  it("keeps retrying a callback the app refuses with 503 until told to stop, then gives up", async () => {
    Object.assign(standIn.knobs, { early_callback_rate: 0, delay_ms: 0 });
    receiver.answers.push(...Array(1000).fill(503));
    const { task_id } = (await (await submit("job_retry")).json()) as { task_id: string };
    await waitFor(() => receiver.forTask(task_id).length >= 3, "three attempts");
    expect(receiver.forTask(task_id)[0]!.url.searchParams.get("ref")).toBe("job_retry");
    standIn.stopRetryingAt(Date.now());
    await waitFor(() => standIn.pendingDeliveries === 0, "the delivery to give up");
    const delivery = standIn.deliveries.find((d) => d.taskId === task_id)!;
    expect(delivery.status).toBeNull();
    expect(delivery.attempts).toBeGreaterThanOrEqual(3);
    receiver.answers.length = 0;
  });
});

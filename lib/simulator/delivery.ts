import { log } from "@/lib/observability/log";
import { parseRetryAfter } from "@/lib/services/http";
import { hmacSha256 } from "@/lib/services/signing";
import { STAGES, type Stage } from "@/lib/webhooks/stages";
import { callbackTarget } from "./access";
import { chance, knobs } from "./config";
import { type CallbackBody, callbackSequence, terminalBody } from "./payloads";
import { type SimService, type SimTask, sleep, store } from "./state";

/**
 * Sends a task's callbacks the way a real service does: signed with the stage's secret,
 * POSTed to the callback URL we were given (when locked, to this app's own endpoint for
 * the stage with that URL's ref and sig only: lib/simulator/access.ts), retried with backoff while our
 * endpoint answers 408/429/5xx or cannot be reached, given up on any other answer.
 */
const STAGE_OF: Record<SimService, Stage> = {
  video: "video-complete",
  "last-frame": "last-frame-complete",
  stitch: "stitch-complete",
};

export const DELIVERY = {
  attempts: 5,
  firstBackoffMs: 200,
  maxBackoffMs: 10_000,
  timeoutMs: 10_000,
} as const;

/**
 * Schedules the task's callbacks over its delay: progress callbacks spread evenly,
 * the terminal one at the end. With shuffle on, the same bodies go out in another order.
 */
export function scheduleCallbacks(task: SimTask) {
  if (task.outcome === "silent") {
    log("info", "simulator.silent", {
      service: task.service,
      task_id: task.id,
      job_id: task.jobId,
    });
    return;
  }
  const { progress_steps, shuffle } = knobs();
  const bodies = callbackSequence(task, progress_steps);
  const ordered = shuffle ? shuffled(bodies) : bodies;
  const start = Date.now();
  // One after the other, as a real service's worker would: the next waits for its slot
  // and for the previous one's answer, so the arrival order is the order chosen here.
  ordered
    .reduce(async (previous, body, i) => {
      await previous;
      await sleep(
        Math.max(0, start + Math.round((task.delayMs * (i + 1)) / ordered.length) - Date.now()),
      );
      await send(task, body);
    }, Promise.resolve())
    // Never an unhandled rejection: a simulator bug must not take the app's process down.
    .catch((error: unknown) =>
      log("error", "simulator.delivery_crashed", { task_id: task.id, error: String(error) }),
    );
}

/** Sends the terminal callback now and waits for its first answer (the "raced ahead" case). */
export async function sendTerminalNow(task: SimTask): Promise<void> {
  if (task.outcome === "silent") return;
  log("info", "simulator.early_callback", {
    service: task.service,
    task_id: task.id,
    job_id: task.jobId,
  });
  await send(task, terminalBody(task));
}

/** One callback, and with SIMULATOR_DUPLICATE_RATE the same bytes once more after it was answered. */
async function send(task: SimTask, body: CallbackBody) {
  const raw = JSON.stringify(body);
  const generation = store().generation;
  await deliver(task, raw, generation);
  if (chance(knobs().duplicate_rate) && store().generation === generation) {
    store().callbacks.duplicated++;
    await deliver(task, raw, generation);
  }
}

/** The headers of a signed callback; no signature when the stage has no secret (dev). */
export function signatureHeaders(service: SimService, raw: string): Record<string, string> {
  const secret = STAGES[STAGE_OF[service]].secrets()?.[0];
  return secret
    ? { "x-webhook-signature": `sha256=${hmacSha256(secret, raw).toString("hex")}` }
    : {};
}

async function deliver(task: SimTask, raw: string, generation: number): Promise<void> {
  const counts = store().callbacks; // captured: a delivery from before a reset counts into the old log
  counts.sent++;
  for (let attempt = 1; attempt <= DELIVERY.attempts; attempt++) {
    if (store().generation !== generation) return; // reset: this delivery belongs to an older run
    let status: number | null = null;
    let retryAfterMs: number | undefined;
    let failure = "";
    try {
      // Locked (production demo, ADMIN_TOKEN set): only ever this app's own endpoint.
      const response = await fetch(callbackTarget(task.service, task.callbackUrl), {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "framechain-simulator",
          ...signatureHeaders(task.service, raw),
        },
        body: raw,
        redirect: "manual",
        signal: AbortSignal.timeout(DELIVERY.timeoutMs),
      });
      status = response.status;
      retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
      failure = (await response.text()).slice(0, 200);
    } catch (error) {
      failure = describe(error);
    }
    const retryable = status === null || status === 408 || status === 429 || status >= 500;
    log(retryable ? "warn" : "info", "simulator.callback", {
      service: task.service,
      task_id: task.id,
      job_id: task.jobId,
      attempt,
      status,
      error: status !== null && status < 300 ? undefined : failure,
    });
    if (!retryable) {
      if (status !== null && status < 300) counts.delivered++;
      else counts.rejected++;
      return;
    }
    if (attempt === DELIVERY.attempts) break;
    counts.retried++;
    const backoff = Math.min(DELIVERY.maxBackoffMs, DELIVERY.firstBackoffMs * 2 ** (attempt - 1));
    await sleep(
      Math.min(DELIVERY.maxBackoffMs, retryAfterMs ?? backoff * (0.5 + Math.random() / 2)),
    );
  }
  counts.gave_up++;
  log("warn", "simulator.callback_gave_up", {
    service: task.service,
    task_id: task.id,
    job_id: task.jobId,
  });
}

/** A random order that differs from the original whenever there are two or more items. */
export function shuffled<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out.length > 1 && out.every((item, i) => item === items[i]) ? out.reverse() : out;
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause;
  return cause?.code ?? (error as Error).message;
}

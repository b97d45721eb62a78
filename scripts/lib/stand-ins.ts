import type { Knobs } from "@/simulator/knobs";
import { serveStandIn } from "@/simulator/serve";
import type { Delivery, RequestRecord, ServiceName, Stage } from "@/simulator/state";

/**
 * The services' stand-in (simulator/stand-in.ts) on a loopback port for the bench and the
 * soak, living in the script's process so it outlives a killed app server. It answers like
 * the real services (the same task id for the same Idempotency-Key) and, when asked, sends
 * the signed completion callbacks — late, twice, out of order, before answering the
 * submission, or after a 503 first, as the fault settings say — retrying each until it
 * gets through or `stopRetryingAt`.
 */
export type { Delivery, ServiceName };
export type CallbackStage = Stage;
export type Submission = RequestRecord;

export type Faults = {
  /** Delay before answering a submission, per service (the slow-downstream bench sets 2000). */
  answerDelayMs: Partial<Record<ServiceName, number>>;
  /** Send the completion callback of each accepted task (false: the bench sends its own). */
  callbacks: boolean;
  /** Each task's callback goes out after a random delay in this range: deliveries overtake each other. */
  callbackDelayMs: [number, number];
  /** Share of callbacks delivered a second time. */
  duplicateRate: number;
  /** Share of requests answered 503 (transient; the app retries with the same Idempotency-Key). */
  unavailableRate: number;
  /** Share of tasks whose callback is delivered, and answered, before the submission is answered. */
  earlyCallbackRate: number;
};

const KNOB_OF_FAULT = {
  answerDelayMs: "answer_delay_ms",
  callbacks: "callbacks",
  duplicateRate: "duplicate_rate",
  unavailableRate: "unavailable_rate",
  earlyCallbackRate: "early_callback_rate",
} as const satisfies Record<Exclude<keyof Faults, "callbackDelayMs">, keyof Knobs>;

export type StandIns = Awaited<ReturnType<typeof startStandIns>>;

export async function startStandIns(options: {
  /** Secrets of the three callback endpoints (the app's *_WEBHOOK_SECRET). */
  secrets: Record<CallbackStage, string>;
  faults?: Partial<Faults>;
}) {
  const served = await serveStandIn({
    secret: (stage) => options.secrets[stage],
    acceptedStatus: 200,
    retryAfterSeconds: 0,
    // Retried until it gets through: the app may be down for a restart.
    delivery: { attempts: Number.POSITIVE_INFINITY, firstBackoffMs: 100, maxBackoffMs: 2000 },
    limit: Number.POSITIVE_INFINITY,
  });
  const k = served.knobs;
  // The fault settings, read and written through to the stand-in's knobs.
  const faults = {} as Faults;
  for (const [fault, knob] of Object.entries(KNOB_OF_FAULT)) {
    Object.defineProperty(faults, fault, {
      enumerable: true,
      get: () => k[knob],
      set: (value: never) => {
        k[knob] = value;
      },
    });
  }
  Object.defineProperty(faults, "callbackDelayMs", {
    enumerable: true,
    get: () => [k.delay_ms, k.delay_ms + k.delay_jitter_ms],
    set: ([min, max]: [number, number]) => {
      k.delay_ms = min;
      k.delay_jitter_ms = max - min;
    },
  });
  Object.assign(faults, options.faults);
  return Object.assign(served, { faults, submissions: served.requests });
}

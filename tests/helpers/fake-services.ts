import { serveStandIn } from "@/simulator/serve";
import { type ScriptedAnswer, serviceOfPath } from "@/simulator/stand-in";
import type { RequestRecord } from "@/simulator/state";

export type RecordedRequest = RequestRecord;

/**
 * The services' stand-in (simulator/stand-in.ts) on a loopback port, quiet: it records
 * every request and answers like the real services (a task id, the same one for the same
 * Idempotency-Key), unless a test scripts other answers (`answerNext`). Callbacks are the
 * test's to send (tests/helpers/pipeline-driver.ts).
 */
export async function startFakeServices() {
  const services = await serveStandIn({ knobs: { payload_shape: "documented" } });
  const answerNext = services.answerNext;
  return Object.assign(services, {
    answerNext(path: string, ...answers: ScriptedAnswer[]) {
      answerNext(serviceOfPath(path)!, ...answers);
    },
    /** The accepted requests to one path. */
    of(path: string) {
      return services.requests.filter((r) => r.path === path && r.taskId !== null);
    },
  });
}
export type FakeServices = Awaited<ReturnType<typeof startFakeServices>>;

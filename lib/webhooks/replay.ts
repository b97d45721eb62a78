import "server-only";
import { and, eq } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { jobs, webhookEvents } from "@/lib/db/schema";
import { AppError } from "@/lib/http/errors";
import { applyParkedCallbacks } from "@/lib/jobs/dispatcher";
import { scheduleDispatch } from "@/lib/jobs/schedule";
import { lockTask } from "./apply-callback";
import { parseCallback } from "./payloads";
import { applyReceived } from "./receive";
import { STAGES } from "./stages";

/**
 * Re-delivers a stored callback as if it had just arrived (signature already checked when
 * it was received). A parked one is applied if its task is now known; a replay of an
 * applied one is a harmless duplicate.
 */
export async function replayWebhookEvent(
  id: number,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const db = await getDb();
  const [event] = await db.select().from(webhookEvents).where(eq(webhookEvents.id, id));
  if (!event) throw new AppError("not_found", `Webhook event ${id} not found`);
  if (!event.payload) {
    throw new AppError(
      "conflict",
      "Nothing to replay: this request was refused before its body was read or verified",
    );
  }
  const parsed = parseCallback(event.source, event.payload);
  if (!parsed.ok)
    return {
      status: 400,
      body: { error: "Stored payload fails the schema", issues: parsed.issues },
    };

  if (event.outcome === "parked") {
    const taskId = parsed.callback.taskId;
    const queued = await db.transaction(async (tx) => {
      await lockTask(tx, event.source, taskId);
      const [job] = await tx
        .select()
        .from(jobs)
        .where(and(eq(jobs.externalTaskId, taskId), eq(jobs.kind, STAGES[event.source].jobKind)))
        .limit(1);
      return job ? applyParkedCallbacks(tx, job, taskId) : null;
    });
    if (queued === null)
      return { status: 202, body: { received: true, parked: true, reason: "task still unknown" } };
    if (queued.length) scheduleDispatch();
    const [after] = await db.select().from(webhookEvents).where(eq(webhookEvents.id, id));
    return {
      status: 200,
      body: { received: true, replayed: true, outcome: after?.outcome, reason: after?.reason },
    };
  }

  const reply = await applyReceived(
    event.source,
    parsed.callback,
    event.jobId,
    null,
    event.payload,
  );
  if (reply.queued) scheduleDispatch();
  return { status: reply.status, body: { ...reply.body, replayed: true } };
}

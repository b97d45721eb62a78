import "server-only";
import { eq } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { webhookEvents } from "@/lib/db/schema";
import { AppError } from "@/lib/http/errors";
import { scheduleDispatch } from "@/lib/jobs/schedule";
import { applyParkedReports } from "@/lib/pipeline/apply";
import { parseCallback } from "./payloads";
import { applyCallback } from "./receive";
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
    const queued = await applyParkedReports(STAGES[event.source].jobKind, parsed.callback.taskId);
    if (queued.length) scheduleDispatch();
    const [after] = await db.select().from(webhookEvents).where(eq(webhookEvents.id, id));
    if (after?.outcome === "parked")
      return { status: 202, body: { received: true, parked: true, reason: "task still unknown" } };
    return {
      status: 200,
      body: { received: true, replayed: true, outcome: after?.outcome, reason: after?.reason },
    };
  }

  const reply = await applyCallback(
    event.source,
    parsed.callback,
    event.jobId,
    null,
    event.payload,
  );
  if (reply.queued) scheduleDispatch();
  return { status: reply.status, body: { ...reply.body, replayed: true } };
}

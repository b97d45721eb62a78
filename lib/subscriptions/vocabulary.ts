/**
 * The outgoing-webhook vocabularies (CONTRACT §6), pure: the drizzle schema imports them
 * for its CHECK constraints, the API for its validation.
 */
import type { ProjectEventType } from "../pipeline/transition";

/** The project events an endpoint can subscribe to (`events` omitted or null: all of them). */
export const PROJECT_EVENT_TYPES = [
  "project.started",
  "scene.completed",
  "scene.failed",
  "project.stitching",
  "project.completed",
  "project.failed",
  "project.cancelled",
] as const satisfies readonly ProjectEventType[];

/** Sent only by POST /api/v1/webhook-endpoints/{id}/test, whatever the endpoint subscribed to. */
export const TEST_EVENT_TYPE = "test.ping";
export const EVENT_TYPES = [...PROJECT_EVENT_TYPES, TEST_EVENT_TYPE] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * queued (due at next_attempt_at) → running (claimed, lease until lease_expires_at)
 * → succeeded (a 2xx) | queued again (retry per SUBSCRIPTION_RETRY_SCHEDULE) | failed
 * (schedule exhausted, or refused before sending).
 */
export const DELIVERY_STATUSES = ["queued", "running", "succeeded", "failed"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** Woken (payload unused) by every statement that queues deliveries. */
export const DELIVERIES_CHANNEL = "framechain_deliveries";

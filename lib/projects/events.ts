import "server-only";
import { EventEmitter } from "node:events";
import { asc, gt, sql } from "drizzle-orm";
import { getConnection, getDb } from "@/lib/db/client";
import { projects } from "@/lib/db/schema";
import { log } from "@/lib/observability/log";
import {
  type ErrorView,
  listErrors,
  listWebhookEvents,
  type WebhookEventView,
} from "@/lib/observability/queries";
import { PROJECT_CHANNEL } from "@/lib/pipeline/store";
import { listProjectEvents, type ProjectEventView } from "@/lib/subscriptions/endpoints";
import { getProjectView } from "./queries";
import type { ProjectView } from "./serialize";

/**
 * Live project changes: ONE listener per process on PROJECT_CHANNEL (LISTEN/NOTIFY on
 * PostgreSQL, PGlite's in-process listen otherwise), fanned out to every open stream
 * through an EventEmitter, plus a slow poll of projects.updated_at so a missed
 * notification (dropped connection, another instance's clock) never freezes a page.
 */

/** How often the fallback poll looks for changed projects while someone is watching. */
export const CHANGE_POLL_MS = 3000;
/** Comment line that keeps proxies and the browser from timing the stream out. */
export const HEARTBEAT_MS = 15_000;
/** How long EventSource waits before reconnecting after the stream drops. */
const RECONNECT_MS = 2000;
/** Rows re-read by each poll before the watermark: covers commits that land slightly out of order. */
const POLL_OVERLAP_MS = 2000;

type Hub = {
  emitter: EventEmitter;
  subscribers: number;
  listening: Promise<(() => Promise<void>) | null> | null;
  poll: ReturnType<typeof setInterval> | null;
  watermark: number | null;
  seen: Map<string, number>;
};

// On globalThis: dev reloads modules, and there must stay one listener per process.
const store = globalThis as unknown as { __framechainProjectHub?: Hub };

function hub(): Hub {
  store.__framechainProjectHub ??= {
    emitter: new EventEmitter().setMaxListeners(0),
    subscribers: 0,
    listening: null,
    poll: null,
    watermark: null,
    seen: new Map(),
  };
  return store.__framechainProjectHub;
}

/** Calls `onChange(projectId)` whenever a project changes; returns the unsubscribe. */
export function subscribeProjectChanges(onChange: (projectId: string) => void): () => void {
  const h = hub();
  h.emitter.on("change", onChange);
  h.subscribers++;
  h.listening ??= listen(h);
  h.poll ??= setInterval(() => void pollChanges(h), CHANGE_POLL_MS);
  h.poll.unref?.();
  let active = true;
  return () => {
    if (!active) return;
    active = false;
    h.emitter.off("change", onChange);
    h.subscribers--;
    // The LISTEN stays (one cheap connection); only the poll stops when nobody watches.
    if (h.subscribers === 0 && h.poll) {
      clearInterval(h.poll);
      h.poll = null;
    }
  };
}

/** Resolves once the process's LISTEN is in place (or has failed, leaving the poll). */
export async function projectChangesListening(): Promise<boolean> {
  const listening = store.__framechainProjectHub?.listening;
  return Boolean(listening && (await listening));
}

/** Stops the listener and the poll (tests, shutdown). */
export async function stopProjectChanges(): Promise<void> {
  const h = store.__framechainProjectHub;
  if (!h) return;
  store.__framechainProjectHub = undefined;
  if (h.poll) clearInterval(h.poll);
  h.emitter.removeAllListeners();
  const unlisten = await h.listening?.catch(() => null);
  await unlisten?.().catch(() => {});
}

async function listen(h: Hub): Promise<(() => Promise<void>) | null> {
  const emit = (payload: string) => {
    if (payload) h.emitter.emit("change", payload);
  };
  try {
    const connection = await getConnection();
    if (connection.kind === "postgres") {
      // postgres.js keeps a dedicated connection for LISTEN and re-listens after it reconnects.
      const request = await connection.sql.listen(PROJECT_CHANNEL, emit);
      return () => request.unlisten();
    }
    const unlisten = await connection.client.listen(PROJECT_CHANNEL, emit);
    return () => unlisten();
  } catch (error) {
    // The poll still runs; the next subscriber tries LISTEN again.
    h.listening = null;
    log("warn", "project_events.listen_failed", { error: String(error) });
    return null;
  }
}

/**
 * One pass of the fallback poll, now (the interval runs it every CHANGE_POLL_MS while someone
 * watches): tests drive it directly instead of waiting for the timer.
 */
export async function pollProjectChangesOnce(): Promise<void> {
  await pollChanges(hub());
}

async function pollChanges(h: Hub): Promise<void> {
  try {
    const db = await getDb();
    if (h.watermark === null) {
      const [row] = await db
        .select({ at: sql<string | null>`max(${projects.updatedAt})` })
        .from(projects);
      h.watermark = row?.at ? new Date(row.at).getTime() : 0;
      return;
    }
    const rows = await db
      .select({ id: projects.id, updatedAt: projects.updatedAt })
      .from(projects)
      .where(gt(projects.updatedAt, new Date(h.watermark - POLL_OVERLAP_MS)))
      .orderBy(asc(projects.updatedAt))
      .limit(500);
    for (const row of rows) {
      const at = row.updatedAt.getTime();
      if (h.seen.get(row.id) === at) continue;
      h.seen.set(row.id, at);
      if (at > h.watermark) h.watermark = at;
      h.emitter.emit("change", row.id);
    }
    for (const [id, at] of h.seen) if (at < h.watermark - POLL_OVERLAP_MS) h.seen.delete(id);
  } catch (error) {
    log("warn", "project_events.poll_failed", { error: String(error) });
  }
}

/** Everything the project page shows: the project, its received callbacks, its errors, its events. */
export type ProjectSnapshot = {
  project: ProjectView;
  webhook_events: WebhookEventView[];
  errors: ErrorView[];
  /** The events it emitted to webhook subscribers (CONTRACT §6), in sequence. */
  emitted_events: ProjectEventView[];
};

/** How many of the latest callbacks and errors a snapshot carries. */
export const SNAPSHOT_LOG_LIMIT = 25;

export async function getProjectSnapshot(id: string): Promise<ProjectSnapshot> {
  const project = await getProjectView(id); // 404 AppError for an unknown id
  const [events, errors, emitted] = await Promise.all([
    listWebhookEvents({ projectId: id, limit: SNAPSHOT_LOG_LIMIT }),
    listErrors({ projectId: id, limit: SNAPSHOT_LOG_LIMIT }),
    listProjectEvents(id),
  ]);
  return {
    project,
    webhook_events: events.items,
    errors: errors.items,
    emitted_events: emitted,
  };
}

type Send = (event: string, data: unknown) => void;

type OpenStreams = { closers: Set<() => void>; shuttingDown: boolean };
const streams = globalThis as unknown as { __framechainOpenStreams?: OpenStreams };

/**
 * Open event streams never finish by themselves, and `next start` waits for pending
 * requests before it exits on SIGTERM/SIGINT. So when the server shuts down gracefully
 * (someone handles those signals), end them, and refuse new ones with `Connection: close`
 * so the browser's reconnect does not land on a kept-alive socket of the dying server.
 */
function openStreams(): OpenStreams {
  if (!streams.__framechainOpenStreams) {
    const open: OpenStreams = { closers: new Set(), shuttingDown: false };
    streams.__framechainOpenStreams = open;
    const closeAll = () => {
      open.shuttingDown = true;
      for (const close of [...open.closers]) close();
    };
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      if (process.listenerCount(signal) > 0) process.once(signal, closeAll);
    }
  }
  return streams.__framechainOpenStreams;
}

/**
 * A text/event-stream response. `start` gets a `send` and returns its cleanup, which runs
 * once when the client goes away (request.signal) or the stream is cancelled.
 */
export function eventStreamResponse(
  signal: AbortSignal,
  start: (send: Send) => () => void,
): Response {
  if (openStreams().shuttingDown) {
    return new Response("Server is restarting", {
      status: 503,
      headers: { "Retry-After": "1", Connection: "close", "Cache-Control": "no-store" },
    });
  }
  const encoder = new TextEncoder();
  let cleanup = () => {};
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let open = true;
      let stop = () => {};
      const close = () => {
        if (!open) return;
        open = false;
        clearInterval(heartbeat);
        signal.removeEventListener("abort", close);
        openStreams().closers.delete(close);
        stop();
        try {
          controller.close();
        } catch {
          // already closed by the runtime
        }
      };
      const write = (text: string) => {
        if (!open) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          close();
        }
      };
      const heartbeat = setInterval(() => write(": heartbeat\n\n"), HEARTBEAT_MS);
      cleanup = close;
      openStreams().closers.add(close);
      write(`retry: ${RECONNECT_MS}\n\n`);
      stop = start((event, data) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
      if (signal.aborted) close();
      else signal.addEventListener("abort", close);
    },
    cancel() {
      cleanup();
    },
  });
  return new Response(stream, {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      // no-transform: keeps Next's gzip (and proxies) from buffering the stream
      "Cache-Control": "no-cache, no-transform",
      "X-Accel-Buffering": "no",
    },
  });
}

/**
 * Runs `task` after each change, one at a time: changes arriving while it runs collapse
 * into one more run, so a burst of callbacks costs at most two queries.
 */
function coalesced(task: () => Promise<void>): () => void {
  let running = false;
  let again = false;
  const run = async () => {
    running = true;
    do {
      again = false;
      await task();
    } while (again);
    running = false;
  };
  return () => {
    if (running) again = true;
    else void run();
  };
}

/** The stream of `GET /api/v1/projects/{id}/events`: a `project` event with the full snapshot on each change. */
export function projectEventStream(
  signal: AbortSignal,
  id: string,
  first: ProjectSnapshot,
): Response {
  return eventStreamResponse(signal, (send) => {
    let last = "";
    let closed = false;
    const sendIfChanged = (snapshot: ProjectSnapshot) => {
      const text = JSON.stringify(snapshot);
      if (text === last || closed) return;
      last = text;
      send("project", snapshot);
    };
    sendIfChanged(first);
    const refresh = coalesced(async () => {
      try {
        sendIfChanged(await getProjectSnapshot(id));
      } catch (error) {
        log("warn", "project_events.snapshot_failed", { project_id: id, error: String(error) });
      }
    });
    const unsubscribe = subscribeProjectChanges((changed) => {
      if (changed === id) refresh();
    });
    return () => {
      closed = true;
      unsubscribe();
    };
  });
}

/** How long the all-projects stream gathers changes before telling the list page. */
const LIST_BATCH_MS = 200;

/** The stream of `GET /api/v1/projects/events`: `changed` with the ids of projects that changed. */
export function projectListEventStream(signal: AbortSignal): Response {
  return eventStreamResponse(signal, (send) => {
    send("ready", {});
    const pending = new Set<string>();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const unsubscribe = subscribeProjectChanges((id) => {
      pending.add(id);
      timer ??= setTimeout(() => {
        timer = null;
        send("changed", { ids: [...pending] });
        pending.clear();
      }, LIST_BATCH_MS);
    });
    return () => {
      if (timer) clearTimeout(timer);
      unsubscribe();
    };
  });
}

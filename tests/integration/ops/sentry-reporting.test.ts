import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

/**
 * With SENTRY_DSN set: the real SDK, initialised by our server config, with only its
 * transport swapped for one that keeps the envelopes it would have sent.
 */

const saved = { ...process.env };
const envelopes: string[] = [];
const secret = "s3cr3t-value-0123456789";
let Sentry: typeof import("@sentry/nextjs");

beforeAll(async () => {
  process.env.SENTRY_DSN = "http://publickey@127.0.0.1:9/1";
  vi.resetModules();
  Sentry = await import("@sentry/nextjs");
  const { initServerSentry } = await import("@/sentry.server.config");
  const initialised = initServerSentry({
    defaultIntegrations: false,
    transport: (options: Parameters<typeof Sentry.createTransport>[0]) =>
      Sentry.createTransport(options, async (request) => {
        envelopes.push(
          typeof request.body === "string" ? request.body : new TextDecoder().decode(request.body),
        );
        return { statusCode: 200 };
      }),
  });
  expect(initialised).toBe(true);
});

afterAll(async () => {
  await Sentry.close(2000);
  process.env = saved;
});

/** The events in the kept envelopes (one JSON item per line after the envelope header). */
type SentEvent = {
  level: string;
  message?: string;
  tags: Record<string, string>;
  contexts: Record<string, unknown>;
  exception: { values: { value: string }[] };
};
function sentEvents(): SentEvent[] {
  return envelopes.flatMap((envelope) =>
    envelope
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .filter(
        (item) => item && typeof item === "object" && ("exception" in item || "message" in item),
      ),
  );
}

describe("recordError with SENTRY_DSN set", () => {
  it("sends warnings and worse, tagged by type and stage/kind, with identifiers only", async () => {
    const { recordError } = await import("@/lib/observability/error-log");
    await recordError({
      type: "service",
      severity: "critical",
      message: `stitch service answered 503 (sent Bearer ${secret})`,
      projectId: "prj_s1",
      context: {
        stage: "stitch-complete",
        kind: "stitch",
        job_id: "job_9",
        http_status: 503,
        payload: { video_urls: [secret] },
        api_key: secret,
      },
      cause: new Error(`upstream said token=${secret}`),
    });
    await recordError({
      type: "webhook",
      severity: "warning",
      message: "bad signature",
      context: { stage: "video-complete" },
    });
    await recordError({ type: "webhook", severity: "info", message: "stale callback ignored" });
    await Sentry.flush(2000);

    const events = sentEvents();
    expect(envelopes.join("")).not.toContain(secret);
    expect(events).toHaveLength(2);
    const [critical, warning] = events;
    expect(critical!.level).toBe("fatal");
    expect(critical!.tags).toMatchObject({
      type: "service",
      stage: "stitch-complete",
      kind: "stitch",
      http_status: "503",
      project_id: "prj_s1",
    });
    expect(critical!.contexts.framechain).toEqual({
      stage: "stitch-complete",
      kind: "stitch",
      job_id: "job_9",
      http_status: 503,
    });
    expect(critical!.exception.values[0]!.value).toBe("upstream said token=[Filtered]");
    expect(warning).toMatchObject({
      level: "warning",
      message: "bad signature",
      tags: { type: "webhook", stage: "video-complete" },
    });

    // The error log itself still got all three.
    const { listErrors } = await import("@/lib/observability/queries");
    expect((await listErrors()).items.map((e) => e.severity)).toEqual([
      "info",
      "warning",
      "critical",
    ]);
  });

  it("scrubs request errors reported through onRequestError", async () => {
    envelopes.length = 0;
    const { onRequestError } = await import("@/instrumentation");
    onRequestError(
      new Error("handler blew up"),
      {
        path: `/api/webhooks/video-complete?ref=job_1&sig=${secret}`,
        method: "POST",
        headers: {
          authorization: `Bearer ${secret}`,
          "x-api-key": secret,
          "x-webhook-signature": secret,
          "webhook-signature": `v1,${secret}`,
          cookie: `framechain_session=${secret}`,
        },
      },
      { routerKind: "App Router", routePath: "/api/webhooks/video-complete", routeType: "route" },
    );
    await Sentry.flush(2000);
    const events = sentEvents();
    expect(events).toHaveLength(1);
    expect(events[0]!.exception.values[0]!.value).toBe("handler blew up");
    expect(envelopes.join("")).not.toContain(secret);
  });
});

import type { Event } from "@sentry/nextjs";
import { describe, expect, it } from "vitest";
import {
  FILTERED,
  scrubBreadcrumb,
  scrubEvent,
  scrubText,
  sentryOptions,
} from "@/lib/observability/sentry";

describe("scrubEvent (beforeSend)", () => {
  const secret = "s3cr3t-value-0123456789";

  function sample(): Event {
    return {
      message: `stitch failed: Authorization: Bearer ${secret}`,
      request: {
        url: `https://app.example/api/webhooks/video-complete?ref=job_1&sig=${secret}`,
        method: "POST",
        query_string: `ref=job_1&sig=${secret}`,
        headers: {
          Authorization: `Bearer ${secret}`,
          "X-API-Key": secret,
          "x-webhook-signature": `sha256=${secret}`,
          "webhook-signature": `v1,${secret}`,
          Cookie: `framechain_session=${secret}`,
          "content-type": "application/json",
          "webhook-id": "msg_1",
        },
        cookies: { framechain_session: secret },
        data: JSON.stringify({
          task_id: "t1",
          video_url: `https://cdn.example/v.mp4?token=${secret}`,
        }),
        env: { SECRET: secret },
      },
      exception: {
        values: [{ type: "Error", value: `connect failed postgres://app:${secret}@db:5432/x` }],
      },
      extra: {
        api_key: secret,
        payload: { anything: secret },
        nested: { stitchSecret: secret, ok: "kept" },
      },
      contexts: { framechain: { stage: "stitch-complete", token: secret } },
      user: { id: "admin", ip_address: "10.0.0.1", email: "a@b.c" },
      breadcrumbs: [
        {
          category: "fetch",
          data: { url: `https://svc.example/x?api_key=${secret}`, method: "POST" },
        },
        {
          category: "console",
          message: `sending with whsec_${Buffer.from(secret).toString("base64")}`,
        },
      ],
    };
  }

  it("removes every credential, cookie and body, and keeps what helps debugging", () => {
    const event = scrubEvent(sample());
    expect(JSON.stringify(event)).not.toContain(secret);
    expect(JSON.stringify(event)).not.toContain(Buffer.from(secret).toString("base64"));

    const headers = event.request!.headers!;
    for (const name of [
      "Authorization",
      "X-API-Key",
      "x-webhook-signature",
      "webhook-signature",
      "Cookie",
    ]) {
      expect(headers[name], name).toBe(FILTERED);
    }
    expect(headers["content-type"]).toBe("application/json");
    expect(headers["webhook-id"]).toBe("msg_1");
    expect(event.request!.cookies).toBeUndefined();
    expect(event.request!.data).toBeUndefined();
    expect(event.request!.env).toBeUndefined();
    expect(event.request!.url).toBe(
      `https://app.example/api/webhooks/video-complete?ref=job_1&sig=${FILTERED}`,
    );
    expect(event.request!.query_string).toBe(`ref=job_1&sig=${FILTERED}`);
    expect(event.message).toBe(`stitch failed: Authorization: Bearer ${FILTERED}`);
    expect(event.exception!.values![0]!.value).toBe(
      `connect failed postgres://app:${FILTERED}@db:5432/x`,
    );
    expect(event.extra).toEqual({
      api_key: FILTERED,
      payload: FILTERED,
      nested: { stitchSecret: FILTERED, ok: "kept" },
    });
    expect(event.contexts!.framechain).toEqual({ stage: "stitch-complete", token: FILTERED });
    expect(event.user).toEqual({ id: "admin" });
    expect(event.breadcrumbs![0]!.data!.url).toBe(`https://svc.example/x?api_key=${FILTERED}`);
    expect(event.breadcrumbs![0]!.data!.method).toBe("POST");
  });

  it("handles query strings given as objects or pairs", () => {
    const asObject = scrubEvent({ request: { query_string: { ref: "job_1", sig: secret } } });
    expect(asObject.request!.query_string).toEqual({ ref: "job_1", sig: FILTERED });
    const asPairs = scrubEvent({
      request: {
        query_string: [
          ["ref", "job_1"],
          ["token", secret],
        ],
      },
    });
    expect(asPairs.request!.query_string).toEqual([
      ["ref", "job_1"],
      ["token", FILTERED],
    ]);
  });

  it("scrubs breadcrumbs on their own (beforeBreadcrumb) and leaves plain text alone", () => {
    const crumb = scrubBreadcrumb({
      message: `GET /x?sig=${secret}`,
      data: { authorization: secret },
    });
    expect(crumb).toEqual({ message: `GET /x?sig=${FILTERED}`, data: { authorization: FILTERED } });
    expect(scrubText("scene 3 of prj_1 failed after 3 attempts")).toBe(
      "scene 3 of prj_1 failed after 3 attempts",
    );
  });

  it("is wired as beforeSend and beforeBreadcrumb, with no PII and no tracing", () => {
    const options = sentryOptions("https://key@o1.ingest.sentry.io/1", "test");
    expect(options.beforeSend).toBe(scrubEvent);
    expect(options.beforeBreadcrumb).toBe(scrubBreadcrumb);
    expect(options.sendDefaultPii).toBe(false);
    expect(options.tracesSampleRate).toBe(0);
  });
});

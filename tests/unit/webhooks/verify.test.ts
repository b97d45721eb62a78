import { createHmac } from "node:crypto";
import fc from "fast-check";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it, vi } from "vitest";

/**
 * verifyCallback against the published test vectors (Standard Webhooks, GitHub), the
 * reference `standardwebhooks` library, and every way a callback must be refused.
 * Signatures are computed here with node:crypto or the library, never with our signing.ts
 * (except signRef, which defines the signed-URL format).
 */

type VerifyModule = typeof import("@/lib/webhooks/verify");

/** Imports a fresh verify module (and lib/env) under these settings; restores process.env after. */
async function withEnv(vars: Record<string, string | undefined>): Promise<VerifyModule> {
  const saved: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(vars)) {
    saved[name] = process.env[name];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  try {
    vi.resetModules();
    return await import("@/lib/webhooks/verify");
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

const enc = (text: string) => new TextEncoder().encode(text);
const hexHmac = (key: string | Buffer, data: string | Uint8Array) =>
  createHmac("sha256", key).update(data).digest("hex");
const url = (query = "") => new URL(`http://127.0.0.1:3999/api/webhooks/video-complete${query}`);

function input(
  body: string,
  headers: Record<string, string> = {},
  query = "",
  nowSeconds?: number,
) {
  return { headers: new Headers(headers), body: enc(body), url: url(query), nowSeconds };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("X-Webhook-Signature (hex HMAC of the raw body)", () => {
  it("with a whsec_ secret, accepts the openssl key (the secret as typed) and the decoded key", async () => {
    const secret = "whsec_dGVzdC1zdGl0Y2gtc2VjcmV0LWJ5dGVz";
    const { verifyCallback } = await withEnv({ VIDEO_WEBHOOK_SECRET: secret });
    const body = '{"task_id":"t","status":"processing"}';
    const asTyped = hexHmac(secret, body); // openssl dgst -sha256 -hmac "$SECRET"
    const decoded = hexHmac(Buffer.from(secret.slice(6), "base64"), body);
    for (const sig of [asTyped, decoded]) {
      expect(
        verifyCallback("video-complete", input(body, { "x-webhook-signature": `sha256=${sig}` })),
      ).toMatchObject({ ok: true, scheme: "hex" });
    }
    const other = hexHmac("whsec_other", body);
    expect(verifyCallback("video-complete", input(body, { "x-webhook-signature": other })).ok).toBe(
      false,
    );
  });

  // GitHub's published example: https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
  const GITHUB_SECRET = "It's a Secret to Everybody";
  const GITHUB_BODY = "Hello, World!";
  const GITHUB_SIGNATURE =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

  it("accepts GitHub's published vector, with and without the sha256= prefix", async () => {
    const { verifyCallback } = await withEnv({ VIDEO_WEBHOOK_SECRET: GITHUB_SECRET });
    const bare = GITHUB_SIGNATURE.slice("sha256=".length);
    expect(hexHmac(GITHUB_SECRET, GITHUB_BODY)).toBe(bare); // the vector itself, independently
    for (const header of [GITHUB_SIGNATURE, bare]) {
      expect(
        verifyCallback("video-complete", input(GITHUB_BODY, { "X-Webhook-Signature": header })),
      ).toEqual({
        ok: true,
        scheme: "hex",
        webhookId: null,
        ref: null,
      });
    }
  });

  it("accepts upper-case hex (and an upper-case prefix)", async () => {
    const { verifyCallback } = await withEnv({ VIDEO_WEBHOOK_SECRET: GITHUB_SECRET });
    const upper = GITHUB_SIGNATURE.slice(7).toUpperCase();
    expect(
      verifyCallback("video-complete", input(GITHUB_BODY, { "x-webhook-signature": upper })).ok,
    ).toBe(true);
    expect(
      verifyCallback(
        "video-complete",
        input(GITHUB_BODY, { "x-webhook-signature": `SHA256=${upper}` }),
      ).ok,
    ).toBe(true);
  });

  it("refuses a wrong secret, a tampered body, odd-length and non-hex signatures, without throwing", async () => {
    const { verifyCallback } = await withEnv({});
    const body = '{"task_id":"t1","status":"completed"}';
    const good = hexHmac("test-video-secret", body);
    expect(verifyCallback("video-complete", input(body, { "X-Webhook-Signature": good })).ok).toBe(
      true,
    );

    const cases: Array<[string, string, string]> = [
      ["wrong secret", body, hexHmac("another-secret", body)],
      ["tampered body", body.replace("t1", "t2"), good],
      ["body with one more byte", `${body} `, good],
      ["odd-length hex", body, good.slice(0, -1)],
      ["non-hex", body, `${good.slice(0, -2)}zz`],
      ["truncated", body, good.slice(0, 32)],
      ["empty", body, ""],
      ["prefix only", body, "sha256="],
    ];
    for (const [label, sentBody, signature] of cases) {
      const result = verifyCallback(
        "video-complete",
        input(sentBody, { "X-Webhook-Signature": signature }),
      );
      expect(result, label).toMatchObject({ ok: false, status: 401 });
      if (!result.ok) expect(result.reason, label).toMatch(/X-Webhook-Signature/);
    }
  });

  it("accepts a list of signatures when one of them is valid", async () => {
    const { verifyCallback } = await withEnv({});
    const body = '{"task_id":"t1"}';
    const header = `sha256=${hexHmac("old", body)}, sha256=${hexHmac("test-video-secret", body)}`;
    expect(
      verifyCallback("video-complete", input(body, { "X-Webhook-Signature": header })).ok,
    ).toBe(true);
  });

  it("signs the exact bytes: a non-UTF-8 body verifies as sent", async () => {
    const { verifyCallback } = await withEnv({});
    const body = new Uint8Array([0x7b, 0xff, 0xfe, 0x00, 0x7d]);
    const signature = hexHmac("test-video-secret", body);
    const result = verifyCallback("video-complete", {
      headers: new Headers({ "X-Webhook-Signature": signature }),
      body,
      url: url(),
    });
    expect(result.ok).toBe(true);
  });
});

describe("Standard Webhooks headers", () => {
  // Published in the Standard Webhooks specification and its libraries' tests.
  const VECTOR = {
    secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
    timestamp: 1614265330,
    body: '{"test": 2432232314}',
    signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
  };
  const vectorHeaders = (signature = VECTOR.signature, timestamp = VECTOR.timestamp) => ({
    "webhook-id": VECTOR.id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signature,
  });

  it("accepts the published vector and reports the webhook id", async () => {
    const { verifyCallback } = await withEnv({ STITCH_WEBHOOK_SECRET: VECTOR.secret });
    const result = verifyCallback(
      "stitch-complete",
      input(VECTOR.body, vectorHeaders(), "", VECTOR.timestamp),
    );
    expect(result).toEqual({ ok: true, scheme: "standard", webhookId: VECTOR.id, ref: null });
    // …and so does the reference library, for the same inputs.
    vi.spyOn(Date, "now").mockReturnValue(VECTOR.timestamp * 1000);
    expect(() => new Webhook(VECTOR.secret).verify(VECTOR.body, vectorHeaders())).not.toThrow();
  });

  it("accepts a space-separated list where one v1 signature is valid, ignoring other versions", async () => {
    const { verifyCallback } = await withEnv({ STITCH_WEBHOOK_SECRET: VECTOR.secret });
    const list = `v1,Zm9vYmFyYmF6 v1a,${VECTOR.signature.slice(3)} ${VECTOR.signature} v2,abc`;
    expect(
      verifyCallback(
        "stitch-complete",
        input(VECTOR.body, vectorHeaders(list), "", VECTOR.timestamp),
      ).ok,
    ).toBe(true);

    // The same header sent twice reaches us joined with ", ".
    const repeated = new Headers(vectorHeaders("v1,Zm9vYmFyYmF6"));
    repeated.append("webhook-signature", VECTOR.signature);
    expect(
      verifyCallback("stitch-complete", {
        headers: repeated,
        body: enc(VECTOR.body),
        url: url(),
        nowSeconds: VECTOR.timestamp,
      }).ok,
    ).toBe(true);

    const otherVersionsOnly = `v1a,${VECTOR.signature.slice(3)} v2,${VECTOR.signature.slice(3)}`;
    const refused = verifyCallback(
      "stitch-complete",
      input(VECTOR.body, vectorHeaders(otherVersionsOnly), "", VECTOR.timestamp),
    );
    expect(refused).toMatchObject({
      ok: false,
      status: 401,
      reason: expect.stringMatching(/no v1 signature/),
    });
  });

  it("refuses timestamps outside ±WEBHOOK_TOLERANCE_SECONDS, in the past and in the future", async () => {
    const { verifyCallback } = await withEnv({ STITCH_WEBHOOK_SECRET: VECTOR.secret });
    const at = (now: number) =>
      verifyCallback("stitch-complete", input(VECTOR.body, vectorHeaders(), "", now));
    expect(at(VECTOR.timestamp + 300).ok).toBe(true);
    expect(at(VECTOR.timestamp - 300).ok).toBe(true);
    expect(at(VECTOR.timestamp + 301)).toMatchObject({
      ok: false,
      status: 401,
      reason: expect.stringMatching(/outside tolerance.*old/),
    });
    expect(at(VECTOR.timestamp - 301)).toMatchObject({
      ok: false,
      status: 401,
      reason: expect.stringMatching(/outside tolerance.*future/),
    });
  });

  it("uses the configured tolerance", async () => {
    const { verifyCallback } = await withEnv({
      STITCH_WEBHOOK_SECRET: VECTOR.secret,
      WEBHOOK_TOLERANCE_SECONDS: "10",
    });
    expect(
      verifyCallback(
        "stitch-complete",
        input(VECTOR.body, vectorHeaders(), "", VECTOR.timestamp + 10),
      ).ok,
    ).toBe(true);
    expect(
      verifyCallback(
        "stitch-complete",
        input(VECTOR.body, vectorHeaders(), "", VECTOR.timestamp + 11),
      ).ok,
    ).toBe(false);
  });

  it("names the missing header, and refuses a tampered body, id or timestamp", async () => {
    const { verifyCallback } = await withEnv({ STITCH_WEBHOOK_SECRET: VECTOR.secret });
    const now = VECTOR.timestamp;
    const { "webhook-timestamp": _t, ...noTimestamp } = vectorHeaders();
    expect(
      verifyCallback("stitch-complete", input(VECTOR.body, noTimestamp, "", now)),
    ).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/missing webhook-timestamp header/),
    });
    const { "webhook-id": _i, ...noId } = vectorHeaders();
    expect(verifyCallback("stitch-complete", input(VECTOR.body, noId, "", now))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/missing webhook-id header/),
    });
    expect(
      verifyCallback(
        "stitch-complete",
        input(VECTOR.body.replace("2", "3"), vectorHeaders(), "", now),
      ).ok,
    ).toBe(false);
    expect(
      verifyCallback(
        "stitch-complete",
        input(VECTOR.body, { ...vectorHeaders(), "webhook-id": "msg_other" }, "", now),
      ).ok,
    ).toBe(false);
    // The timestamp is signed: a shifted one (still within tolerance) fails the signature.
    expect(
      verifyCallback(
        "stitch-complete",
        input(VECTOR.body, vectorHeaders(VECTOR.signature, now + 1), "", now),
      ),
    ).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/no signature matched/),
    });
    expect(
      verifyCallback(
        "stitch-complete",
        input(VECTOR.body, vectorHeaders(VECTOR.signature, Number.NaN), "", now),
      ).ok,
    ).toBe(false);
  });

  it("keys a non-whsec secret by its UTF-8 bytes, matching the reference library in raw mode", async () => {
    const { verifyCallback } = await withEnv({});
    const body = '{"task_id":"t1","status":"completed"}';
    const now = Math.floor(Date.now() / 1000);
    const signature = new Webhook(Buffer.from("test-video-secret", "utf8"), { format: "raw" }).sign(
      "msg_1",
      new Date(now * 1000),
      body,
    );
    const headers = {
      "webhook-id": "msg_1",
      "webhook-timestamp": String(now),
      "webhook-signature": signature,
    };
    expect(verifyCallback("video-complete", input(body, headers))).toMatchObject({
      ok: true,
      scheme: "standard",
      webhookId: "msg_1",
    });
  });

  it("agrees with the reference library on any body and whsec secret (property)", async () => {
    const { verifyCallback } = await withEnv({});
    const now = Math.floor(Date.now() / 1000);
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 32 }),
        fc.string({ maxLength: 200 }),
        async (key, body) => {
          const secret = `whsec_${Buffer.from(key).toString("base64")}`;
          const mod = await withEnv({ STITCH_WEBHOOK_SECRET: secret });
          const signature = new Webhook(secret).sign("msg_prop", new Date(now * 1000), body);
          const headers = {
            "webhook-id": "msg_prop",
            "webhook-timestamp": String(now),
            "webhook-signature": signature,
          };
          expect(mod.verifyCallback("stitch-complete", input(body, headers)).ok).toBe(true);
          expect(mod.verifyCallback("stitch-complete", input(`${body}x`, headers)).ok).toBe(false);
        },
      ),
      { numRuns: 25 },
    );
    expect(verifyCallback).toBeTypeOf("function");
  });
});

describe("signed callback URL (?ref=&sig=)", () => {
  it("accepts a valid sig and returns the ref", async () => {
    const { verifyCallback } = await withEnv({});
    const { signRef } = await import("@/lib/services/signing");
    const sig = signRef("test-video-secret", "job_123");
    expect(verifyCallback("video-complete", input("{}", {}, `?ref=job_123&sig=${sig}`))).toEqual({
      ok: true,
      scheme: "signed-url",
      webhookId: null,
      ref: "job_123",
    });
    expect(
      verifyCallback("video-complete", input("{}", {}, `?ref=job_123&sig=${sig.toUpperCase()}`)).ok,
    ).toBe(true);
  });

  it("refuses a sig of another ref, of another secret, or a malformed one", async () => {
    const { verifyCallback } = await withEnv({});
    const { signRef } = await import("@/lib/services/signing");
    for (const query of [
      `?ref=job_124&sig=${signRef("test-video-secret", "job_123")}`,
      `?ref=job_123&sig=${signRef("other-secret", "job_123")}`,
      "?ref=job_123&sig=abc",
      "?ref=job_123&sig=",
      `?sig=${signRef("test-video-secret", "")}`,
    ]) {
      expect(verifyCallback("video-complete", input("{}", {}, query)), query).toMatchObject({
        ok: false,
        status: 401,
      });
    }
  });

  it("never trusts a ref without a valid sig, even when the body signature verifies", async () => {
    const { verifyCallback } = await withEnv({});
    const body = '{"task_id":"t1"}';
    const signed = { "X-Webhook-Signature": hexHmac("test-video-secret", body) };

    expect(verifyCallback("video-complete", input(body, {}, "?ref=job_123"))).toMatchObject({
      ok: false,
      status: 401,
      reason: expect.stringMatching(/ref without sig/),
    });
    expect(verifyCallback("video-complete", input(body, signed, "?ref=job_123"))).toEqual({
      ok: true,
      scheme: "hex",
      webhookId: null,
      ref: null,
    });
    expect(
      verifyCallback("video-complete", input(body, signed, "?ref=job_123&sig=00ff")),
    ).toMatchObject({ ok: true, ref: null });
  });

  it("returns the ref alongside a body signature when both verify", async () => {
    const { verifyCallback } = await withEnv({});
    const { signRef } = await import("@/lib/services/signing");
    const body = '{"task_id":"t1"}';
    const result = verifyCallback(
      "video-complete",
      input(
        body,
        { "X-Webhook-Signature": hexHmac("test-video-secret", body), "webhook-id": "msg_9" },
        `?ref=job_9&sig=${signRef("test-video-secret", "job_9")}`,
      ),
    );
    expect(result).toEqual({ ok: true, scheme: "hex", webhookId: "msg_9", ref: "job_9" });
  });
});

describe("secret rotation", () => {
  it("accepts the second of two secrets in every scheme", async () => {
    const { verifyCallback } = await withEnv({ VIDEO_WEBHOOK_SECRET: "old-secret, new-secret" });
    const { signRef } = await import("@/lib/services/signing");
    const body = '{"task_id":"t1"}';
    const now = Math.floor(Date.now() / 1000);
    const standard = new Webhook(Buffer.from("new-secret"), { format: "raw" }).sign(
      "msg_r",
      new Date(now * 1000),
      body,
    );

    expect(
      verifyCallback(
        "video-complete",
        input(body, { "X-Webhook-Signature": hexHmac("new-secret", body) }),
      ),
    ).toMatchObject({ ok: true, scheme: "hex" });
    expect(
      verifyCallback(
        "video-complete",
        input(body, {
          "webhook-id": "msg_r",
          "webhook-timestamp": String(now),
          "webhook-signature": standard,
        }),
      ),
    ).toMatchObject({ ok: true, scheme: "standard" });
    expect(
      verifyCallback(
        "video-complete",
        input(body, {}, `?ref=j1&sig=${signRef("new-secret", "j1")}`),
      ),
    ).toMatchObject({
      ok: true,
      scheme: "signed-url",
      ref: "j1",
    });
    expect(
      verifyCallback(
        "video-complete",
        input(body, { "X-Webhook-Signature": hexHmac("retired", body) }),
      ).ok,
    ).toBe(false);
  });
});

describe("missing signature and missing secret", () => {
  it("refuses an unsigned callback, saying nothing was signed", async () => {
    const { verifyCallback } = await withEnv({});
    expect(verifyCallback("last-frame-complete", input("{}"))).toMatchObject({
      ok: false,
      status: 401,
      reason: expect.stringMatching(/no signature/),
    });
  });

  it("in production, refuses every callback with 503 naming the variable, logged once per interval", async () => {
    const errors = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const { verifyCallback } = await withEnv({
      NODE_ENV: "production",
      VIDEO_WEBHOOK_SECRET: undefined,
      LOG_LEVEL: "info",
    });
    const body = '{"task_id":"t1"}';
    const signedWithAnything = input(body, { "X-Webhook-Signature": hexHmac("", body) });
    expect(verifyCallback("video-complete", signedWithAnything)).toEqual({
      ok: false,
      status: 503,
      reason: "VIDEO_WEBHOOK_SECRET is not configured",
    });
    expect(verifyCallback("video-complete", input(body))).toMatchObject({ ok: false, status: 503 });
    const logged = errors.mock.calls
      .map((args) => String(args[0]))
      .filter((line) => line.includes("webhook.secret_missing"));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain("VIDEO_WEBHOOK_SECRET");
    // Other stages keep their secrets and still verify.
    expect(
      verifyCallback(
        "last-frame-complete",
        input(body, { "X-Webhook-Signature": hexHmac("test-last-frame-secret", body) }),
      ).ok,
    ).toBe(true);
  });

  it("treats a list of only commas as no secret", async () => {
    const { verifyCallback } = await withEnv({
      NODE_ENV: "production",
      VIDEO_WEBHOOK_SECRET: " , ",
      LOG_LEVEL: "silent",
    });
    expect(verifyCallback("video-complete", input("{}"))).toMatchObject({ ok: false, status: 503 });
  });

  it("without a secret and without ALLOW_UNSIGNED_CALLBACKS, refuses callbacks whatever NODE_ENV says", async () => {
    for (const NODE_ENV of [undefined, "development", "test"]) {
      const { verifyCallback } = await withEnv({
        NODE_ENV,
        VIDEO_WEBHOOK_SECRET: undefined,
        LOG_LEVEL: "silent",
      });
      expect(verifyCallback("video-complete", input("{}"))).toMatchObject({
        ok: false,
        status: 503,
        reason: "VIDEO_WEBHOOK_SECRET is not configured",
      });
    }
  });

  it("with ALLOW_UNSIGNED_CALLBACKS outside production, accepts unsigned callbacks with one warning per stage", async () => {
    const warnings = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const { verifyCallback } = await withEnv({
      NODE_ENV: "development",
      ALLOW_UNSIGNED_CALLBACKS: "true",
      VIDEO_WEBHOOK_SECRET: undefined,
      LOG_LEVEL: "info",
    });
    const first = verifyCallback(
      "video-complete",
      input("{}", { "webhook-id": "msg_dev" }, "?ref=job_1"),
    );
    expect(first).toEqual({ ok: true, scheme: "unsigned-dev", webhookId: "msg_dev", ref: null });
    expect(verifyCallback("video-complete", input("{}")).ok).toBe(true);
    const warned = warnings.mock.calls.filter((args) =>
      String(args[0]).includes("webhook.unsigned_accepted"),
    );
    expect(warned).toHaveLength(1);
  });
});

describe("robustness", () => {
  it("never throws and never accepts arbitrary headers and queries (property)", async () => {
    const { verifyCallback } = await withEnv({});
    const headerValue = fc.string({ maxLength: 120 }).map((s) => s.replace(/[\r\n\0]/g, ""));
    await fc.assert(
      fc.property(
        fc.record(
          {
            "x-webhook-signature": headerValue,
            "webhook-id": headerValue,
            "webhook-timestamp": fc.oneof(headerValue, fc.integer().map(String)),
            "webhook-signature": fc.oneof(
              headerValue,
              fc.base64String().map((b) => `v1,${b}`),
            ),
          },
          { requiredKeys: [] },
        ),
        fc.string({ maxLength: 50 }),
        fc.string({ maxLength: 50 }),
        (headers, ref, sig) => {
          const query = `?ref=${encodeURIComponent(ref)}&sig=${encodeURIComponent(sig)}`;
          const result = verifyCallback("video-complete", input("{}", headers, query));
          expect(result.ok).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});

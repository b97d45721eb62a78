import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { parseEnv } from "@/lib/env";
import { newEndpointSecret, signedHeaders } from "@/lib/subscriptions/signing";

describe("outgoing webhook signing", () => {
  it("matches the Standard Webhooks reference vector", () => {
    // The example of the Standard Webhooks specification (and its libraries' tests).
    const headers = signedHeaders(
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      '{"test": 2432232314}',
      ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
      new Date(1614265330 * 1000),
    );
    expect(headers).toEqual({
      "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
      "webhook-timestamp": "1614265330",
      "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    });
  });

  it("signs with every secret given, each verifying on its own", () => {
    const current = newEndpointSecret();
    const previous = newEndpointSecret();
    expect(current).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const body = JSON.stringify({ type: "test.ping", data: { sequence: 0 } });
    const headers = signedHeaders("evt_1", body, [current, previous]);
    expect(headers["webhook-signature"].split(" ")).toHaveLength(2);
    for (const secret of [current, previous])
      expect(new Webhook(secret).verify(body, headers)).toMatchObject({ type: "test.ping" });
    expect(() => new Webhook(newEndpointSecret()).verify(body, headers)).toThrow();
  });
});

describe("subscription settings", () => {
  it("parses the retry schedule, with the contract's default", () => {
    expect(parseEnv({}).SUBSCRIPTION_RETRY_SCHEDULE).toEqual([
      5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 10_800_000, 21_600_000,
    ]);
    expect(
      parseEnv({ SUBSCRIPTION_RETRY_SCHEDULE: "250ms, 5s,2m,1h,1d" }).SUBSCRIPTION_RETRY_SCHEDULE,
    ).toEqual([250, 5_000, 120_000, 3_600_000, 86_400_000]);
    for (const bad of ["5", "5x", "5s,,30s", "-5s"])
      expect(() => parseEnv({ SUBSCRIPTION_RETRY_SCHEDULE: bad }), bad).toThrow(
        /SUBSCRIPTION_RETRY_SCHEDULE/,
      );
    expect(parseEnv({}).SUBSCRIPTION_DISABLE_AFTER_HOURS).toBe(72);
    expect(parseEnv({}).WEBHOOK_ALLOW_PRIVATE_TARGETS).toBe(false);
    expect(parseEnv({ WEBHOOK_ALLOW_PRIVATE_TARGETS: "true" }).WEBHOOK_ALLOW_PRIVATE_TARGETS).toBe(
      true,
    );
  });
});

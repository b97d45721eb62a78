import { describe, expect, it } from "vitest";
import { parseEnv } from "@/lib/env";

/** A malformed setting stops the process at start with a message naming it. */
describe("parseEnv", () => {
  it("gives the documented defaults", () => {
    const env = parseEnv({});
    expect(env).toMatchObject({
      NODE_ENV: "development",
      PGLITE_DATA_DIR: ".data/pglite",
      WEBHOOK_TOLERANCE_SECONDS: 300,
      WEBHOOK_MAX_BODY_BYTES: 1_048_576,
      SERVICE_TIMEOUT_MS: 10_000,
      STAGE_TIMEOUT_SECONDS: 1800,
      MAX_STAGE_ATTEMPTS: 3,
    });
    expect(env.RATE_LIMIT_VIDEO).toEqual({ limit: 100, windowMs: 60_000, spec: "100/1m" });
    expect(env.RATE_LIMIT_STITCH.limit).toBe(50);
    expect(env.VIDEO_WEBHOOK_SECRET).toBeUndefined();
  });

  it("splits comma-separated secrets for rotation and treats empty values as unset", () => {
    const env = parseEnv({
      VIDEO_WEBHOOK_SECRET: " old , new ,",
      STITCH_WEBHOOK_SECRET: "",
      DATABASE_URL: "",
    });
    expect(env.VIDEO_WEBHOOK_SECRET).toEqual(["old", "new"]);
    expect(env.STITCH_WEBHOOK_SECRET).toBeUndefined();
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it.each<[string, Record<string, string>, RegExp]>([
    [
      "a wrong DATABASE_URL",
      { DATABASE_URL: "mysql://x" },
      /DATABASE_URL: must start with postgres/,
    ],
    [
      "a malformed rate limit",
      { RATE_LIMIT_VIDEO: "lots" },
      /RATE_LIMIT_VIDEO: must look like "100\/1m"/,
    ],
    ["a non-numeric timeout", { SERVICE_TIMEOUT_MS: "soon" }, /SERVICE_TIMEOUT_MS/],
    [
      "a service URL that is not http(s)",
      { STITCH_SERVICE_URL: "ftp://x" },
      /STITCH_SERVICE_URL: must be an http\(s\) URL/,
    ],
    ["an unknown NODE_ENV", { NODE_ENV: "staging" }, /NODE_ENV/],
  ])("refuses %s with a message naming the variable", (_name, source, message) => {
    expect(() => parseEnv(source)).toThrow(message);
  });

  it("reports every bad variable at once", () => {
    expect(() => parseEnv({ DATABASE_URL: "x", PORT: "99999" })).toThrow(
      /DATABASE_URL[\s\S]*PORT|PORT[\s\S]*DATABASE_URL/,
    );
  });

  it("parses rate limits in every unit", () => {
    expect(parseEnv({ RATE_LIMIT_VIDEO: "20/30s" }).RATE_LIMIT_VIDEO).toMatchObject({
      limit: 20,
      windowMs: 30_000,
    });
    expect(parseEnv({ RATE_LIMIT_VIDEO: "1000/h" }).RATE_LIMIT_VIDEO).toMatchObject({
      limit: 1000,
      windowMs: 3_600_000,
    });
  });
});

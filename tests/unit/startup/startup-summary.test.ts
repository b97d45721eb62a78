import { describe, expect, it } from "vitest";
import { parseEnv } from "@/lib/env";
import { describeStartup, problemsMessage, startupProblems } from "@/lib/startup-summary";

const SECRETS = {
  VIDEO_WEBHOOK_SECRET: "v-secret",
  LAST_FRAME_WEBHOOK_SECRET: "l-secret",
  STITCH_WEBHOOK_SECRET: "s-secret",
};
const TOKEN = "0123456789abcdef0123";

describe("start-up summary", () => {
  it("describes a fresh checkout under `npm run dev`: PGlite, memory, simulator, no secrets, open, unsigned accepted", () => {
    // `npm run dev` sets ALLOW_UNSIGNED_CALLBACKS=true (package.json).
    const summary = describeStartup(
      parseEnv({ NODE_ENV: "development", ALLOW_UNSIGNED_CALLBACKS: "true" }),
    );
    expect(summary).toMatchObject({
      environment: "development",
      database: "pglite",
      rate_limit: "memory",
      services: { video: "simulator", last_frame: "simulator", stitch: "simulator" },
      notifications: "simulator",
      secrets_set: [],
      admin_auth: "off",
      unsigned_callbacks_accepted: ["video-complete", "last-frame-complete", "stitch-complete"],
      callbacks_refused: [],
      warnings: [],
    });
  });

  it("without ALLOW_UNSIGNED_CALLBACKS, an endpoint with no secret refuses callbacks whatever NODE_ENV says", () => {
    for (const NODE_ENV of [undefined, "development", "test"]) {
      const summary = describeStartup(parseEnv({ NODE_ENV }));
      expect(summary.unsigned_callbacks_accepted).toEqual([]);
      expect(summary.callbacks_refused).toEqual([
        "video-complete",
        "last-frame-complete",
        "stitch-complete",
      ]);
    }
    // …and production ignores the flag.
    const production = describeStartup(
      parseEnv({ NODE_ENV: "production", ALLOW_UNSIGNED_CALLBACKS: "true", ...SECRETS }),
    );
    expect(production.unsigned_callbacks_accepted).toEqual([]);
  });

  it("describes production with real services and a missing secret: that endpoint is refused", () => {
    const summary = describeStartup(
      parseEnv({
        NODE_ENV: "production",
        DATABASE_URL: "postgres://u:p@db:5432/app",
        REDIS_URL: "redis://cache:6379",
        ADMIN_TOKEN: TOKEN,
        VIDEO_WEBHOOK_SECRET: "a",
        LAST_FRAME_WEBHOOK_SECRET: "b",
        VIDEO_GENERATION_SERVICE: "https://video.example.com",
        LAST_FRAME_SERVICE_URL: "https://frames.example.com",
        STITCH_SERVICE_URL: "https://stitch.example.com",
      }),
    );
    expect(summary).toMatchObject({
      database: "postgres",
      rate_limit: "redis",
      services: { video: "external", last_frame: "external", stitch: "external" },
      notifications: "none",
      secrets_missing: ["STITCH_WEBHOOK_SECRET"],
      admin_auth: "on",
      unsigned_callbacks_accepted: [],
      callbacks_refused: ["stitch-complete"],
    });
    expect(summary.warnings.join(" ")).toContain("STITCH_WEBHOOK_SECRET");
    // Names and on/off only: no value of any setting.
    expect(JSON.stringify(summary)).not.toMatch(/u:p|db:5432|cache|0123456789/);
  });

  it("refuses the production demo without secrets or ADMIN_TOKEN, naming each", () => {
    const problems = startupProblems(
      parseEnv({ NODE_ENV: "production", SIMULATOR_ENABLED: "true" }),
    );
    const message = problemsMessage(problems);
    for (const name of [...Object.keys(SECRETS), "ADMIN_TOKEN"]) expect(message).toContain(name);
  });

  it("accepts the production demo once they are set, and anything that is not a demo", () => {
    expect(
      startupProblems(
        parseEnv({
          NODE_ENV: "production",
          SIMULATOR_ENABLED: "yes",
          ADMIN_TOKEN: TOKEN,
          ...SECRETS,
        }),
      ),
    ).toEqual([]);
    expect(startupProblems(parseEnv({ NODE_ENV: "development" }))).toEqual([]);
    expect(startupProblems(parseEnv({ NODE_ENV: "production" }))).toEqual([]);
  });

  it("reads SIMULATOR_ENABLED explicitly: yes/no/on/off/1/0 accepted, anything else refused", () => {
    expect(parseEnv({ SIMULATOR_ENABLED: "yes" }).SIMULATOR_ENABLED).toBe(true);
    expect(parseEnv({ SIMULATOR_ENABLED: "Off" }).SIMULATOR_ENABLED).toBe(false);
    expect(parseEnv({ SIMULATOR_ENABLED: "0" }).SIMULATOR_ENABLED).toBe(false);
    expect(() => parseEnv({ SIMULATOR_ENABLED: "maybe" })).toThrow(
      /SIMULATOR_ENABLED: must be true or false/,
    );
  });
});

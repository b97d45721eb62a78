import { describe, expect, it } from "vitest";
import {
  createSessionValue,
  isValidSession,
  SESSION_MAX_AGE_SECONDS,
  safeNextPath,
  tokenMatches,
} from "@/lib/auth/session";

const TOKEN = "admin-token-for-unit-tests";

describe("admin session cookie", () => {
  it("holds an expiry and an HMAC, never the token", () => {
    const value = createSessionValue(TOKEN, Date.UTC(2030, 0, 1));
    expect(value).toMatch(/^v1\.\d+\.[0-9a-f]{64}$/);
    expect(value).not.toContain(TOKEN);
  });

  it("is valid until it expires, for that token only", () => {
    const now = Date.UTC(2030, 0, 1);
    const value = createSessionValue(TOKEN, now);
    expect(isValidSession(value, TOKEN, now)).toBe(true);
    expect(isValidSession(value, TOKEN, now + (SESSION_MAX_AGE_SECONDS - 1) * 1000)).toBe(true);
    expect(isValidSession(value, TOKEN, now + SESSION_MAX_AGE_SECONDS * 1000)).toBe(false);
    expect(isValidSession(value, `${TOKEN}-rotated`, now)).toBe(false);
  });

  it("rejects tampering: a pushed-out expiry, a changed MAC, garbage", () => {
    const now = Date.UTC(2030, 0, 1);
    const [version, expiry, mac] = createSessionValue(TOKEN, now).split(".");
    expect(isValidSession(`${version}.${Number(expiry) + 86_400}.${mac}`, TOKEN, now)).toBe(false);
    expect(
      isValidSession(
        `${version}.${expiry}.${mac!.replace(/^./, (c) => (c === "0" ? "1" : "0"))}`,
        TOKEN,
        now,
      ),
    ).toBe(false);
    for (const junk of [
      undefined,
      "",
      TOKEN,
      "v1..",
      `v2.${expiry}.${mac}`,
      `v1.${expiry}.${mac}00`,
    ]) {
      expect(isValidSession(junk, TOKEN, now), String(junk)).toBe(false);
    }
  });

  it("compares tokens exactly, whatever their length", () => {
    expect(tokenMatches(TOKEN, TOKEN)).toBe(true);
    expect(tokenMatches(`${TOKEN} `, TOKEN)).toBe(false);
    expect(tokenMatches("", TOKEN)).toBe(false);
    expect(tokenMatches(TOKEN.slice(0, -1), TOKEN)).toBe(false);
  });
});

describe("safeNextPath", () => {
  it("keeps local paths and refuses anything that leaves the site", () => {
    expect(safeNextPath("/errors?type=service")).toBe("/errors?type=service");
    expect(safeNextPath("/projects/p1")).toBe("/projects/p1");
    for (const bad of [
      "https://evil.example",
      "//evil.example",
      "/\\evil.example",
      "evil",
      "",
      null,
      42,
      "/sign-in",
      "/a\r\nb",
    ]) {
      expect(safeNextPath(bad), String(bad)).toBe("/projects");
    }
  });
});

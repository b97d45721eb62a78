import { afterAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, loadProxy, passedThrough, proxyRequest, restoreSettings } from "./helpers";

/**
 * Issue 11 item 9: the CSRF check compared the Origin's host only (an https Origin was
 * accepted by an http app) and believed the client's Host / X-Forwarded-Host. Now the
 * whole origin — scheme, host and port — must equal APP_URL's when it is set; otherwise
 * only what a browser sets and a page cannot forge counts (Sec-Fetch-Site), or the local
 * origin. Item 7's part: a server action (the sign-in form) posted from another site is a
 * 403 from the proxy, not Next's 500.
 */

afterAll(restoreSettings);

async function signedInWrite(settings: Record<string, string | undefined>) {
  const proxy = await loadProxy({ ADMIN_TOKEN, ...settings });
  const { createSessionValue, SESSION_COOKIE } = await import("@/lib/auth/session");
  const cookie = `${SESSION_COOKIE}=${createSessionValue(ADMIN_TOKEN)}`;
  return (headers: Record<string, string>, path = "/api/v1/projects") =>
    proxy(proxyRequest(path, { method: "POST", headers: { cookie, ...headers } }));
}

describe("with APP_URL set", () => {
  const APP_URL = "https://framechain.example.com";

  it("accepts exactly its origin, and nothing that merely shares its host", async () => {
    const post = await signedInWrite({ APP_URL });
    expect(passedThrough(await post({ origin: APP_URL }))).toBe(true);
    expect(passedThrough(await post({ origin: "https://FRAMECHAIN.example.com:443" }))).toBe(true);
    for (const origin of [
      "http://framechain.example.com", // other scheme
      "https://framechain.example.com:8443", // other port
      "https://framechain.example.com.evil.example",
      "https://evil.example",
      "null",
      "not a url",
    ]) {
      expect((await post({ origin })).status, origin).toBe(403);
    }
  });

  it("never takes Host or X-Forwarded-Host as our origin", async () => {
    const post = await signedInWrite({ APP_URL });
    const forged: Record<string, string>[] = [
      { origin: "https://evil.example", host: "evil.example" },
      { origin: "https://evil.example", "x-forwarded-host": "evil.example" },
      {
        origin: "https://evil.example",
        "x-forwarded-host": "evil.example",
        "x-forwarded-proto": "https",
      },
    ];
    for (const headers of forged) {
      expect((await post(headers)).status, JSON.stringify(headers)).toBe(403);
    }
  });

  it("an Origin that disagrees is refused even when Sec-Fetch-Site claims same-origin", async () => {
    const post = await signedInWrite({ APP_URL });
    expect(
      (await post({ origin: "https://evil.example", "sec-fetch-site": "same-origin" })).status,
    ).toBe(403);
    // No Origin at all: the browser's Sec-Fetch-Site decides.
    expect(passedThrough(await post({ "sec-fetch-site": "same-origin" }))).toBe(true);
    expect((await post({ "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect((await post({})).status).toBe(403);
  });
});

describe("without APP_URL", () => {
  const unset = { APP_URL: undefined, NEXT_PUBLIC_APP_URL: undefined, PORT: "3000" };

  it("an https Origin is not an http app's, whatever Host says", async () => {
    const post = await signedInWrite(unset);
    const forged: Record<string, string>[] = [
      { origin: "https://localhost:3000" },
      { origin: "https://app.example", host: "app.example" },
      { origin: "http://app.example", "x-forwarded-host": "app.example" },
      { origin: "http://localhost:3001" },
    ];
    for (const headers of forged) {
      expect((await post(headers)).status, JSON.stringify(headers)).toBe(403);
    }
  });

  it("a browser's same-origin request, or the local origin, is accepted", async () => {
    const post = await signedInWrite(unset);
    expect(passedThrough(await post({ "sec-fetch-site": "same-origin" }))).toBe(true);
    expect(passedThrough(await post({ origin: "http://localhost:3000" }))).toBe(true);
  });
});

describe("server actions from another site (item 7)", () => {
  it("the sign-in form posted with a foreign Origin is a 403, before Next's own check", async () => {
    const proxy = await loadProxy({ ADMIN_TOKEN });
    const post = (origin: string, path = "/sign-in") =>
      proxy(
        proxyRequest(path, {
          method: "POST",
          headers: {
            origin,
            "next-action": "7f00",
            "content-type": "multipart/form-data; boundary=x",
          },
          body: '--x\r\nContent-Disposition: form-data; name="token"\r\n\r\nguess\r\n--x--\r\n',
        }),
      );
    const refused = await post("https://evil.example");
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ error: "Cross-site request refused" });
    expect((await post("https://evil.example", "/projects")).status).toBe(403);
    expect(passedThrough(await post("http://127.0.0.1:3999"))).toBe(true);
  });

  it("in development without ADMIN_TOKEN too", async () => {
    const proxy = await loadProxy({ ADMIN_TOKEN: undefined, NODE_ENV: "development" });
    const response = await proxy(
      proxyRequest("/errors", { method: "POST", headers: { origin: "https://evil.example" } }),
    );
    expect(response.status).toBe(403);
  });
});

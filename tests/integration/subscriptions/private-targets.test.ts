import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadEndpointApi, type Receiver, startReceiver, waitFor } from "./helpers";

/**
 * The SSRF guard in production (CONTRACT §6): endpoints on loopback, private, link-local or
 * metadata addresses are refused at registration, and — since DNS can change after that —
 * at send time, where the receiver on loopback must get nothing.
 */

// Before anything imports lib/env: this file runs as production, private targets not allowed.
(process.env as Record<string, string>).NODE_ENV = "production";
delete process.env.WEBHOOK_ALLOW_PRIVATE_TARGETS;

let receiver: Receiver;
let api: Awaited<ReturnType<typeof loadEndpointApi>>;
let loop: { stop(): Promise<void> };

beforeAll(async () => {
  receiver = await startReceiver();
  api = await loadEndpointApi();
  const { startDeliveries } = await import("@/lib/jobs/deliveries");
  loop = await startDeliveries({ sweepIntervalMs: 0 });
});
afterAll(async () => {
  await loop?.stop();
  await receiver?.close();
});

describe("private targets in production", () => {
  it("classifies addresses", async () => {
    const { isPrivateAddress } = await import("@/lib/subscriptions/targets");
    for (const address of [
      "127.0.0.1",
      "127.8.9.10",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "169.254.169.254",
      "100.100.100.200",
      "0.0.0.0",
      "::1",
      "::",
      "::ffff:127.0.0.1",
      "::ffff:10.0.0.1",
      "fe80::1",
      "fd00:ec2::254",
      "fc00::1",
      "not an address",
    ])
      expect(isPrivateAddress(address), address).toBe(true);
    for (const address of [
      "93.184.215.14",
      "8.8.8.8",
      "172.32.0.1",
      "2606:4700::1111",
      "::ffff:1.1.1.1",
    ])
      expect(isPrivateAddress(address), address).toBe(false);
  });

  it("refuses them at registration (400 naming the address)", async () => {
    for (const url of [
      `${receiver.base}/hook`,
      "http://localhost:8080/hook",
      "http://169.254.169.254/latest/meta-data/",
      "http://10.0.0.5/hook",
      "http://[::1]:3000/hook",
      "http://[::ffff:127.0.0.1]/hook",
      "http://0.0.0.0/hook",
    ]) {
      const response = await api.create({ url });
      expect(response.status, url).toBe(400);
      const body = (await response.json()) as { issues: { path: string; message: string }[] };
      expect(body.issues[0]?.path).toBe("url");
      expect(body.issues[0]?.message).toMatch(/loopback, private or link-local/);
    }
    // A public literal address needs no lookup and is accepted.
    const ok = await api.create({ url: "https://93.184.215.14/hook" });
    expect(ok.status).toBe(201);
    const { id } = (await ok.json()) as { id: string };
    expect((await api.patch(id, { url: "http://127.0.0.1/hook" })).status).toBe(400);
  });

  it("refuses them at send time: the loopback receiver gets nothing, the delivery fails saying why", async () => {
    const { getDb } = await import("@/lib/db/client");
    const { webhookEndpoints, webhookDeliveries } = await import("@/lib/db/schema");
    const db = await getDb();
    // As if DNS had pointed elsewhere at registration: the rows are written directly.
    const targets = {
      ep_literal: `${receiver.base}/literal`,
      ep_named: `http://localhost:${new URL(receiver.base).port}/named`,
    };
    for (const [id, url] of Object.entries(targets))
      await db
        .insert(webhookEndpoints)
        .values({ id, url, secret: "whsec_dGVzdC1zZWNyZXQtYnl0ZXMtMTIzNDU2" });
    for (const id of Object.keys(targets)) expect((await api.test(id)).status).toBe(202);

    const pendingCount = async () => {
      const [row] = await db
        .select({ n: sql<number>`count(*)`.mapWith(Number) })
        .from(webhookDeliveries)
        .where(sql`${webhookDeliveries.status} in ('queued', 'running')`);
      return row?.n ?? 0;
    };
    await waitFor("both deliveries settled", async () => (await pendingCount()) === 0);
    expect(receiver.received).toHaveLength(0);
    for (const id of Object.keys(targets)) {
      const [delivery] = await db
        .select()
        .from(webhookDeliveries)
        .where(eq(webhookDeliveries.endpointId, id));
      // Final at once: the schedule is not spent knocking on a refused door.
      expect(delivery).toMatchObject({ status: "failed", attempt: 1, responseStatus: null });
      expect(delivery?.error).toMatch(/^refused: .*loopback, private or link-local/);
    }
  });
});

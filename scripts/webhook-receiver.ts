/**
 * `npm run webhook-receiver -- [--port 4000] [--secret whsec_…]` – a tiny local receiver for
 * Framechain's outgoing webhooks, the way a user checks their setup: it verifies each request's
 * Standard Webhooks signature with the `standardwebhooks` library (WEBHOOK_SECRET or --secret;
 * several comma-separated during a rotation), prints the event, and answers 204 — or 401 when
 * the signature does not verify. Register it with WEBHOOK_ALLOW_PRIVATE_TARGETS=true in
 * production, or in development as is:
 *
 *   curl -X POST localhost:3000/api/v1/webhook-endpoints -H 'content-type: application/json' \
 *     -d '{"url":"http://127.0.0.1:4000/hooks"}'
 */
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { Webhook, WebhookVerificationError } from "standardwebhooks";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: process.env.PORT_RECEIVER ?? "4000" },
    secret: { type: "string", default: process.env.WEBHOOK_SECRET ?? "" },
    host: { type: "string", default: "127.0.0.1" },
  },
});
const secrets = values.secret
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
const verifiers = secrets.map((s) => new Webhook(s));

const server = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString("utf8");
  const headers = {
    "webhook-id": String(req.headers["webhook-id"] ?? ""),
    "webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""),
    "webhook-signature": String(req.headers["webhook-signature"] ?? ""),
  };
  let verdict = "not verified (no secret given)";
  if (verifiers.length) {
    const ok = verifiers.some((wh) => {
      try {
        wh.verify(body, headers);
        return true;
      } catch (error) {
        if (error instanceof WebhookVerificationError) return false;
        throw error;
      }
    });
    if (!ok) {
      console.log(`✗ ${headers["webhook-id"] || "(no webhook-id)"}: signature does NOT verify`);
      res.writeHead(401).end();
      return;
    }
    verdict = "signature verified";
  }
  let event: { type?: string; timestamp?: string; data?: Record<string, unknown> } = {};
  try {
    event = JSON.parse(body);
  } catch {}
  const data = event.data ?? {};
  console.log(
    `✓ ${event.type ?? "?"} #${data.sequence ?? "-"} ${data.project_id ?? ""} ${data.status ?? ""} (${headers["webhook-id"]}, ${verdict})`,
  );
  console.log(`  ${body}`);
  res.writeHead(204).end();
});

server.listen(Number(values.port), values.host, () => {
  console.log(
    `Webhook receiver on http://${values.host}:${values.port}/ — ${
      verifiers.length
        ? `verifying with ${verifiers.length} secret(s)`
        : "NOT verifying: pass --secret whsec_… or set WEBHOOK_SECRET"
    }`,
  );
});

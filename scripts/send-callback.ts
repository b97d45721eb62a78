/**
 * `npm run callback -- <stage> <file.json> [--scheme hex|sha256|standard] [--url URL] [--ref JOB_ID]`
 * – signs a payload file's exact bytes as the service would, POSTs it to
 * /api/webhooks/<stage>, prints the answer, and exits non-zero unless it is 2xx.
 * The secret is the first of the stage's variable (from the environment, .env.local or .env);
 * without one the callback is sent unsigned, which a development server without a secret accepts.
 * Example payloads of every shape: contracts/*.json.
 */
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const USAGE =
  "usage: npm run callback -- <video-complete|last-frame-complete|stitch-complete> <file.json> " +
  "[--scheme hex|sha256|standard] [--url http://localhost:3000] [--ref <job id>]";
const SCHEMES = ["hex", "sha256", "standard"] as const;
type Scheme = (typeof SCHEMES)[number];

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

async function main() {
  // Like `next dev`, read secrets from .env.local / .env (variables already set win).
  for (const file of [".env.local", ".env"]) if (existsSync(file)) process.loadEnvFile(file);
  // Imported after the files above are loaded: lib/env parses process.env once, on import.
  const { STAGES } = await import("@/lib/webhooks/stages");
  const { hmacSha256, signRef } = await import("@/lib/services/signing");
  const { appUrl } = await import("@/lib/services/app-url");

  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      scheme: { type: "string", default: "hex" },
      url: { type: "string" },
      ref: { type: "string" },
    },
  });
  const [stageArg, file] = positionals;
  if (!stageArg || !file || positionals.length > 2) fail(USAGE);
  const stage = Object.keys(STAGES).find((s) => s === stageArg || s === `${stageArg}-complete`) as
    | keyof typeof STAGES
    | undefined;
  if (!stage) fail(`unknown stage "${stageArg}"\n${USAGE}`);
  const scheme = values.scheme as Scheme;
  if (!SCHEMES.includes(scheme)) fail(`unknown --scheme "${values.scheme}"\n${USAGE}`);

  const secret = STAGES[stage].secrets()?.[0];
  if (!secret && values.ref)
    fail(`--ref needs ${STAGES[stage].secretName} to sign the callback URL`);
  if (!existsSync(file)) fail(`no such file: ${file}`);
  const body = readFileSync(file); // the exact bytes: signed and sent as they are

  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (!secret) {
    // A server without this secret in development accepts unsigned callbacks; in production it refuses them (503).
    console.warn(
      `${STAGES[stage].secretName} is not set: sending unsigned (accepted only by a development server that has no secret for ${stage} either)`,
    );
  } else if (scheme === "standard") {
    const id = `msg_${randomUUID().replaceAll("-", "")}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = hmacSha256(secret, Buffer.concat([Buffer.from(`${id}.${timestamp}.`), body]));
    headers["webhook-id"] = id;
    headers["webhook-timestamp"] = String(timestamp);
    headers["webhook-signature"] = `v1,${signature.toString("base64")}`;
  } else {
    const hex = hmacSha256(secret, body).toString("hex");
    headers["X-Webhook-Signature"] = scheme === "sha256" ? `sha256=${hex}` : hex;
  }

  const target = new URL(`${(values.url ?? appUrl()).replace(/\/+$/, "")}/api/webhooks/${stage}`);
  if (values.ref && secret) {
    target.searchParams.set("ref", values.ref);
    target.searchParams.set("sig", signRef(secret, values.ref));
  }

  console.log(
    `POST ${target} (${secret ? scheme : "unsigned"}, ${body.length} bytes from ${file})`,
  );
  let response: Response;
  try {
    response = await fetch(target, { method: "POST", headers, body });
  } catch (error) {
    fail(`could not reach ${target.origin}: ${(error as Error).cause ?? (error as Error).message}`);
  }
  const text = await response.text();
  console.log(`${response.status} ${response.statusText}`);
  try {
    console.log(JSON.stringify(JSON.parse(text), null, 2));
  } catch {
    if (text) console.log(text);
  }
  process.exit(response.ok ? 0 : 1);
}

void main();

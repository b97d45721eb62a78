import { createHmac } from "node:crypto";
import { env } from "@/lib/env";

const LABEL = "framechain-simulator-service-key:v1";

/**
 * The key this app's outbound client presents to its own simulator when ADMIN_TOKEN is
 * set (the simulator then requires it, lib/simulator/access.ts): an HMAC of the token, so
 * the token itself never travels and the key opens nothing but the simulator. Null when
 * no ADMIN_TOKEN is set (an open simulator asks for nothing).
 */
export function simulatorServiceKey(): string | null {
  if (!env.ADMIN_TOKEN) return null;
  return createHmac("sha256", env.ADMIN_TOKEN).update(LABEL).digest("hex");
}

import {
  type AdminAuthDecision,
  adminAuthGate,
  recordWrongAdminToken,
  tooManyAuthAttempts,
} from "@/lib/ratelimit/admin-auth";
import { tokenMatches } from "./session";

export type TokenVerdict =
  | { ok: true }
  /** `throttled`: the 429 to answer; null: just a wrong token (401). */
  | { ok: false; throttled: Response | null; decision: AdminAuthDecision };

/**
 * Judges an admin token presented by `address` (a bearer token, the sign-in form, the
 * simulator), throttled per address (RATE_LIMIT_ADMIN_AUTH, lib/ratelimit/admin-auth.ts):
 * a wrong token is counted; an address over its budget is refused whatever it presents.
 */
export async function checkAdminToken(
  presented: string,
  token: string,
  address: string,
): Promise<TokenVerdict> {
  if (tokenMatches(presented, token)) {
    const gate = await adminAuthGate(address);
    return gate.allowed
      ? { ok: true }
      : { ok: false, throttled: tooManyAuthAttempts(gate), decision: gate };
  }
  const counted = await recordWrongAdminToken(address);
  return {
    ok: false,
    throttled: counted.allowed ? null : tooManyAuthAttempts(counted),
    decision: counted,
  };
}

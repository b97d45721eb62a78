import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

/** A prefixed random id such as `prj_4k9x…`: the prefix says what it names in logs and URLs. */
export function newId(prefix: "prj" | "scn" | "job" | "evt" | "ep"): string {
  const bytes = randomBytes(16);
  let out = "";
  for (const b of bytes) out += ALPHABET[b & 31];
  return `${prefix}_${out}`;
}

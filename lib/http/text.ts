/**
 * What text the database can hold, and what an id can look like. PostgreSQL refuses a NUL
 * character in text and JSON, and invalid Unicode (a lone UTF-16 surrogate) in JSON: such
 * input is the sender's mistake (400/404), never a failed query (500).
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const NUL = /\u0000/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/** True when `text` can be stored as it is (no NUL, no lone surrogate). */
export function isStorableText(text: string): boolean {
  return !NUL.test(text) && !LONE_SURROGATE.test(text);
}

/** True for a path segment that could name something of ours: storable, no control characters. */
export function isPlausibleId(segment: string): boolean {
  return (
    segment.length > 0 && segment.length <= 200 && !CONTROL.test(segment) && isStorableText(segment)
  );
}

export const MAX_JSON_DEPTH = 64;

/**
 * The first thing in parsed JSON the database cannot hold: a string (key or value) with a
 * NUL or a lone surrogate, or nesting deeper than MAX_JSON_DEPTH. Null when all is well.
 */
export function unstorableTextIn(
  value: unknown,
  path: (string | number)[] = [],
): { path: string; message: string } | null {
  if (typeof value === "string")
    return isStorableText(value)
      ? null
      : { path: path.join("."), message: "contains a NUL character or invalid Unicode" };
  if (value === null || typeof value !== "object") return null;
  if (path.length >= MAX_JSON_DEPTH)
    return { path: path.join("."), message: `nested deeper than ${MAX_JSON_DEPTH} levels` };
  const entries: [string | number, unknown][] = Array.isArray(value)
    ? value.map((item, i) => [i, item])
    : Object.entries(value);
  for (const [key, item] of entries) {
    if (typeof key === "string" && !isStorableText(key))
      return {
        path: [...path, key].join("."),
        message: "key contains a NUL character or invalid Unicode",
      };
    const found = unstorableTextIn(item, [...path, key]);
    if (found) return found;
  }
  return null;
}

/**
 * Whether a raw (still percent-encoded) URL path can name anything here: every segment
 * must decode as UTF-8 (`%ff`, the overlong `%c0%af` do not) to text without control
 * characters (`%00`, `%0a`).
 */
export function isWellFormedPath(rawPath: string): boolean {
  for (const segment of rawPath.split("/")) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return false;
    }
    if (CONTROL.test(decoded)) return false;
  }
  return true;
}

/** Whether a raw query string decodes to storable text (no `%00`; invalid UTF-8 decodes to U+FFFD, harmless). */
export function isWellFormedQuery(rawSearch: string): boolean {
  const params = new URLSearchParams(rawSearch);
  for (const [key, value] of params) {
    if (!isStorableText(key) || !isStorableText(value)) return false;
  }
  return true;
}

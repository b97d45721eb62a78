import { env } from "@/lib/env";

/**
 * Structured logs: one JSON line per event in production (LOG_FORMAT=json), a short
 * readable line in development. Never pass secrets or whole payloads in `fields`.
 */
type Level = "debug" | "info" | "warn" | "error";
const ORDER = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
const format = env.LOG_FORMAT ?? (env.NODE_ENV === "production" ? "json" : "pretty");

export function log(level: Level, event: string, fields: Record<string, unknown> = {}) {
  if (ORDER[level] < ORDER[env.LOG_LEVEL]) return;
  // Straight to the stream: Next's patched console costs more per line than the line itself.
  const stream = level === "error" || level === "warn" ? process.stderr : process.stdout;
  const write = (line: string) => stream.write(`${line}\n`);
  if (format === "json") {
    write(JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }));
    return;
  }
  const details = Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  write(`${level.toUpperCase().padEnd(5)} ${event}${details ? ` ${details}` : ""}`);
}

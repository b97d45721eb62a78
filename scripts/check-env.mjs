// Runs before `npm run dev` / `npm start` (predev/prestart): checks the settings the way
// the server will (lib/env.ts, lib/startup-summary.ts) and, when they cannot work, prints
// only that message and exits 1 — before Next prints "Ready" or a config-loading stack.
// Plain Node so it runs wherever `npm start` does; without tsx (production-only install)
// it steps aside and the server's own start-up check still stops a bad configuration.
import { createRequire } from "node:module";
import process from "node:process";

const mode = process.argv[2] === "production" ? "production" : "development";

let tsImport;
try {
  ({ tsImport } = await import("tsx/esm/api"));
} catch {
  process.exit(0);
}

// The .env files Next itself would load for this mode (with Next's own loader, which `next`
// depends on), so this check and the server see the same settings.
const { loadEnvConfig } = createRequire(import.meta.url)("@next/env");
process.env.NODE_ENV ||= mode;
loadEnvConfig(process.cwd(), process.env.NODE_ENV === "development", {
  info: () => {},
  error: (...args) => console.error(...args),
});

let summary;
try {
  summary = await tsImport("../lib/startup-summary.ts", import.meta.url);
} catch (error) {
  // lib/env.ts parses every setting on import and names each bad one.
  console.error(`\nFramechain cannot start.\n${error instanceof Error ? error.message : error}\n`);
  process.exit(1);
}
const problems = summary.configurationProblems();
if (problems.length > 0) {
  console.error(`\nFramechain cannot start.\n${summary.problemsMessage(problems)}\n`);
  process.exit(1);
}

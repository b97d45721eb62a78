import { spawn } from "node:child_process";
import path from "node:path";
import { APP_DIR } from "./app-server";

/**
 * Runs `npm run bench` / `npm run soak` against the e2e build (APP_DIR; the e2e project's
 * globalSetup (re)built it when its sources were newer, so the scripts, which reuse any build,
 * never run a stale one) and hands back the exit code, the output and its last line.
 */

const ROOT = path.resolve(__dirname, "..", "..", "..");
/** The PostgreSQL server the scripts create their databases next to (the soak needs one). */
export const postgresUrl = process.env.TEST_DATABASE_URL;

export function runScript(script: "bench" | "soak", args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; output: string; lastLine: string }>(
    (resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          path.join(ROOT, "node_modules", "tsx", "dist", "cli.mjs"),
          path.join(ROOT, "scripts", `${script}.ts`),
          "--app-dir",
          APP_DIR,
          ...args,
        ],
        {
          cwd: ROOT,
          env: { ...cleanEnv(), ...env } as NodeJS.ProcessEnv,
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let output = "";
      child.stdout.on("data", (d) => (output += d));
      child.stderr.on("data", (d) => (output += d));
      child.on("error", reject);
      child.on("exit", (code) => {
        const lines = output.trimEnd().split("\n");
        resolve({ code, output, lastLine: lines.at(-1) ?? "" });
      });
    },
  );
}

/** The runner's own settings must not reach the scripts (they set the app's environment themselves). */
function cleanEnv() {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (
      value !== undefined &&
      !key.startsWith("VITEST") &&
      key !== "NODE_ENV" &&
      key !== "DATABASE_URL"
    )
      env[key] = value;
  }
  return env;
}

import path from "node:path";
import type { BuildMode } from "./app-server";

/**
 * Command-line settings of the bench and soak scripts: `--name value` or `--flag`, else the
 * environment variable given, else the default. Only scripts read these (the app reads lib/env).
 */
export function argsOf(argv = process.argv.slice(2)) {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) continue;
    const [name, inline] = arg.slice(2).split("=", 2) as [string, string | undefined];
    const next = argv[i + 1];
    if (inline !== undefined) given.set(name, inline);
    else if (next !== undefined && !next.startsWith("--")) {
      given.set(name, next);
      i++;
    } else given.set(name, "true");
  }
  const raw = (name: string, envName?: string) =>
    given.get(name) ?? (envName ? process.env[envName] : undefined);
  return {
    string(name: string, envName: string | undefined, fallback: string): string {
      return raw(name, envName) ?? fallback;
    },
    optional(name: string, envName?: string): string | undefined {
      return raw(name, envName) || undefined;
    },
    number(name: string, envName: string | undefined, fallback: number): number {
      const value = raw(name, envName);
      if (value === undefined || value === "") return fallback;
      const n = Number(value);
      if (!Number.isFinite(n))
        throw new Error(
          `--${name}${envName ? ` / ${envName}` : ""} must be a number, got "${value}"`,
        );
      return n;
    },
    flag(name: string, envName?: string): boolean {
      const value = raw(name, envName);
      return value !== undefined && !["", "0", "false", "no"].includes(value.toLowerCase());
    },
  };
}

/** The app to run (`--app-dir`, FRAMECHAIN_APP_DIR, else here) and whether to build it first. */
export function appTarget(args: ReturnType<typeof argsOf>): {
  appDir: string;
  buildMode: BuildMode;
} {
  const appDir = path.resolve(args.string("app-dir", "FRAMECHAIN_APP_DIR", process.cwd()));
  const buildMode: BuildMode = args.flag("no-build")
    ? "never"
    : args.flag("rebuild")
      ? "always"
      : "auto";
  return { appDir, buildMode };
}

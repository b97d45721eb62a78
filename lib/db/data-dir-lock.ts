import { readFileSync, rmSync, writeFileSync } from "node:fs";

/**
 * PGlite does not lock its data directory, and two processes on one directory corrupt it.
 * A pid file next to the directory refuses a second live process with a readable error.
 */
export function acquireDataDirLock(dataDir: string): () => void {
  const lockFile = `${dataDir.replace(/\/+$/, "")}.lock`;
  try {
    writeFileSync(lockFile, String(process.pid), { flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const holder = Number(readFileSync(lockFile, "utf8"));
    if (holder && holder !== process.pid && isAlive(holder)) {
      throw new Error(
        `The embedded database in ${dataDir} is in use by process ${holder}. ` +
          "Stop that process, or set DATABASE_URL / PGLITE_DATA_DIR to use another database.",
      );
    }
    writeFileSync(lockFile, String(process.pid)); // stale lock from a process that died
  }
  const release = () => {
    try {
      if (readFileSync(lockFile, "utf8") === String(process.pid)) rmSync(lockFile);
    } catch {}
  };
  process.once("exit", release);
  return release;
}

/** Whether a process with this pid exists (EPERM: it does, owned by another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

import { existsSync, readdirSync, readFileSync } from "node:fs";

/**
 * CPU time actually spent by a set of processes (Linux /proc), so the bench can report CPU per
 * request: unlike latency and throughput, that figure barely moves when other work shares
 * the machine. Null where /proc is not available.
 */

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function statOf(pid: number): { pgrp: number; cpuMs: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces: fields after it are counted from its closing ')'.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const pgrp = Number(fields[2]);
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
    return { pgrp, cpuMs: (ticks * 1000) / TICKS_PER_SECOND };
  } catch {
    return null; // gone
  }
}

export const cpuAccountingAvailable = () => existsSync("/proc/self/stat");

/** CPU ms used so far by every process of a process group (the app server started with setsid). */
export function processGroupCpuMs(pgrp: number): number | null {
  if (!cpuAccountingAvailable()) return null;
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = statOf(Number(entry));
    if (stat?.pgrp === pgrp) total += stat.cpuMs;
  }
  return total;
}

/** CPU ms used so far by each of the given processes still alive (e.g. the PostgreSQL backends of one database). */
export function processesCpuMs(pids: number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const stat = statOf(pid);
    if (stat) out.set(pid, stat.cpuMs);
  }
  return out;
}

/** CPU ms the processes used between two readings (a process that started in between counts from 0). */
export function cpuDeltaMs(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

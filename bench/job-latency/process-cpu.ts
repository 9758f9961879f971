import * as fs from 'node:fs';

/**
 * CPU time of the platform's processes (Linux /proc): each process the launcher's pid file (KILN_DATA_DIR/launcher.pids)
 * names, with all its descendants (Postgres backends, Temporal's threads are one process), so that a run can say how
 * many CPU milliseconds each part spends per job. On 2 cores that bounds throughput: jobs/s ≤ 2000 / (CPU ms per job).
 */
export interface ProcessCpu {
  /** Reads utime + stime (ms) of each named process tree now; undefined where /proc or the pid file is missing. */
  sample(): Record<string, number> | undefined;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

function statOf(pid: number): { ppid: number; cpuMs: number } | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS };
  } catch {
    return undefined;
  }
}

/** ProcessCpu over the pid file at `pidsFile` (written by `npm start`); sample() is undefined if it cannot be read. */
export function processCpu(pidsFile: string): ProcessCpu {
  return {
    sample() {
      let named: Array<{ name: string; pid: number }>;
      try {
        named = (JSON.parse(fs.readFileSync(pidsFile, 'utf8')) as { processes: Array<{ name: string; pid: number }> })
          .processes;
        fs.accessSync('/proc/self/stat');
      } catch {
        return undefined;
      }
      const all = new Map<number, { ppid: number; cpuMs: number }>();
      for (const entry of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        const stat = statOf(Number(entry));
        if (stat) all.set(Number(entry), stat);
      }
      const children = new Map<number, number[]>();
      for (const [pid, { ppid }] of all) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
      const treeMs = (pid: number): number =>
        (all.get(pid)?.cpuMs ?? 0) + (children.get(pid) ?? []).reduce((sum, child) => sum + treeMs(child), 0);
      return Object.fromEntries(named.map(({ name, pid }) => [name, treeMs(pid)]));
    },
  };
}

/** CPU ms per job of each process between two samples. */
export function cpuPerJob(
  before: Record<string, number> | undefined,
  after: Record<string, number> | undefined,
  jobs: number,
): Record<string, number> | undefined {
  if (!before || !after) return undefined;
  const out: Record<string, number> = {};
  for (const name of Object.keys(after)) out[name] = Number(((after[name] - (before[name] ?? 0)) / jobs).toFixed(1));
  out.total = Number(
    Object.values(out)
      .reduce((a, b) => a + b, 0)
      .toFixed(1),
  );
  return out;
}

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

/**
 * When the process with this pid started, as an opaque string; with the pid it names one process for good (a pid the
 * kernel hands out again belongs to a process with another start time). Linux: field 22 of /proc/<pid>/stat (clock
 * ticks after boot, proc(5)); elsewhere `ps -o lstart=` (to the second). undefined when no such process runs (a zombie
 * counts as gone).
 */
export function processStartTime(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (fs.existsSync('/proc/self/stat')) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so count fields after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return fields[0] === 'Z' ? undefined : fields[19];
    } catch {
      return undefined;
    }
  }
  try {
    const started = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return started || undefined;
  } catch {
    return undefined;
  }
}

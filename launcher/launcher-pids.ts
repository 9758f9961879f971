import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../common/logger';
import { processStartTime } from './process-identity';

/** One process a launcher started, as its pid file records it. */
export interface RecordedProcess {
  /** api, worker:cpu, temporal, postgres. */
  name: string;
  pid: number;
  /** processStartTime(pid) right after the spawn: a later process that got the same pid has another one. */
  startTime: string;
  /** Stop order, lowest first: the API and workers 0, Temporal 1, Postgres 2 (it must outlive its clients). */
  tier: number;
  /** The signal that stops it cleanly (Postgres: SIGINT, its fast shutdown). */
  signal: NodeJS.Signals;
}

/** The pid file: the launcher that wrote it and the children it had running. */
interface PidFileContent {
  launcher: { pid: number; startTime: string };
  processes: RecordedProcess[];
}

/** How long a leftover gets to stop on its signal before SIGKILL (a worker drains for up to 10 s). */
const LEFTOVER_GRACE_MS = 15_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `launcher.pids` in the data directory: which processes the launcher running on it has started, each with its start
 * time. A launcher that is killed (-9) or crashes cannot stop its Postgres and Temporal server; the next one on the same
 * data directory finds them here and stops them (by pid and start time, so that a recycled pid is never signalled)
 * before starting its own, instead of failing on postmaster.pid or a port in use.
 */
export class LauncherPids {
  private readonly processes = new Map<string, RecordedProcess>();

  constructor(
    private readonly file: string,
    private readonly log: Logger,
  ) {}

  /**
   * Stops whatever a previous launcher on this data directory left running, in tier order, saying so in a warning
   * line for each; then records this launcher. Throws when the previous launcher is still running itself: two
   * launchers on one data directory would share one Postgres cluster and one Temporal database.
   */
  async claim(): Promise<void> {
    const previous = this.read();
    if (previous) {
      const { pid } = previous.launcher;
      if (pid !== process.pid && processStartTime(pid) === previous.launcher.startTime) {
        throw new Error(
          `another launcher (pid ${pid}) is running on ${path.dirname(this.file)}; stop it (kill -TERM ${pid}) ` +
            'or point KILN_DATA_DIR at another directory',
        );
      }
      await this.stopLeftovers(previous);
    }
    this.write();
  }

  /** Records `pid` as the running incarnation of `name`, or forgets it (`pid` undefined: it has ended). */
  set(name: string, tier: number, signal: NodeJS.Signals, pid: number | undefined): void {
    const startTime = pid === undefined ? undefined : processStartTime(pid);
    if (pid === undefined || startTime === undefined) this.processes.delete(name);
    else this.processes.set(name, { name, pid, startTime, tier, signal });
    this.write();
  }

  /** Removes the file, once everything this launcher started has stopped. */
  remove(): void {
    fs.rmSync(this.file, { force: true });
  }

  private read(): PidFileContent | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch {
      return undefined;
    }
    try {
      return JSON.parse(text) as PidFileContent;
    } catch {
      this.log.warn(`ignoring ${this.file}: not the JSON a launcher writes`);
      return undefined;
    }
  }

  /** Replaces the file in one step (rename), so that a launcher killed mid-write leaves the previous version. */
  private write(): void {
    const content: PidFileContent = {
      launcher: { pid: process.pid, startTime: processStartTime(process.pid) ?? '' },
      processes: [...this.processes.values()],
    };
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    // The owner's only (launcher/data-dir.ts), whatever the umask of whoever runs this.
    fs.writeFileSync(tmp, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, this.file);
  }

  private async stopLeftovers(previous: PidFileContent): Promise<void> {
    const running = previous.processes.filter((p) => processStartTime(p.pid) === p.startTime);
    const tiers = [...new Set(running.map((p) => p.tier))].sort((a, b) => a - b);
    for (const tier of tiers) {
      await Promise.all(running.filter((p) => p.tier === tier).map((p) => this.stopLeftover(p, previous.launcher.pid)));
    }
  }

  private async stopLeftover(leftover: RecordedProcess, launcherPid: number): Promise<void> {
    const { name, pid, startTime, signal } = leftover;
    this.log.warn(
      { process: name, pid, launcherPid },
      `stopping ${name} (pid ${pid}) left running by a previous launcher (pid ${launcherPid}) that did not stop it`,
    );
    const gone = () => processStartTime(pid) !== startTime;
    const kill = (s: NodeJS.Signals) => {
      try {
        process.kill(pid, s);
      } catch {
        // gone already
      }
    };
    kill(signal);
    const deadline = Date.now() + LEFTOVER_GRACE_MS;
    while (!gone() && Date.now() < deadline) await sleep(100);
    if (gone()) return;
    this.log.warn({ process: name, pid }, `${name} (pid ${pid}) did not stop on ${signal}; killing it`);
    kill('SIGKILL');
    while (!gone()) await sleep(100);
  }
}

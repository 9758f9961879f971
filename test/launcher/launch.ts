import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../common/config';
import { repoRoot } from '../../common/paths';
import { freePort } from '../../launcher/free-port';
import { processStartTime } from '../../launcher/process-identity';
import { cliSearch, resolveTemporalCli } from '../../launcher/temporal-cli';

/**
 * Running the real launcher in tests, through `npm start` or `node dist/launcher/start.js`, on a temporary data
 * directory and free ports, and watching the processes it starts from the outside (/proc), as an operator would.
 */

/** One JSON line of the launcher's output (npm's own banner lines are not JSON and are skipped). */
export interface LogLine {
  msg: string;
  component?: string;
  process?: string;
  pool?: string;
  pid: number;
  time: number;
  [field: string]: unknown;
}

export interface Launch {
  /** npm, or the launcher itself when started with node. */
  child: ChildProcess;
  output: () => string;
  lines: () => LogLine[];
  waitForLine: (predicate: (line: LogLine) => boolean, timeoutMs: number) => Promise<LogLine>;
  /** Resolves with the exit code (null when killed by a signal) once the spawned process has exited. */
  exited: Promise<number | null>;
}

/** A temporary data directory (traversable by the `postgres` user when run as root) and the environment for it. */
export async function platformEnv(): Promise<{ dataDir: string; env: NodeJS.ProcessEnv }> {
  const cli = await resolveTemporalCli(cliSearch(loadConfig(process.env).launcher, process.env.PATH));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-fault-'));
  fs.chmodSync(dataDir, 0o755);
  const [api, postgres, temporal, ui, metrics] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TEMPORAL_CLI: cli.path,
    KILN_DATA_DIR: dataDir,
    PORT: String(api),
    KILN_POSTGRES_PORT: String(postgres),
    KILN_TEMPORAL_PORT: String(temporal),
    KILN_TEMPORAL_UI_PORT: String(ui),
    KILN_WORKER_METRICS_PORT: String(metrics),
    npm_config_update_notifier: 'false',
  };
  return { dataDir, env };
}

/** The platform-admin key the launched API wrote to `<dataDir>/bootstrap-admin-key` on its first start. */
export function bootstrapKey(dataDir: string): string {
  return fs.readFileSync(path.join(dataDir, 'bootstrap-admin-key'), 'utf8').trim();
}

/** `Authorization: Bearer <bootstrap key>`, for requests to the launched API (api/auth/bootstrap.ts). */
export function bootstrapAuth(dataDir: string): Record<string, string> {
  return { authorization: `Bearer ${bootstrapKey(dataDir)}` };
}

/**
 * Starts the platform: `via: 'npm'` runs the real `npm start` script (without its prestart build: the tests run on
 * what they were built with), `via: 'node'` the launcher alone. `group: true` gives the spawned process its own
 * session and process group (setsid), like a terminal's foreground job, so that a test can signal the whole group
 * as a terminal's Ctrl-C or hangup does.
 */
export function launch(env: NodeJS.ProcessEnv, options: { via: 'npm' | 'node'; group?: boolean }): Launch {
  let output = '';
  const [command, args] =
    options.via === 'npm'
      ? ['npm', ['start', '--ignore-scripts']]
      : [process.execPath, [path.join(repoRoot, 'dist', 'launcher', 'start.js')]];
  const child = spawn(command, args, {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.group === true,
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // A test may close its end of the pipes (a terminal hanging up); later writes by the launcher must not matter here.
  child.stdout!.on('error', () => undefined);
  child.stderr!.on('error', () => undefined);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = () =>
    output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as LogLine];
        } catch {
          return [];
        }
      });
  const waitForLine = async (predicate: (line: LogLine) => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines().find(predicate);
      if (found) return found;
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `exited (code ${child.exitCode}, signal ${child.signalCode}) without such a line; output:\n${output}`,
        );
      }
      if (Date.now() > deadline) throw new Error(`no such line within ${timeoutMs} ms; output:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { child, output: () => output, lines, waitForLine, exited };
}

export const isReady = (line: LogLine) => line.component === 'launcher' && /^ready in [\d.]+ s$/.test(line.msg);

/** A process seen in /proc: its pid, parent, start time and command line. */
interface ProcInfo {
  pid: number;
  ppid: number;
  startTime: string;
  argv: string[];
}

function procInfo(pid: number): ProcInfo | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined;
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { pid, ppid: Number(fields[1]), startTime: fields[19], argv };
  } catch {
    return undefined;
  }
}

/** Every live process below `root` (children, grandchildren ...), from /proc. */
function descendants(root: number): ProcInfo[] {
  const all = fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((name) => procInfo(Number(name)) ?? []);
  const found: ProcInfo[] = [];
  let frontier = new Set([root]);
  while (frontier.size > 0) {
    const next = all.filter((p) => frontier.has(p.ppid));
    found.push(...next);
    frontier = new Set(next.map((p) => p.pid));
  }
  return found;
}

/** The platform's processes by role, as found below the spawned npm or launcher. */
export interface PlatformProcess {
  role: 'launcher' | 'postgres' | 'temporal' | 'api' | 'worker';
  pid: number;
  startTime: string;
}

/** The launcher, the Postgres server (postmaster), the Temporal dev server, the API and the workers below `root`. */
export function platformProcesses(root: number): PlatformProcess[] {
  const self = procInfo(root);
  const candidates = [...(self ? [self] : []), ...descendants(root)];
  const role = (argv: string[]): PlatformProcess['role'] | undefined => {
    const [exe = '', ...args] = argv;
    const script = args[0] ?? '';
    if (script.endsWith(path.join('launcher', 'start.js'))) return 'launcher';
    if (script.endsWith(path.join('api', 'main.js'))) return 'api';
    if (script.endsWith(path.join('workers', 'main.js'))) return 'worker';
    if (path.basename(exe) === 'postgres') return 'postgres';
    if (args[0] === 'server' && args[1] === 'start-dev') return 'temporal';
    return undefined;
  };
  return candidates.flatMap((p) => {
    const r = role(p.argv);
    return r ? [{ role: r, pid: p.pid, startTime: p.startTime }] : [];
  });
}

/** Whether this very process (pid and start time) still runs; a pid taken over by another process does not count. */
export function stillRuns(p: PlatformProcess): boolean {
  return processStartTime(p.pid) === p.startTime;
}

/**
 * Watches processes until all are gone or `timeoutMs` passes, polling every 20 ms; resolves with when each was
 * first seen gone (ms since the epoch; undefined: still running at the timeout).
 */
export async function watchUntilGone(
  processes: PlatformProcess[],
  timeoutMs: number,
): Promise<Map<PlatformProcess, number | undefined>> {
  const goneAt = new Map<PlatformProcess, number | undefined>(processes.map((p) => [p, undefined]));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const p of processes) if (goneAt.get(p) === undefined && !stillRuns(p)) goneAt.set(p, Date.now());
    if ([...goneAt.values()].every((t) => t !== undefined)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return goneAt;
}

/** Kills whatever still runs of `processes` (a failed test must not leave servers behind). */
export function killLeftovers(processes: PlatformProcess[]): void {
  for (const p of processes) {
    if (!stillRuns(p)) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

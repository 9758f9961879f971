import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from '../../common/paths';

/** How an entry point process ended: its exit status and every line it wrote (stdout and stderr). */
export interface EntryPointRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Non-empty lines of stdout and stderr together. */
  lines: string[];
}

/**
 * Runs `node dist/<script>` with `args` and only the environment given (plus PATH and HOME), to its end or until
 * `timeoutMs` (then SIGKILL, code null). For the failures an entry point must report before it connects anywhere.
 */
export function runEntryPoint(
  script: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<EntryPointRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'dist', script), ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const lines = `${stdout}\n${stderr}`.split('\n').filter((line) => line.trim() !== '');
      resolve({ code, stdout, stderr, lines });
    });
  });
}

/** The one fatal line a run logged (pino JSON), failing when it wrote anything else or a stack. */
export function onlyFatalLine(run: EntryPointRun): { level: number; msg: string } {
  if (run.lines.length !== 1) throw new Error(`expected one line, got ${run.lines.length}:\n${run.lines.join('\n')}`);
  const line = JSON.parse(run.lines[0]!) as { level: number; msg: string; err?: unknown };
  if (line.level !== 60) throw new Error(`expected a fatal line, got ${run.lines[0]}`);
  if (line.err !== undefined || /\n\s+at /.test(run.lines[0]!)) throw new Error(`a stack was logged: ${run.lines[0]}`);
  return line;
}

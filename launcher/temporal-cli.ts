import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LauncherConfig } from '../common/config';
import { rootLogger } from '../common/logger';

/** The one CLI version that can still be `go install`ed (later ones carry a replace directive). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEMPORAL_CLI_MODULE = `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`;

export interface ResolvedCli {
  path: string;
  source: 'TEMPORAL_CLI' | 'PATH' | 'cache' | 'built';
}

/** Where to look for the CLI (and for Go, to build it). */
export interface CliSearch {
  /** TEMPORAL_CLI: an explicit CLI, which must then be executable. */
  temporalCli?: string;
  /** KILN_CACHE_DIR (resolved): where a built CLI is cached, shared by every clone. */
  cacheDir: string;
  /** Directories to search for `temporal` and `go`, PATH-style. */
  searchPath: string;
}

/** The search for this configuration and the process's PATH (an entry point passes process.env.PATH). */
export function cliSearch(launcher: Pick<LauncherConfig, 'temporalCli' | 'cacheDir'>, searchPath = ''): CliSearch {
  return {
    ...(launcher.temporalCli !== undefined ? { temporalCli: launcher.temporalCli } : {}),
    cacheDir: launcher.cacheDir,
    searchPath,
  };
}

/** The cached CLI's path under `cacheDir`, one folder per version. */
export function cachedCliPath(cacheDir: string): string {
  return path.join(cacheDir, 'temporal-cli', TEMPORAL_CLI_VERSION, 'temporal');
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function findOnPath(name: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Resolution without building: TEMPORAL_CLI, then `temporal` on PATH, then the cache. */
export function findTemporalCli(search: CliSearch): ResolvedCli | undefined {
  if (search.temporalCli) {
    if (!isExecutable(search.temporalCli)) {
      throw new Error(`TEMPORAL_CLI=${search.temporalCli} is not an executable file`);
    }
    return { path: search.temporalCli, source: 'TEMPORAL_CLI' };
  }
  const onPath = findOnPath('temporal', search.searchPath);
  if (onPath) return { path: onPath, source: 'PATH' };
  const cached = cachedCliPath(search.cacheDir);
  if (isExecutable(cached)) return { path: cached, source: 'cache' };
  return undefined;
}

const NO_GO_HELP = [
  'Kiln needs the Temporal CLI and could not find or build it.',
  'Do one of:',
  '  - set TEMPORAL_CLI=/path/to/temporal',
  '  - put `temporal` on PATH (https://docs.temporal.io/cli#install)',
  `  - install Go (https://go.dev/dl/) and rerun: Kiln then builds ${TEMPORAL_CLI_MODULE} into its cache once`,
].join('\n');

/**
 * Finds the CLI or builds it into the cache with `go install` (minutes, once per machine). The build goes to a
 * temporary GOBIN and is renamed into place, so an interrupted build never leaves a half-written binary that a later
 * run would trust.
 */
export async function resolveTemporalCli(
  search: CliSearch,
  log: (line: string) => void = (line) => rootLogger().child({ module: 'temporal-cli' }).info(line),
): Promise<ResolvedCli> {
  const found = findTemporalCli(search);
  if (found) return found;

  const go = findOnPath('go', search.searchPath);
  if (!go) throw new Error(NO_GO_HELP);

  const target = cachedCliPath(search.cacheDir);
  const gobin = fs.mkdtempSync(path.join(path.dirname(ensureDir(path.dirname(target))), 'build-'));
  log(`building the Temporal CLI: go install ${TEMPORAL_CLI_MODULE} (takes a few minutes, once; cached at ${target})`);
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(go, ['install', TEMPORAL_CLI_MODULE], {
      // go itself needs the environment (HOME, GOPATH, proxies); only GOBIN is Kiln's.
      env: { ...process.env, PATH: search.searchPath, GOBIN: gobin },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`go install ${TEMPORAL_CLI_MODULE} failed (code ${code}, signal ${signal})`)),
    );
  });
  fs.renameSync(path.join(gobin, 'temporal'), target);
  fs.rmSync(gobin, { recursive: true, force: true });
  log(`built the Temporal CLI in ${((Date.now() - started) / 1000).toFixed(0)} s: ${target}`);
  return { path: target, source: 'built' };
}

function ensureDir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** `temporal --version`, for logs. */
export function temporalCliVersion(cli: string): string {
  const out = spawnSync(cli, ['--version'], { encoding: 'utf8' });
  return (out.stdout || out.stderr || '').trim();
}

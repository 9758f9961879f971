import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The repository root: the nearest folder above this file holding package.json (works from source and from dist/). */
export const repoRoot: string = (() => {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
})();

/**
 * Kiln's cache directory lives outside the repository so that every fresh clone on a machine reuses what was built
 * once (the Temporal CLI above all). KILN_CACHE_DIR overrides it.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KILN_CACHE_DIR) return path.resolve(env.KILN_CACHE_DIR);
  const base = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.join(base, 'kiln');
}

/** Where `npm start` keeps its state (Postgres cluster, Temporal SQLite file) so a restart finds the same data. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.KILN_DATA_DIR ? path.resolve(env.KILN_DATA_DIR) : path.join(repoRoot, '.kiln');
}

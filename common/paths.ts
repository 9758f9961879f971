import * as fs from 'node:fs';
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

// Kiln's data and cache directories are configuration (KILN_DATA_DIR, KILN_CACHE_DIR: common/config.ts).

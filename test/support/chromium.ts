import * as fs from 'node:fs';
import * as path from 'node:path';

/** What to run on a machine without a browser (Debian's package; the README and .ci/run say the same). */
export const INSTALL_CHROMIUM = 'apt-get install -y chromium';

/** Names Chromium goes by on PATH: Debian's package installs `chromium`, some distributions `chromium-browser`. */
const CHROMIUM_NAMES = ['chromium', 'chromium-browser'];

function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The Chromium the browser tests drive: `configured` (KILN_CHROMIUM, else CHROMIUM_PATH, already checked to be an
 * executable by loadConfig), else the first of `chromium`, `chromium-browser` found on `searchPath` (PATH). Throws,
 * naming the install command, when there is none: the browser tests fail rather than skip.
 */
export function locateChromium(configured: string | undefined, searchPath: string | undefined): string {
  if (configured !== undefined) return configured;
  const dirs = (searchPath ?? '').split(path.delimiter).filter(Boolean);
  for (const name of CHROMIUM_NAMES) {
    for (const dir of dirs) {
      const candidate = path.join(dir, name);
      if (executable(candidate)) return candidate;
    }
  }
  throw new Error(
    `no Chromium for the browser tests: none of ${CHROMIUM_NAMES.join(', ')} is on PATH and neither KILN_CHROMIUM ` +
      `nor CHROMIUM_PATH is set. Install it: ${INSTALL_CHROMIUM}`,
  );
}

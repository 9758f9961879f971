import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The data directory's mode: the owner's (rwx), and traversal (x, no listing, no reading) for everyone else. Not
 * 0700: as root, embedded PostgreSQL runs as the `postgres` user, whose cluster lies in `<dataDir>/postgres` and who
 * must traverse this directory to reach it (launcher/embedded-postgres.ts).
 */
export const DATA_DIR_MODE = 0o711;

/** The mode of the files the launcher and its children keep in the data directory: the owner's only. */
export const DATA_FILE_MODE = 0o600;

/**
 * The umask the launcher runs with and its children inherit: what they create (the Temporal dev server's SQLite
 * database and its -wal/-shm files, launcher.pids, anything the API and workers write) is the owner's only.
 */
export const LAUNCHER_UMASK = 0o077;

/**
 * Files of earlier runs that were created under a looser umask (0644) and hold tenant data: workflow inputs, results
 * and memos (who started what, dataset and model names) in Temporal's database; pids in launcher.pids.
 */
const KNOWN_FILES = ['temporal.sqlite', 'temporal.sqlite-wal', 'temporal.sqlite-shm', 'launcher.pids'];

/**
 * Makes `dir` the launcher's data directory: creates it (and missing parents) with mode 0711 when absent; takes read
 * and write away from group and others on an existing one (0755 becomes 0711, 0750 0710; the x bits stay, so that
 * the `postgres` user can still traverse it), but leaves a shared one (sticky or world-writable, such as /tmp) as it
 * is; makes the known files of earlier runs 0600. Calls `log` with a line for each mode it changed (info) or left loose (warn).
 * Throws what the file system throws (EACCES, ENOTDIR).
 */
export function prepareDataDir(dir: string, log: (line: string, level: 'info' | 'warn') => void): void {
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true, mode: DATA_DIR_MODE });
    fs.chmodSync(dir, DATA_DIR_MODE); // mkdir's mode passes through the umask
    return;
  }
  const mode = fs.statSync(dir).mode & 0o7777;
  const tightened = mode & ~0o066;
  if (mode & 0o1002) {
    // Sticky or world-writable: a shared folder such as /tmp, which others must keep using; only the files are ours.
    log(
      `left ${dir} ${octal(mode)}: a shared folder (sticky or world-writable); better give Kiln a folder of its own`,
      'warn',
    );
  } else if (tightened !== mode) {
    fs.chmodSync(dir, tightened);
    log(`made ${dir} ${octal(tightened)} (was ${octal(mode)}): it holds every tenant's data`, 'info');
  }
  for (const name of KNOWN_FILES) {
    const file = path.join(dir, name);
    let fileMode: number;
    try {
      fileMode = fs.statSync(file).mode & 0o7777;
    } catch {
      continue; // not there (yet)
    }
    if ((fileMode & 0o077) === 0) continue;
    fs.chmodSync(file, DATA_FILE_MODE);
    log(`made ${file} ${octal(DATA_FILE_MODE)} (was ${octal(fileMode)}): it holds tenant data`, 'info');
  }
}

const octal = (mode: number) => `0${mode.toString(8)}`;

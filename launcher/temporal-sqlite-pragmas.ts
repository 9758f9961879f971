/**
 * SQLite settings of the dev server's history file (`--db-filename`), for the launcher and docker-compose.yml.
 *
 * Why: the dev server opens its file in SQLite's default rollback-journal mode, where every commit creates, syncs
 * and deletes a `-journal` file besides syncing the database: several fsyncs per commit, and a job commits a dozen
 * times (start, each workflow task, the activity, the close, visibility). Write-ahead logging appends each commit to
 * the `-wal` file with one fsync. `synchronous=FULL` keeps SQLite's default guarantee in WAL mode too: a commit the
 * server acknowledged survives a power cut, not only a crash of the server. Measured on the 2-core development
 * machine under load (bench/results/job-latency-2026-11-30.json, `devServerSettings`): a no-op workflow's start →
 * result p50 went from 100-155 ms to 22-39 ms, a one-activity workflow's from 180-270 ms to 49-95 ms, and the server's
 * CPU per workflow from 33-42 ms to 21-27 ms.
 * The test server (test/support/test-temporal.ts) keeps its history in memory, where neither applies.
 */
export const DEV_SERVER_SQLITE_PRAGMAS: Readonly<Record<string, string>> = {
  journal_mode: 'wal',
  synchronous: 'FULL',
};

/** `temporal server start-dev` flags for DEV_SERVER_SQLITE_PRAGMAS: `--sqlite-pragma name=value` each. */
export function sqlitePragmaFlags(pragmas: Readonly<Record<string, string>> = DEV_SERVER_SQLITE_PRAGMAS): string[] {
  return Object.entries(pragmas).flatMap(([name, value]) => ['--sqlite-pragma', `${name}=${value}`]);
}

/**
 * The exit statuses of Kiln's processes (the API, workers, the launcher and its helpers). A supervisor reads them to
 * tell a crash, worth a restart, from a mistake in how the process was started, which a restart only repeats.
 *
 *   0   done (a worker whose Temporal workers shut down; `--help`)
 *   1   any other failure (a crash, a lost server): worth a restart
 *   2   a bad command line (an unknown, repeated or malformed flag), as argparse and getopt-style tools exit
 *   78  a bad configuration (EX_CONFIG in BSD sysexits.h): an invalid environment variable, a missing DATABASE_URL,
 *       a listen port in use or a host that is not this machine's
 */
export const EXIT_OK = 0;

/** Any failure that is not the caller's mistake; a supervisor may restart the process. */
export const EXIT_FAILURE = 1;

/** The command line is wrong (common/flags.ts FlagError). */
export const EXIT_USAGE = 2;

/** The configuration is wrong (common/config-error.ts ConfigError): EX_CONFIG from sysexits.h. */
export const EXIT_CONFIG = 78;

/** Statuses that a restart with the same command line and environment would only repeat. */
export const NO_RESTART_EXIT_CODES: ReadonlySet<number> = new Set([EXIT_USAGE, EXIT_CONFIG]);

import { ConfigError } from './config-error';
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes';
import { FlagError } from './flags';
import { rootLogger } from './logger';

/**
 * Logs why a process cannot go on, through the process's logger (the default one if the configuration never loaded):
 * a configuration or flag mistake as its message alone (it names the variable or flag; a stack would only bury it),
 * anything else with its stack.
 */
export function logFatal(err: unknown, context = 'failed'): void {
  const log = rootLogger();
  if (err instanceof ConfigError && err.problems.length > 1) log.fatal({ problems: err.problems }, err.message);
  else if (err instanceof ConfigError) log.fatal(err.message);
  else if (err instanceof FlagError) log.fatal(err.message);
  else log.fatal({ err }, `${context}: ${err instanceof Error ? err.message : String(err)}`);
}

/**
 * The exit status for a failure (common/exit-codes.ts): EXIT_USAGE (2) for a FlagError, EXIT_CONFIG (78) for a
 * ConfigError, EXIT_FAILURE (1) for anything else.
 */
export function exitCodeFor(err: unknown): number {
  if (err instanceof FlagError) return EXIT_USAGE;
  if (err instanceof ConfigError) return EXIT_CONFIG;
  return EXIT_FAILURE;
}

/**
 * Runs an entry point's `main`. A rejection is logged (logFatal) and exits with exitCodeFor(err): 2 for a bad command
 * line, 78 for a bad configuration, 1 otherwise. With `exitWhenDone` a resolution exits with 0 (a worker ends when
 * its Temporal workers have shut down; the API keeps serving instead).
 */
export function runMain(main: () => Promise<void>, options: { exitWhenDone?: boolean } = {}): void {
  main().then(
    () => {
      if (options.exitWhenDone) process.exit(EXIT_OK);
    },
    (err: unknown) => {
      logFatal(err);
      process.exit(exitCodeFor(err));
    },
  );
}

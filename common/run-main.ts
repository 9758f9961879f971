import { ConfigError } from './config';
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
 * Runs an entry point's `main`. A rejection is logged (logFatal) and exits with status 1; with `exitWhenDone`, so does
 * a resolution, with status 0 (a worker ends when its Temporal workers have shut down; the API keeps serving instead).
 */
export function runMain(main: () => Promise<void>, options: { exitWhenDone?: boolean } = {}): void {
  main().then(
    () => {
      if (options.exitWhenDone) process.exit(0);
    },
    (err: unknown) => {
      logFatal(err);
      process.exit(1);
    },
  );
}

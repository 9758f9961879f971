import { loadConfig } from '../common/config';
import { parseFlags } from '../common/flags';
import { initLogging } from '../common/logger';
import { runMain } from '../common/run-main';
import { cliSearch, resolveTemporalCli, temporalCliVersion } from './temporal-cli';

/**
 * `npm run temporal:cli`: resolves (building if needed) the Temporal CLI and prints where it is, as one JSON object on
 * stdout (the command's output, not a log line; progress and errors are logged).
 */
async function run(): Promise<void> {
  parseFlags(process.argv.slice(2), {});
  const config = loadConfig(process.env);
  const log = initLogging(config.log, { component: 'launcher' });
  const cli = await resolveTemporalCli(cliSearch(config.launcher, process.env.PATH), (line) => log.info(line));
  process.stdout.write(
    `${JSON.stringify({ path: cli.path, source: cli.source, version: temporalCliVersion(cli.path) })}\n`,
  );
}

runMain(run);

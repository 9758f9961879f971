import { resolveTemporalCli, temporalCliVersion } from './temporal-cli';

/** `npm run temporal:cli`: resolves (building if needed) the Temporal CLI and prints where it is. */
async function run(): Promise<void> {
  const cli = await resolveTemporalCli();
  console.log(JSON.stringify({ path: cli.path, source: cli.source, version: temporalCliVersion(cli.path) }));
}

run().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});

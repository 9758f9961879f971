import { isPoolName, PoolName } from './task-queues';

/** Settings shared by the API and workers, from the environment (README: Configuration). */
export interface KilnConfig {
  databaseUrl: string;
  temporalAddress: string;
  temporalNamespace: string;
  port: number;
  host: string;
}

export function requireEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set (npm start sets it; for npm run api / worker point it at your server)`);
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): KilnConfig {
  return {
    databaseUrl: requireEnv(env, 'DATABASE_URL'),
    temporalAddress: env.TEMPORAL_ADDRESS || '127.0.0.1:7233',
    temporalNamespace: env.TEMPORAL_NAMESPACE || 'default',
    port: env.PORT ? Number(env.PORT) : 3000,
    host: env.HOST || '127.0.0.1',
  };
}

/** A worker's pool: `--pool NAME` wins over KILN_POOL; the default is `cpu`. */
export function poolFromArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): PoolName {
  const flag = argv.findIndex((a) => a === '--pool' || a.startsWith('--pool='));
  const value = flag < 0 ? env.KILN_POOL || 'cpu' : argv[flag].includes('=') ? argv[flag].split('=')[1] : argv[flag + 1];
  if (!value || !isPoolName(value)) throw new Error(`unknown pool ${JSON.stringify(value)}: use cpu or gpu`);
  return value;
}

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
  if (!value)
    throw new Error(`${name} is not set (npm start sets it; for npm run api / worker point it at your server)`);
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

/** The value of `--name VALUE` or `--name=VALUE` in argv, or undefined when the flag is absent. */
export function flagValue(argv: string[], name: string): string | undefined {
  const flag = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (flag < 0) return undefined;
  return argv[flag].includes('=') ? argv[flag].slice(argv[flag].indexOf('=') + 1) : argv[flag + 1];
}

/** A worker's pool: `--pool NAME` wins over KILN_POOL; the default is `cpu`. */
export function poolFromArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): PoolName {
  const value = flagValue(argv, 'pool') ?? (env.KILN_POOL || 'cpu');
  if (!value || !isPoolName(value)) throw new Error(`unknown pool ${JSON.stringify(value)}: use cpu or gpu`);
  return value;
}

/**
 * Kiln's one configuration: every environment variable any Kiln process reads, validated by one zod schema when the
 * process starts (README: Configuration documents each, and test/common/readme-config.test.ts keeps the two equal).
 * Entry points call loadConfig once and pass the plain values inward; nothing below them reads process.env.
 *
 * Temporal connection settings (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*,
 * TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE and TEMPORAL_GRPC_META_*) are resolved by @temporalio/envconfig, the SDK's
 * own loader, so a Temporal Cloud or mTLS cluster is configured exactly as Temporal documents it.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { TLSConfig } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { z } from 'zod';
import { BACKEND_NAMES, BackendName } from './backend-name';
import { BodyLimits, DEFAULT_BODY_LIMITS } from './body-limits';
import { ConfigError } from './config-error';
import { DatasetLimits, DEFAULT_LIMITS } from './dataset-limits';
import { DeclaredGpu, DeclaredInventoryError, readDeclaredGpus } from './declared-gpus';
import { DEFAULT_PREDICT_BATCHING, PredictBatching } from './predict-batching';
import { DEFAULT_JWT_ALGORITHMS, jwtAlgorithmList, SsoConfig } from './sso-config';
import {
  BudgetSizes,
  DEFAULT_AUTH_FAILURE_BUDGET,
  DEFAULT_BUDGET_SIZES,
  formatBudgetSize,
  parseBudgetSize,
} from './rate-limit-budgets';
import {
  directory,
  executableFile,
  host,
  hostList,
  hostPort,
  integer,
  oneOf,
  originList,
  pem,
  port,
  positiveNumber,
  readableFile,
  token,
  url,
} from './env-values';
import { repoRoot } from './paths';
import { PoolName, TASK_QUEUES } from './task-queues';
import { DEFAULT_TELEMETRY_LIMITS, TelemetryLimits } from './telemetry-limits';

export { ConfigError };
export type { PredictBatching, SsoConfig };

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const LOG_FORMATS = ['auto', 'pretty', 'json'] as const;
const BOOLEAN_WORDS = ['true', 'false', '1', '0'] as const;

/**
 * KILN_DECLARED_GPUS: its text (inline JSON or `@file`) and the devices it declares, read and checked now
 * (common/declared-gpus.ts), so that a malformed declaration stops a process before it starts anything. A problem's
 * message names its place itself (`KILN_DECLARED_GPUS[1]: memoryTotalMb must be ...`).
 */
function declaredGpus() {
  return z.string().transform((raw, ctx) => {
    try {
      return { text: raw, devices: readDeclaredGpus(raw) ?? [] };
    } catch (err) {
      if (!(err instanceof DeclaredInventoryError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message, params: { placed: true } });
      return z.NEVER;
    }
  });
}

/** Jobs one tenant may run at once when its `tenants.max_running_jobs` is NULL (KILN_MAX_RUNNING_JOBS_PER_TENANT). */
export const DEFAULT_MAX_RUNNING_JOBS_PER_TENANT = 200;

/**
 * A rate-limit budget, `<points>/<seconds>` (`120/60`): kept as written (README states the default so), read into a
 * BudgetSize by loadConfig.
 */
function budgetSize() {
  return z.string().refine((raw) => parseBudgetSize(raw) !== undefined, {
    message: 'must be <points>/<seconds>, e.g. 120/60 (points 1 to 1000000000, seconds 1 to 86400)',
  });
}

/**
 * Every variable, by its name. A variable without `.default()` is optional; where its default depends on context
 * (npm start or not, the worker's pool) the consumer applies it and README says which. Empty or blank values count as
 * unset.
 */
export const ENV_SCHEMA = z.object({
  // --- API ---
  PORT: port(true).default(3000),
  HOST: host('an IP address or a host name of this machine, e.g. 127.0.0.1, 0.0.0.0, :: or localhost').default(
    '127.0.0.1',
  ),
  KILN_TEMPORAL_UI_URL: url(['http:', 'https:'], 'http://127.0.0.1:8233').optional(),
  KILN_GPU_FALLBACK_SECONDS: positiveNumber().default(30),
  KILN_LOCAL_COMPUTE_MAX_CELLS: integer(0).default(10_000),
  KILN_PREDICT_BATCH_WINDOW_MS: integer(0, 1_000).default(DEFAULT_PREDICT_BATCHING.windowMs),
  KILN_PREDICT_MAX_BATCH_ROWS: integer(1, 100_000).default(DEFAULT_PREDICT_BATCHING.maxRows),
  KILN_MAX_SSE_CLIENTS: integer(1).default(1000),
  KILN_MAX_RUNNING_JOBS_PER_TENANT: integer(1).default(DEFAULT_MAX_RUNNING_JOBS_PER_TENANT),
  KILN_MAX_BODY_BYTES: integer(1).default(DEFAULT_LIMITS.maxBodyBytes),
  KILN_MAX_ROWS: integer(1).default(DEFAULT_LIMITS.maxRows),
  KILN_MAX_COLUMNS: integer(1).default(DEFAULT_LIMITS.maxColumns),
  KILN_MAX_CELLS: integer(1).default(DEFAULT_LIMITS.maxCells),
  KILN_MAX_LEVELS: integer(1).default(DEFAULT_LIMITS.maxLevels),
  KILN_MAX_TRAINING_BODY_BYTES: integer(1).default(DEFAULT_BODY_LIMITS.maxTrainingBodyBytes),
  KILN_MAX_PREDICT_BODY_BYTES: integer(1).default(DEFAULT_BODY_LIMITS.maxPredictBodyBytes),
  KILN_MAX_BATCH_PREDICT_BODY_BYTES: integer(1).default(DEFAULT_BODY_LIMITS.maxBatchPredictBodyBytes),
  KILN_MAX_REGISTRY_BODY_BYTES: integer(1).default(DEFAULT_BODY_LIMITS.maxRegistryBodyBytes),
  KILN_MAX_PIPELINE_BODY_BYTES: integer(1).default(DEFAULT_BODY_LIMITS.maxPipelineBodyBytes),
  KILN_MAX_TELEMETRY_BODY_BYTES: integer(1).default(DEFAULT_TELEMETRY_LIMITS.maxBodyBytes),
  KILN_MAX_TELEMETRY_ROWS: integer(1).default(DEFAULT_TELEMETRY_LIMITS.maxRows),
  KILN_MAX_CONCURRENT_TELEMETRY_UPLOADS: integer(1).default(DEFAULT_TELEMETRY_LIMITS.maxConcurrentUploads),
  KILN_TELEMETRY_IDLE_TIMEOUT_MS: integer(1).default(DEFAULT_TELEMETRY_LIMITS.idleTimeoutMs),
  KILN_ALLOWED_HOSTS: hostList().optional(),
  KILN_CORS_ORIGINS: originList().optional(),
  KILN_TRUST_PROXY: oneOf(BOOLEAN_WORDS).default('false'),
  KILN_PROXY_HOPS: integer(1).default(1),
  KILN_TEMPORAL_RPC_TIMEOUT_MS: integer(1).default(5_000),
  KILN_PG_CONNECT_TIMEOUT_MS: integer(1).default(2_000),
  KILN_PG_QUERY_TIMEOUT_MS: integer(1).default(5_000),
  KILN_RATE_LIMIT_START: budgetSize().default(formatBudgetSize(DEFAULT_BUDGET_SIZES.start)),
  KILN_RATE_LIMIT_PREDICT: budgetSize().default(formatBudgetSize(DEFAULT_BUDGET_SIZES.predict)),
  KILN_RATE_LIMIT_READ: budgetSize().default(formatBudgetSize(DEFAULT_BUDGET_SIZES.read)),
  KILN_RATE_LIMIT_WRITE: budgetSize().default(formatBudgetSize(DEFAULT_BUDGET_SIZES.write)),
  KILN_RATE_LIMIT_AUTH_FAILURES: budgetSize().default(formatBudgetSize(DEFAULT_AUTH_FAILURE_BUDGET)),

  // --- API and workers: the servers ---
  DATABASE_URL: url(['postgres:', 'postgresql:'], 'postgres://user:password@host:5432/kiln').optional(),
  TEMPORAL_ADDRESS: hostPort('127.0.0.1:7233').optional(),
  TEMPORAL_NAMESPACE: token('a namespace name').optional(),
  TEMPORAL_API_KEY: token('an API key').optional(),
  TEMPORAL_TLS: oneOf(BOOLEAN_WORDS).optional(),
  TEMPORAL_TLS_CLIENT_CERT_PATH: readableFile('a PEM certificate').optional(),
  TEMPORAL_TLS_CLIENT_CERT_DATA: pem('CERTIFICATE').optional(),
  TEMPORAL_TLS_CLIENT_KEY_PATH: readableFile('a PEM private key').optional(),
  TEMPORAL_TLS_CLIENT_KEY_DATA: pem('PRIVATE KEY').optional(),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: readableFile('a PEM CA certificate').optional(),
  TEMPORAL_TLS_SERVER_CA_CERT_DATA: pem('CERTIFICATE').optional(),
  TEMPORAL_TLS_SERVER_NAME: host("a host name (the one in the server's certificate)").optional(),
  TEMPORAL_CONFIG_FILE: readableFile('a temporal.toml').optional(),
  TEMPORAL_PROFILE: token('a profile name').optional(),

  // --- API: SSO (JWT bearer tokens; off without KILN_JWT_JWKS_URL) ---
  KILN_JWT_JWKS_URL: url(['https:', 'http:'], 'https://idp.example.com/.well-known/jwks.json').optional(),
  KILN_JWT_ISSUER: token("an issuer (the tokens' exact `iss`)").optional(),
  KILN_JWT_AUDIENCE: token("an audience (a value of the tokens' `aud`)").optional(),
  KILN_JWT_ALGORITHMS: jwtAlgorithmList().default(jwtAlgorithmList().parse(DEFAULT_JWT_ALGORITHMS)),

  // --- Logging (every process) ---
  KILN_LOG_LEVEL: oneOf(LOG_LEVELS).default('info'),
  KILN_LOG_FORMAT: oneOf(LOG_FORMATS).default('auto'),

  // --- Workers ---
  KILN_POOL: oneOf(Object.keys(TASK_QUEUES) as [PoolName, ...PoolName[]]).default('cpu'),
  KILN_GPU_DEVICE: integer(0).default(0),
  KILN_GPU_MEMORY_BUDGET_MB: integer(1).optional(),
  KILN_WORKER_CONCURRENCY: integer(1).optional(),
  KILN_TELEMETRY_INTERVAL_MS: integer(1).default(5_000),
  KILN_TEST_EVALUATION_DELAY_MS: integer(0).optional(),
  KILN_WORKER_METRICS_PORT: port(true).optional(),
  KILN_DECLARED_GPUS: declaredGpus().optional(),

  // --- Compute (workers, and the API's online prediction) ---
  KILN_BACKEND: oneOf(BACKEND_NAMES as [BackendName, ...BackendName[]]).optional(),
  KILN_KMEANS_THREADS: integer(1).optional(),

  // --- npm start (the launcher) ---
  KILN_DATA_DIR: directory().optional(),
  KILN_CACHE_DIR: directory().optional(),
  KILN_POSTGRES_PORT: port().default(55_432),
  KILN_TEMPORAL_PORT: port().default(7_233),
  KILN_TEMPORAL_UI_PORT: port().default(8_233),
  TEMPORAL_CLI: executableFile('the Temporal CLI').optional(),

  // --- Tests ---
  KILN_CHROMIUM: executableFile('Chromium, for the browser tests').optional(),
  CHROMIUM_PATH: executableFile('Chromium, for the browser tests').optional(),
});

export type EnvName = keyof typeof ENV_SCHEMA.shape;
export type ParsedEnv = z.infer<typeof ENV_SCHEMA>;

/** Every variable the schema knows, in schema order. */
export const ENV_NAMES = Object.keys(ENV_SCHEMA.shape) as EnvName[];

/** Variables whose values are secrets: never echoed in an error message (nor logged: common/redact.ts). */
export const SECRET_ENV_NAMES: ReadonlySet<EnvName> = new Set<EnvName>([
  'DATABASE_URL',
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS_CLIENT_KEY_DATA',
]);

export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];

/** How a Temporal client or worker connects: the options for Connection.connect / NativeConnection.connect. */
export interface TemporalConnectionOptions {
  address: string;
  /** true: TLS with the system's roots; an object: mTLS / a private CA; false or absent: plaintext. */
  tls?: TLSConfig | boolean;
  apiKey?: string;
  /** gRPC headers sent with every call (TEMPORAL_GRPC_META_*). */
  metadata?: Record<string, string>;
}

export interface TemporalConfig {
  /** The frontend to use: TEMPORAL_ADDRESS, else the Temporal profile's address, else 127.0.0.1:7233. */
  address: string;
  /** Whether TEMPORAL_ADDRESS is set: `npm start` then uses that server instead of starting a dev server. */
  addressFromEnv: boolean;
  namespace: string;
  connection: TemporalConnectionOptions;
}

export interface ApiConfig {
  port: number;
  host: string;
  /** Base of the `temporalUi` links in responses (npm start sets it to its dev server's UI). */
  temporalUiUrl?: string;
  /** Seconds an `any` job waits for a GPU worker before running on the CPU pool. */
  gpuFallbackSeconds: number;
  /**
   * The largest clustering input (points × columns) whose compute runs as a local activity inside the job's workflow
   * task on the CPU pool instead of as an activity of its own (KILN_LOCAL_COMPUTE_MAX_CELLS; 0: never).
   */
  localComputeMaxCells: number;
  /** Event streams (SSE) one API process serves at once (KILN_MAX_SSE_CLIENTS); past it 503 with Retry-After. */
  maxSseClients: number;
  /** Jobs a tenant may run at once unless its `tenants.max_running_jobs` says otherwise; past it 429 `tenant_job_limit`. */
  maxRunningJobsPerTenant: number;
  limits: DatasetLimits;
  /** Byte limits of the JSON bodies that are not datasets. */
  bodyLimits: BodyLimits;
  /** Bytes and rows of a GPU telemetry upload (POST /api/v1/gpus/telemetry). */
  telemetryLimits: TelemetryLimits;
  /** Who may call the API from a browser, and by which Host names it is reached (api/middleware/browser-guard.ts). */
  browser: BrowserPolicy;
  /** How long the API waits for its dependencies before answering 503 `dependency_unavailable`. */
  timeouts: DependencyTimeouts;
  /** Whose word the API takes for the client's address and scheme (KILN_TRUST_PROXY, KILN_PROXY_HOPS). */
  proxy: ProxyTrust;
  /** How online predict gathers concurrent requests for one model version into one batch. */
  predictBatching: PredictBatching;
  /** SSO token verification (KILN_JWT_*); absent: SSO off, only API keys authenticate. */
  sso?: SsoConfig;
  /**
   * Each caller's rate-limit budgets (KILN_RATE_LIMIT_*); a tenant may override them (tenants.rate_limits), except
   * `authFailures`, each client IP's budget of failed authentications (KILN_RATE_LIMIT_AUTH_FAILURES).
   */
  rateLimits: BudgetSizes;
}

/**
 * Whether the API sits behind a reverse proxy whose X-Forwarded-For and X-Forwarded-Proto it believes (Koa's
 * `app.proxy`): the client address (the per-IP failure budget's key) and the scheme (the session cookie's Secure)
 * then come from those headers. Off, they are ignored: a client reaching the API directly could write them.
 */
export interface ProxyTrust {
  /** KILN_TRUST_PROXY. */
  trust: boolean;
  /**
   * KILN_PROXY_HOPS: the proxies in front of the API, each appending the address it saw to X-Forwarded-For; the
   * client is the entry this many from the end (Koa's `maxIpsCount`), so entries a client wrote itself are not read.
   */
  hops: number;
}

/**
 * Host names the API answers to (anything else is 403: a DNS-rebound name) and origins whose browser pages may call
 * it (CORS). Lower-case; hosts without their port (`[::1]` for IPv6); origins as browsers send them
 * (`https://ui.example.com:8443`).
 */
export interface BrowserPolicy {
  /** KILN_ALLOWED_HOSTS, else localhost, 127.0.0.1, [::1] and the HOST the API binds (unless a wildcard). `*`: any. */
  allowedHosts: string[];
  /** KILN_CORS_ORIGINS; empty: no cross-origin page may call the API. */
  corsOrigins: string[];
}

/** Deadlines on the API's calls to Postgres and Temporal (milliseconds). */
export interface DependencyTimeouts {
  /** A Temporal client call (the SDK's retries included) without a deadline of its own (KILN_TEMPORAL_RPC_TIMEOUT_MS). */
  temporalRpcMs: number;
  /** Connecting to Postgres, and waiting for a free pooled connection (KILN_PG_CONNECT_TIMEOUT_MS). */
  postgresConnectMs: number;
  /**
   * An answer to a query (KILN_PG_QUERY_TIMEOUT_MS); queries that move large contents (datasets, artifacts) get one
   * second more per 8 MiB.
   */
  postgresQueryMs: number;
}

/** A worker's settings from the environment; its flags (workers/worker-flags.ts) win over them. */
export interface WorkerEnvConfig {
  pool: PoolName;
  device: number;
  memoryBudgetMb?: number;
  /** Absent: the pool's default. */
  concurrency?: number;
  telemetryIntervalMs: number;
  /** Test hook: a pipeline's evaluation and a clustering compute wait this long first, so a test can kill the worker. */
  testEvaluationDelayMs?: number;
  /** Port of the worker's Prometheus /metrics; absent or 0 serves none (npm start sets one per worker). */
  metricsPort?: number;
}

export interface ComputeConfig {
  /** Forces a backend; absent: the best available (ml/backend.ts). */
  backend?: BackendName;
  /**
   * Threads k-means splits large inputs over, and spectral nearest-neighbours its large graph products; absent: the
   * machine's parallelism (ml/clustering/kmeans/pool.ts, ml/clustering/spectral/graph-pool.ts).
   */
  kmeansThreads?: number;
}

export interface LauncherConfig {
  /** Where npm start keeps the Postgres cluster and the Temporal SQLite file (absolute). */
  dataDir: string;
  /** Where the built Temporal CLI is cached, shared by every clone (absolute). */
  cacheDir: string;
  /** An explicit Temporal CLI (TEMPORAL_CLI). */
  temporalCli?: string;
  postgresPort: number;
  temporalPort: number;
  temporalUiPort: number;
}

export interface LogConfig {
  level: LogLevel;
  format: LogFormat;
}

/** Settings shared by the API, workers and launcher, from the environment (README: Configuration). */
export interface KilnConfig {
  /** DATABASE_URL; absent where unset (npm start then runs an embedded PostgreSQL). */
  databaseUrl?: string;
  temporal: TemporalConfig;
  api: ApiConfig;
  worker: WorkerEnvConfig;
  /** KILN_DECLARED_GPUS as written (JSON or `@file`); what it declares is declaredDevices. */
  declaredGpus?: string;
  /** The devices KILN_DECLARED_GPUS declares, checked (gpu/declared-inventory.ts makes devices of them). */
  declaredDevices?: DeclaredGpu[];
  compute: ComputeConfig;
  launcher: LauncherConfig;
  log: LogConfig;
  /** KILN_CHROMIUM, else CHROMIUM_PATH: the browser the browser tests drive (else they look on PATH). */
  chromium?: string;
}

type Env = Record<string, string | undefined>;

/** The schema's variables as set in env, trimmed; blank ones dropped (they count as unset). */
function schemaInput(env: Env): Partial<Record<EnvName, string>> {
  const input: Partial<Record<EnvName, string>> = {};
  for (const name of ENV_NAMES) {
    const value = env[name]?.trim();
    if (value) input[name] = value;
  }
  return input;
}

/** Longest value a message quotes: a PEM or a JSON declaration would bury the line. */
const SHOWN_CHARS = 60;

/** `, got "value"` (cut to SHOWN_CHARS), or nothing for a secret or an unset variable. */
function shownValue(name: EnvName, raw: string | undefined): string {
  if (raw === undefined || SECRET_ENV_NAMES.has(name)) return '';
  return `, got ${JSON.stringify(raw.length > SHOWN_CHARS ? `${raw.slice(0, SHOWN_CHARS)}…` : raw)}`;
}

function describeProblem(issue: z.ZodError['issues'][number], input: Partial<Record<EnvName, string>>): string {
  const name = String(issue.path[0] ?? '(environment)') as EnvName;
  // KILN_DECLARED_GPUS's messages say where in the declaration the problem is, the variable's name first.
  if (issue.code === 'custom' && (issue.params as { placed?: boolean } | undefined)?.placed) return issue.message;
  return `${name} ${issue.message}${shownValue(name, input[name])}`;
}

/** TLS material the SDK takes as a file or as inline PEM: setting both is a mistake the SDK reports without naming. */
const PATH_OR_DATA: ReadonlyArray<readonly [EnvName, EnvName]> = [
  ['TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_CERT_DATA'],
  ['TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_CLIENT_KEY_DATA'],
  ['TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_TLS_SERVER_CA_CERT_DATA'],
];

const SSO_NAMES = ['KILN_JWT_JWKS_URL', 'KILN_JWT_ISSUER', 'KILN_JWT_AUDIENCE', 'KILN_JWT_ALGORITHMS'] as const;

/**
 * SSO verifies nothing without an issuer and audience to check; they mean nothing without the keys. Checked once
 * each KILN_JWT_* set is valid alone (`invalid`: the variables with a problem of their own).
 */
function ssoProblems(input: Partial<Record<EnvName, string>>, invalid: ReadonlySet<string>): string[] {
  if (SSO_NAMES.some((name) => invalid.has(name))) return [];
  const missing = (['KILN_JWT_ISSUER', 'KILN_JWT_AUDIENCE'] as const).filter((name) => input[name] === undefined);
  if (input.KILN_JWT_JWKS_URL !== undefined) {
    return missing.length ? [`KILN_JWT_JWKS_URL is set without ${missing.join(' and ')}: SSO needs both`] : [];
  }
  return (['KILN_JWT_ISSUER', 'KILN_JWT_AUDIENCE', 'KILN_JWT_ALGORITHMS'] as const)
    .filter((name) => input[name] !== undefined)
    .map((name) => `${name} is set without KILN_JWT_JWKS_URL: set the URL of the JWKS to turn SSO on, or unset it`);
}

/**
 * KILN_PROXY_HOPS means nothing unless the API trusts its proxies: set without KILN_TRUST_PROXY on, the operator
 * believes the proxy's X-Forwarded-For is read when it is not.
 */
function proxyProblems(input: Partial<Record<EnvName, string>>, invalid: ReadonlySet<string>): string[] {
  if (invalid.has('KILN_TRUST_PROXY') || invalid.has('KILN_PROXY_HOPS') || input.KILN_PROXY_HOPS === undefined)
    return [];
  const trust = input.KILN_TRUST_PROXY;
  return trust === 'true' || trust === '1'
    ? []
    : [
        'KILN_PROXY_HOPS is set without KILN_TRUST_PROXY=true: the API reads X-Forwarded-For only when it trusts the proxy; set both, or unset KILN_PROXY_HOPS',
      ];
}

/** Problems between variables, each valid alone. */
function combinationProblems(input: Partial<Record<EnvName, string>>, invalid: ReadonlySet<string>): string[] {
  return [
    ...PATH_OR_DATA.filter(([file, data]) => input[file] !== undefined && input[data] !== undefined).map(
      ([file, data]) => `${file} and ${data} are both set: set one (a file, or the PEM itself)`,
    ),
    ...ssoProblems(input, invalid),
    ...proxyProblems(input, invalid),
  ];
}

/**
 * Validates the environment against ENV_SCHEMA. Throws ConfigError listing every problem, each naming its variable
 * (secrets are never echoed).
 */
export function parseEnv(env: Env): ParsedEnv {
  const input = schemaInput(env);
  const result = ENV_SCHEMA.safeParse(input);
  const problems = [
    ...(result.success ? [] : result.error.issues.map((issue) => describeProblem(issue, input))),
    ...combinationProblems(input, new Set(result.success ? [] : result.error.issues.map((i) => String(i.path[0])))),
  ];
  if (problems.length > 0 || !result.success)
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`, problems);
  return result.data;
}

/** The Temporal variables that name a file or profile, checked in this order when the SDK's loader fails. */
const TEMPORAL_SOURCES: EnvName[] = [
  'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  'TEMPORAL_CONFIG_FILE',
  'TEMPORAL_PROFILE',
];

/** Temporal's connection settings through @temporalio/envconfig: environment over profile (temporal.toml) over defaults. */
function temporalConfig(env: Env, parsed: ParsedEnv): TemporalConfig {
  // The SDK loader sees the same trimmed values as the schema, plus the variables only it knows (TEMPORAL_GRPC_META_*,
  // HOME / XDG_CONFIG_HOME to find the default temporal.toml).
  const input = schemaInput(env);
  const overrideEnvVars: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && !(ENV_NAMES as string[]).includes(key)) overrideEnvVars[key] = value;
  }
  Object.assign(overrideEnvVars, input);
  let loaded: ReturnType<typeof loadClientConnectConfig>;
  try {
    loaded = loadClientConnectConfig({ overrideEnvVars });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const culprit =
      TEMPORAL_SOURCES.find((name) => input[name] !== undefined && message.includes(input[name]!)) ??
      (/profile/i.test(message) ? 'TEMPORAL_PROFILE' : undefined);
    const problem = culprit
      ? `${culprit} ${message}`
      : `Temporal connection settings (TEMPORAL_* or temporal.toml) ${message}`;
    throw new ConfigError(`invalid configuration:\n  ${problem}`, [problem]);
  }
  const options = loaded.connectionOptions;
  // The SDK drops a client certificate without its key (and a key without its certificate) without a word: the
  // connection would then go out without mTLS and fail at the server, far from the cause.
  const pairLoaded =
    typeof options.tls === 'object' && options.tls !== null && options.tls.clientCertPair !== undefined;
  const cert = (['TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_CERT_DATA'] as const).find((n) => input[n]);
  const key = (['TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_CLIENT_KEY_DATA'] as const).find((n) => input[n]);
  if ((cert || key) && !pairLoaded) {
    const problem = cert
      ? `${cert} is set without TEMPORAL_TLS_CLIENT_KEY_PATH or TEMPORAL_TLS_CLIENT_KEY_DATA: mTLS needs both`
      : `${key} is set without TEMPORAL_TLS_CLIENT_CERT_PATH or TEMPORAL_TLS_CLIENT_CERT_DATA: mTLS needs both`;
    throw new ConfigError(`invalid configuration:\n  ${problem}`, [problem]);
  }
  const address = options.address ?? '127.0.0.1:7233';
  const connection: TemporalConnectionOptions = { address };
  if (options.tls !== undefined && options.tls !== null) connection.tls = options.tls;
  if (options.apiKey !== undefined) connection.apiKey = options.apiKey;
  const metadata = Object.entries(options.metadata ?? {}).filter(
    (entry): entry is [string, string] => typeof entry[1] === 'string',
  );
  if (metadata.length > 0) connection.metadata = Object.fromEntries(metadata);
  return {
    address,
    addressFromEnv: parsed.TEMPORAL_ADDRESS !== undefined,
    namespace: loaded.namespace || 'default',
    connection,
  };
}

/** A comma-separated list, trimmed, blanks dropped. */
function listOf(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/** A host name as the Host header carries it, lower-case, without a port; IPv6 in brackets (`[::1]`). */
export function normalizeHost(host: string): string {
  const lower = host.trim().toLowerCase();
  if (lower.includes(':') && !lower.startsWith('[')) return `[${lower}]`;
  return lower;
}

/** An origin as browsers send it: scheme://host[:port], lower-case, no trailing slash (`null` stays `null`). */
function normalizeOrigin(origin: string): string {
  return origin.toLowerCase().replace(/\/+$/, '');
}

/** The loopback names every local API answers to. */
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

/** KILN_ALLOWED_HOSTS, else the loopback names plus the bind host (a wildcard bind adds nothing: name the hosts). */
function allowedHosts(raw: string | undefined, bindHost: string): string[] {
  const listed = listOf(raw);
  if (listed.length > 0) return listed.map(normalizeHost);
  const bind = normalizeHost(bindHost);
  const wildcard = bind === '0.0.0.0' || bind === '[::]' || bind === '';
  return [...new Set([...LOOPBACK_HOSTS, ...(wildcard ? [] : [bind])])];
}

/** The default cache: $XDG_CACHE_HOME/kiln, else ~/.cache/kiln (outside the repository, so every clone shares it). */
function defaultCacheDir(env: Env): string {
  const xdg = env.XDG_CACHE_HOME?.trim();
  const home = env.HOME?.trim() || os.homedir();
  return path.join(xdg ? path.resolve(xdg) : path.join(home, '.cache'), 'kiln');
}

/**
 * The whole configuration from `env` (an entry point passes process.env, once, at start). Throws ConfigError naming
 * each variable that is invalid.
 */
export function loadConfig(env: Env): KilnConfig {
  const parsed = parseEnv(env);
  return {
    ...(parsed.DATABASE_URL !== undefined ? { databaseUrl: parsed.DATABASE_URL } : {}),
    temporal: temporalConfig(env, parsed),
    api: {
      port: parsed.PORT,
      host: parsed.HOST,
      ...(parsed.KILN_TEMPORAL_UI_URL !== undefined ? { temporalUiUrl: parsed.KILN_TEMPORAL_UI_URL } : {}),
      gpuFallbackSeconds: parsed.KILN_GPU_FALLBACK_SECONDS,
      localComputeMaxCells: parsed.KILN_LOCAL_COMPUTE_MAX_CELLS,
      maxSseClients: parsed.KILN_MAX_SSE_CLIENTS,
      maxRunningJobsPerTenant: parsed.KILN_MAX_RUNNING_JOBS_PER_TENANT,
      limits: {
        maxBodyBytes: parsed.KILN_MAX_BODY_BYTES,
        maxRows: parsed.KILN_MAX_ROWS,
        maxColumns: parsed.KILN_MAX_COLUMNS,
        maxCells: parsed.KILN_MAX_CELLS,
        maxLevels: parsed.KILN_MAX_LEVELS,
      },
      bodyLimits: {
        maxTrainingBodyBytes: parsed.KILN_MAX_TRAINING_BODY_BYTES,
        maxPredictBodyBytes: parsed.KILN_MAX_PREDICT_BODY_BYTES,
        maxBatchPredictBodyBytes: parsed.KILN_MAX_BATCH_PREDICT_BODY_BYTES,
        maxRegistryBodyBytes: parsed.KILN_MAX_REGISTRY_BODY_BYTES,
        maxPipelineBodyBytes: parsed.KILN_MAX_PIPELINE_BODY_BYTES,
      },
      telemetryLimits: {
        maxBodyBytes: parsed.KILN_MAX_TELEMETRY_BODY_BYTES,
        maxRows: parsed.KILN_MAX_TELEMETRY_ROWS,
        maxConcurrentUploads: parsed.KILN_MAX_CONCURRENT_TELEMETRY_UPLOADS,
        idleTimeoutMs: parsed.KILN_TELEMETRY_IDLE_TIMEOUT_MS,
      },
      browser: {
        allowedHosts: allowedHosts(parsed.KILN_ALLOWED_HOSTS, parsed.HOST),
        corsOrigins: listOf(parsed.KILN_CORS_ORIGINS).map(normalizeOrigin),
      },
      timeouts: {
        temporalRpcMs: parsed.KILN_TEMPORAL_RPC_TIMEOUT_MS,
        postgresConnectMs: parsed.KILN_PG_CONNECT_TIMEOUT_MS,
        postgresQueryMs: parsed.KILN_PG_QUERY_TIMEOUT_MS,
      },
      proxy: {
        trust: parsed.KILN_TRUST_PROXY === 'true' || parsed.KILN_TRUST_PROXY === '1',
        hops: parsed.KILN_PROXY_HOPS,
      },
      predictBatching: {
        windowMs: parsed.KILN_PREDICT_BATCH_WINDOW_MS,
        maxRows: parsed.KILN_PREDICT_MAX_BATCH_ROWS,
      },
      ...(parsed.KILN_JWT_JWKS_URL !== undefined
        ? {
            sso: {
              jwksUrl: parsed.KILN_JWT_JWKS_URL,
              issuer: parsed.KILN_JWT_ISSUER!,
              audience: parsed.KILN_JWT_AUDIENCE!,
              algorithms: parsed.KILN_JWT_ALGORITHMS,
            },
          }
        : {}),
      rateLimits: {
        start: parseBudgetSize(parsed.KILN_RATE_LIMIT_START)!,
        predict: parseBudgetSize(parsed.KILN_RATE_LIMIT_PREDICT)!,
        read: parseBudgetSize(parsed.KILN_RATE_LIMIT_READ)!,
        write: parseBudgetSize(parsed.KILN_RATE_LIMIT_WRITE)!,
        authFailures: parseBudgetSize(parsed.KILN_RATE_LIMIT_AUTH_FAILURES)!,
      },
    },
    worker: {
      pool: parsed.KILN_POOL,
      device: parsed.KILN_GPU_DEVICE,
      ...(parsed.KILN_GPU_MEMORY_BUDGET_MB !== undefined ? { memoryBudgetMb: parsed.KILN_GPU_MEMORY_BUDGET_MB } : {}),
      ...(parsed.KILN_WORKER_CONCURRENCY !== undefined ? { concurrency: parsed.KILN_WORKER_CONCURRENCY } : {}),
      telemetryIntervalMs: parsed.KILN_TELEMETRY_INTERVAL_MS,
      ...(parsed.KILN_TEST_EVALUATION_DELAY_MS !== undefined
        ? { testEvaluationDelayMs: parsed.KILN_TEST_EVALUATION_DELAY_MS }
        : {}),
      ...(parsed.KILN_WORKER_METRICS_PORT !== undefined ? { metricsPort: parsed.KILN_WORKER_METRICS_PORT } : {}),
    },
    ...(parsed.KILN_DECLARED_GPUS !== undefined
      ? { declaredGpus: parsed.KILN_DECLARED_GPUS.text, declaredDevices: parsed.KILN_DECLARED_GPUS.devices }
      : {}),
    compute: {
      ...(parsed.KILN_BACKEND !== undefined ? { backend: parsed.KILN_BACKEND } : {}),
      ...(parsed.KILN_KMEANS_THREADS !== undefined ? { kmeansThreads: parsed.KILN_KMEANS_THREADS } : {}),
    },
    launcher: {
      dataDir: parsed.KILN_DATA_DIR ? path.resolve(parsed.KILN_DATA_DIR) : path.join(repoRoot, '.kiln'),
      cacheDir: parsed.KILN_CACHE_DIR ? path.resolve(parsed.KILN_CACHE_DIR) : defaultCacheDir(env),
      ...(parsed.TEMPORAL_CLI !== undefined ? { temporalCli: parsed.TEMPORAL_CLI } : {}),
      postgresPort: parsed.KILN_POSTGRES_PORT,
      temporalPort: parsed.KILN_TEMPORAL_PORT,
      temporalUiPort: parsed.KILN_TEMPORAL_UI_PORT,
    },
    log: { level: parsed.KILN_LOG_LEVEL, format: parsed.KILN_LOG_FORMAT },
    ...((parsed.KILN_CHROMIUM ?? parsed.CHROMIUM_PATH) !== undefined
      ? { chromium: parsed.KILN_CHROMIUM ?? parsed.CHROMIUM_PATH }
      : {}),
  };
}

/**
 * DATABASE_URL for a process that cannot run without it (the API, a worker). Throws ConfigError when it is unset.
 */
export function requireDatabaseUrl(config: KilnConfig): string {
  if (config.databaseUrl === undefined) {
    throw new ConfigError(
      'DATABASE_URL is not set (npm start sets it; for npm run api / worker point it at your server)',
    );
  }
  return config.databaseUrl;
}

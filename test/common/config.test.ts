import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ConfigError,
  ENV_NAMES,
  EnvName,
  loadConfig,
  parseEnv,
  requireDatabaseUrl,
  SECRET_ENV_NAMES,
} from '../../common/config';
import { DEFAULT_BODY_LIMITS } from '../../common/body-limits';
import { DEFAULT_LIMITS } from '../../common/dataset-limits';
import { DEFAULT_TELEMETRY_LIMITS } from '../../common/telemetry-limits';
import { DEFAULT_PREDICT_BATCHING } from '../../common/predict-batching';
import { DEFAULT_AUTH_FAILURE_BUDGET, DEFAULT_BUDGET_SIZES } from '../../common/rate-limit-budgets';
import { repoRoot } from '../../common/paths';

/** The ConfigError loadConfig throws for env (fails the test when it does not throw one). */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig(${JSON.stringify(env)}) did not throw`);
}

describe('common/config', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-config-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('has a default for every setting an empty environment leaves open', () => {
    // HOME points at an empty folder so that no temporal.toml of the machine's user is read.
    const config = loadConfig({ HOME: root });
    expect(config.databaseUrl).to.equal(undefined);
    expect(config.api).to.deep.equal({
      port: 3000,
      host: '127.0.0.1',
      gpuFallbackSeconds: 30,
      localComputeMaxCells: 10_000,
      maxSseClients: 1000,
      maxRunningJobsPerTenant: 200,
      limits: DEFAULT_LIMITS,
      bodyLimits: DEFAULT_BODY_LIMITS,
      telemetryLimits: DEFAULT_TELEMETRY_LIMITS,
      browser: { allowedHosts: ['localhost', '127.0.0.1', '[::1]'], corsOrigins: [] },
      timeouts: { temporalRpcMs: 5000, postgresConnectMs: 2000, postgresQueryMs: 5000 },
      proxy: { trust: false, hops: 1 },
      predictBatching: DEFAULT_PREDICT_BATCHING,
      rateLimits: { ...DEFAULT_BUDGET_SIZES, authFailures: DEFAULT_AUTH_FAILURE_BUDGET },
    });
    expect(config.temporal).to.deep.equal({
      address: '127.0.0.1:7233',
      addressFromEnv: false,
      namespace: 'default',
      connection: { address: '127.0.0.1:7233' },
    });
    expect(config.worker).to.deep.equal({ pool: 'cpu', device: 0, telemetryIntervalMs: 5000 });
    expect(config.compute).to.deep.equal({});
    expect(config.log).to.deep.equal({ level: 'info', format: 'auto' });
    expect(config.launcher).to.deep.equal({
      dataDir: path.join(repoRoot, '.kiln'),
      cacheDir: path.join(root, '.cache', 'kiln'),
      postgresPort: 55432,
      temporalPort: 7233,
      temporalUiPort: 8233,
    });
  });

  it('trusts no proxy unless KILN_TRUST_PROXY says so; KILN_PROXY_HOPS counts the proxies', () => {
    const proxy = (env: Record<string, string>) => loadConfig({ HOME: root, ...env }).api.proxy;
    expect(proxy({})).to.deep.equal({ trust: false, hops: 1 });
    expect(proxy({ KILN_TRUST_PROXY: 'true' })).to.deep.equal({ trust: true, hops: 1 });
    expect(proxy({ KILN_TRUST_PROXY: '1', KILN_PROXY_HOPS: '2' })).to.deep.equal({ trust: true, hops: 2 });
    // Hops without trust would be ignored: a configuration error rather than a silent no-op.
    expect(() => proxy({ KILN_TRUST_PROXY: '0', KILN_PROXY_HOPS: '3' })).to.throw(
      /KILN_PROXY_HOPS is set without KILN_TRUST_PROXY=true/,
    );
    expect(() => proxy({ KILN_PROXY_HOPS: '2' })).to.throw(/KILN_PROXY_HOPS is set without KILN_TRUST_PROXY=true/);
  });

  it('reads the browser policy: allowed hosts (default loopback plus the bind host) and CORS origins', () => {
    const api = (env: Record<string, string>) => loadConfig({ HOME: root, ...env }).api;
    expect(api({ HOST: 'kiln.lan' }).browser.allowedHosts).to.deep.equal([
      'localhost',
      '127.0.0.1',
      '[::1]',
      'kiln.lan',
    ]);
    expect(api({ HOST: '0.0.0.0' }).browser.allowedHosts).to.deep.equal(['localhost', '127.0.0.1', '[::1]']);
    expect(api({ HOST: '::' }).browser.allowedHosts).to.deep.equal(['localhost', '127.0.0.1', '[::1]']);
    expect(api({ KILN_ALLOWED_HOSTS: ' Kiln.Example.com, ::1 ,,' }).browser.allowedHosts).to.deep.equal([
      'kiln.example.com',
      '[::1]',
    ]);
    expect(
      api({ KILN_CORS_ORIGINS: 'https://UI.example.com/, http://localhost:5173' }).browser.corsOrigins,
    ).to.deep.equal(['https://ui.example.com', 'http://localhost:5173']);
    expect(
      api({ KILN_TEMPORAL_RPC_TIMEOUT_MS: '750', KILN_PG_CONNECT_TIMEOUT_MS: '300', KILN_PG_QUERY_TIMEOUT_MS: '900' })
        .timeouts,
    ).to.deep.equal({ temporalRpcMs: 750, postgresConnectMs: 300, postgresQueryMs: 900 });
    expect(api({ KILN_PREDICT_BATCH_WINDOW_MS: '0', KILN_PREDICT_MAX_BATCH_ROWS: '1' }).predictBatching).to.deep.equal({
      windowMs: 0,
      maxRows: 1,
    });
    expect(() => api({ KILN_PREDICT_BATCH_WINDOW_MS: '1001' })).to.throw(
      /KILN_PREDICT_BATCH_WINDOW_MS must be an integer from 0 to 1000, got "1001"/,
    );
    expect(() => api({ KILN_PG_QUERY_TIMEOUT_MS: '0' })).to.throw(
      /KILN_PG_QUERY_TIMEOUT_MS must be a positive integer/,
    );
  });

  it('reads rate-limit budgets as <points>/<seconds>', () => {
    const api = (env: Record<string, string>) => loadConfig({ HOME: root, ...env }).api;
    expect(api({ KILN_RATE_LIMIT_START: ' 10/1 ', KILN_RATE_LIMIT_READ: '5000/3600' }).rateLimits).to.deep.equal({
      ...DEFAULT_BUDGET_SIZES,
      start: { points: 10, durationSeconds: 1 },
      read: { points: 5000, durationSeconds: 3600 },
      authFailures: DEFAULT_AUTH_FAILURE_BUDGET,
    });
    expect(api({ KILN_RATE_LIMIT_AUTH_FAILURES: '5/30' }).rateLimits.authFailures).to.deep.equal({
      points: 5,
      durationSeconds: 30,
    });
    for (const bad of ['10', '10/0', '0/60', '10/s', '-1/60', '10/86401']) {
      expect(() => api({ KILN_RATE_LIMIT_WRITE: bad }), bad).to.throw(
        /KILN_RATE_LIMIT_WRITE must be <points>\/<seconds>, e.g. 120\/60/,
      );
    }
  });

  it('reads every kind of value, trimming and treating blank as unset', () => {
    // TEMPORAL_CLI must name an executable that exists.
    const cli = path.join(root, 'temporal');
    fs.writeFileSync(cli, '#!/bin/sh\n', { mode: 0o755 });
    const config = loadConfig({
      HOME: root,
      PORT: ' 8080 ',
      HOST: '',
      DATABASE_URL: 'postgres://kiln:pw@db:5432/kiln',
      KILN_GPU_FALLBACK_SECONDS: '2.5',
      KILN_LOCAL_COMPUTE_MAX_CELLS: '0',
      KILN_MAX_ROWS: '1_000',
      KILN_POOL: 'gpu',
      KILN_GPU_DEVICE: '3',
      KILN_WORKER_CONCURRENCY: '4',
      KILN_WORKER_METRICS_PORT: '0',
      KILN_BACKEND: 'cpu',
      KILN_KMEANS_THREADS: '2',
      KILN_LOG_LEVEL: 'debug',
      KILN_LOG_FORMAT: 'json',
      KILN_DATA_DIR: 'rel/data',
      KILN_CACHE_DIR: path.join(root, 'cache'),
      XDG_CACHE_HOME: '/ignored-when-KILN_CACHE_DIR-is-set',
      TEMPORAL_CLI: cli,
    });
    expect(config.api).to.include({ port: 8080, host: '127.0.0.1', gpuFallbackSeconds: 2.5, localComputeMaxCells: 0 });
    expect(config.api.limits.maxRows).to.equal(1000);
    expect(requireDatabaseUrl(config)).to.equal('postgres://kiln:pw@db:5432/kiln');
    expect(config.worker).to.deep.equal({
      pool: 'gpu',
      device: 3,
      concurrency: 4,
      telemetryIntervalMs: 5000,
      metricsPort: 0,
    });
    expect(config.compute).to.deep.equal({ backend: 'cpu', kmeansThreads: 2 });
    expect(config.log).to.deep.equal({ level: 'debug', format: 'json' });
    expect(config.launcher).to.include({
      dataDir: path.resolve('rel/data'),
      cacheDir: path.join(root, 'cache'),
      temporalCli: cli,
    });
    expect(loadConfig({ XDG_CACHE_HOME: path.join(root, 'xdg') }).launcher.cacheDir).to.equal(
      path.join(root, 'xdg', 'kiln'),
    );
  });

  const invalid: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'http' }, /^PORT must be an integer from 0 to 65535, got "http"$/],
    [{ KILN_POSTGRES_PORT: '70000' }, /^KILN_POSTGRES_PORT must be an integer from 1 to 65535, got "70000"$/],
    [{ KILN_MAX_ROWS: '1e6' }, /^KILN_MAX_ROWS must be a positive integer, got "1e6"$/],
    [{ KILN_GPU_DEVICE: '-1' }, /^KILN_GPU_DEVICE must be a non-negative integer, got "-1"$/],
    [{ KILN_GPU_FALLBACK_SECONDS: '0' }, /^KILN_GPU_FALLBACK_SECONDS must be a positive number, got "0"$/],
    [{ KILN_POOL: 'tpu' }, /^KILN_POOL must be one of cpu, gpu, got "tpu"$/],
    [{ KILN_BACKEND: 'tpu' }, /^KILN_BACKEND must be one of tfjs-node-gpu, tfjs-node, wasm, cpu, got "tpu"$/],
    [{ KILN_LOG_LEVEL: 'loud' }, /^KILN_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent/],
    [{ KILN_LOG_FORMAT: 'xml' }, /^KILN_LOG_FORMAT must be one of auto, pretty, json, got "xml"$/],
    [{ TEMPORAL_TLS: 'yes' }, /^TEMPORAL_TLS must be one of true, false, 1, 0, got "yes"$/],
    [{ TEMPORAL_ADDRESS: 'temporal :7233' }, /^TEMPORAL_ADDRESS must be host:port/],
    [{ KILN_TEMPORAL_UI_URL: 'localhost:8233' }, /^KILN_TEMPORAL_UI_URL must be a URL like http:\/\/127\.0\.0\.1:8233/],
  ];
  for (const [env, message] of invalid) {
    it(`refuses ${JSON.stringify(env)}, naming the variable and what was wrong`, () => {
      const err = configError(env);
      expect(err.problems).to.have.length(1);
      expect(err.problems[0]).to.match(message);
      expect(err.message).to.contain(err.problems[0]);
    });
  }

  it('reports every invalid variable at once', () => {
    const err = configError({ PORT: 'x', KILN_MAX_CELLS: '0', KILN_POOL: 'gpu' });
    expect(err.problems.map((p) => p.split(' ')[0])).to.deep.equal(['PORT', 'KILN_MAX_CELLS']);
  });

  it('never echoes a secret in its error, and says DATABASE_URL is missing where a process needs it', () => {
    const err = configError({ DATABASE_URL: 'mysql://kiln:hunter2@db/kiln' });
    expect(err.message)
      .to.match(/DATABASE_URL must be a URL like postgres:\/\//)
      .and.not.contain('hunter2');
    expect(() => requireDatabaseUrl(loadConfig({}))).to.throw(ConfigError, /^DATABASE_URL is not set/);
  });

  describe('Temporal connection settings (through @temporalio/envconfig)', () => {
    it('takes address, namespace, API key (TLS on), TLS files and gRPC headers from the environment', () => {
      const ca = path.join(root, 'ca.pem');
      fs.writeFileSync(ca, 'CA');
      const config = loadConfig({
        HOME: root,
        TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
        TEMPORAL_NAMESPACE: 'ns.acct',
        TEMPORAL_API_KEY: 'key-1',
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
        TEMPORAL_TLS_SERVER_NAME: 'tmprl',
        TEMPORAL_GRPC_META_TENANT: 'blue',
      });
      expect(config.temporal).to.include({
        address: 'ns.acct.tmprl.cloud:7233',
        addressFromEnv: true,
        namespace: 'ns.acct',
      });
      const { tls, ...rest } = config.temporal.connection;
      expect(rest).to.deep.equal({
        address: 'ns.acct.tmprl.cloud:7233',
        apiKey: 'key-1',
        metadata: { tenant: 'blue' },
      });
      expect(tls).to.be.an('object').that.includes({ serverNameOverride: 'tmprl' });
      expect(Buffer.from((tls as { serverRootCACertificate: Uint8Array }).serverRootCACertificate).toString()).to.equal(
        'CA',
      );
      expect(loadConfig({ HOME: root, TEMPORAL_API_KEY: 'k' }).temporal.connection.tls).to.equal(true);
      expect(loadConfig({ HOME: root, TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }).temporal.connection.tls).to.equal(
        false,
      );
    });

    it('reads a profile from a temporal.toml, the environment winning over it', () => {
      const file = path.join(root, 'temporal.toml');
      fs.writeFileSync(file, '[profile.cloud]\naddress = "cloud:7233"\nnamespace = "team"\n');
      const fromProfile = loadConfig({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud' }).temporal;
      expect(fromProfile).to.include({ address: 'cloud:7233', namespace: 'team', addressFromEnv: false });
      const overridden = loadConfig({
        TEMPORAL_CONFIG_FILE: file,
        TEMPORAL_PROFILE: 'cloud',
        TEMPORAL_NAMESPACE: 'mine',
      });
      expect(overridden.temporal.namespace).to.equal('mine');
    });

    it('names the variable when the SDK loader fails', () => {
      const file = path.join(root, 'temporal.toml');
      fs.writeFileSync(file, '[profile.default]\naddress = "x:7233"\n');
      expect(configError({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'nope' }).message).to.match(
        /TEMPORAL_PROFILE .*nope/,
      );
      const missing = path.join(root, 'missing-cert.pem');
      expect(
        configError({ HOME: root, TEMPORAL_TLS_CLIENT_CERT_PATH: missing, TEMPORAL_TLS_CLIENT_KEY_PATH: missing })
          .message,
      ).to.match(/TEMPORAL_TLS_CLIENT_CERT_PATH .*missing-cert\.pem/);
    });
  });

  describe('KILN_DECLARED_GPUS, checked when the configuration loads', () => {
    it('keeps the text and the devices it declares, inline or from @file', () => {
      const inline = '[{"name":"NVIDIA H100 80GB HBM3","memoryTotalMb":8192},{"name":"Tesla T4","memoryTotalMb":4096}]';
      const config = loadConfig({ HOME: root, KILN_DECLARED_GPUS: inline });
      expect(config.declaredGpus).to.equal(inline);
      expect(config.declaredDevices).to.deep.equal([
        { index: 0, uuid: 'declared-0', name: 'NVIDIA H100 80GB HBM3', memoryTotalMb: 8192 },
        { index: 1, uuid: 'declared-1', name: 'Tesla T4', memoryTotalMb: 4096 },
      ]);
      const file = path.join(root, 'gpus.json');
      fs.writeFileSync(file, '[{"name":"NVIDIA L4","memoryTotalMb":1024,"gpuClass":"l4-small","index":3}]');
      expect(loadConfig({ HOME: root, KILN_DECLARED_GPUS: `@${file}` }).declaredDevices).to.deep.equal([
        { index: 3, uuid: 'declared-3', name: 'NVIDIA L4', memoryTotalMb: 1024, gpuClass: 'l4-small' },
      ]);
      expect(loadConfig({ HOME: root, KILN_DECLARED_GPUS: '[]' }).declaredDevices).to.deep.equal([]);
      expect(loadConfig({ HOME: root })).to.not.have.property('declaredDevices');
    });

    it('refuses what is not JSON, a file it cannot read, and entries of the wrong shape, saying where', () => {
      const problem = (value: string) => {
        const err = configError({ HOME: root, KILN_DECLARED_GPUS: value });
        expect(err.problems).to.have.length(1);
        return err.problems[0]!;
      };
      expect(problem('not json')).to.match(/^KILN_DECLARED_GPUS: is not valid JSON .*expected e\.g\. \[\{"name"/);
      expect(problem('@/nonexistent.json')).to.match(
        /^KILN_DECLARED_GPUS \(\/nonexistent\.json\): cannot read the declaration file: ENOENT/,
      );
      expect(problem('{"name":"T4","memoryTotalMb":1}')).to.match(/^KILN_DECLARED_GPUS: expected a JSON array/);
      expect(problem('[{"name":"T4","memoryTotalMb":-1}]')).to.equal(
        'KILN_DECLARED_GPUS[0]: memoryTotalMb must be a positive integer (MiB), got -1',
      );
      // Every problem of a declaration at once, each saying where.
      expect(problem('[{"name":"","memoryTotalMb":1,"memoryTotalMB":2},{"name":"T4","memoryTotalMb":1.5}]')).to.equal(
        'KILN_DECLARED_GPUS[0]: name must be a non-empty string, got ""; ' +
          'KILN_DECLARED_GPUS[0]: unknown field(s) memoryTotalMB; allowed: index, uuid, name, memoryTotalMb, ' +
          'memoryUsedMb, utilizationPct, temperatureC, gpuClass; ' +
          'KILN_DECLARED_GPUS[1]: memoryTotalMb must be a positive integer (MiB), got 1.5',
      );
      expect(problem('[{"name":"T4","memoryTotalMb":1,"gpuClass":"T4 Big"}]')).to.match(
        /^KILN_DECLARED_GPUS\[0\]: gpuClass must be lowercase \[a-z0-9-\]/,
      );
    });
  });

  describe('TLS settings that are valid alone but not together', () => {
    it('refuses a file and inline PEM for the same thing, and a client certificate without its key', () => {
      const cert = path.join(root, 'client.pem');
      fs.writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      const pemText = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
      expect(
        configError({ HOME: root, TEMPORAL_TLS_SERVER_CA_CERT_PATH: cert, TEMPORAL_TLS_SERVER_CA_CERT_DATA: pemText })
          .problems,
      ).to.deep.equal([
        'TEMPORAL_TLS_SERVER_CA_CERT_PATH and TEMPORAL_TLS_SERVER_CA_CERT_DATA are both set: set one (a file, or the PEM itself)',
      ]);
      expect(configError({ HOME: root, TEMPORAL_TLS_CLIENT_CERT_PATH: cert }).problems).to.deep.equal([
        'TEMPORAL_TLS_CLIENT_CERT_PATH is set without TEMPORAL_TLS_CLIENT_KEY_PATH or TEMPORAL_TLS_CLIENT_KEY_DATA: mTLS needs both',
      ]);
      const key = '-----BEGIN PRIVATE KEY-----\nhunter2\n-----END PRIVATE KEY-----';
      const keyOnly = configError({ HOME: root, TEMPORAL_TLS_CLIENT_KEY_DATA: key });
      expect(keyOnly.problems[0]).to.match(/^TEMPORAL_TLS_CLIENT_KEY_DATA is set without TEMPORAL_TLS_CLIENT_CERT_/);
      expect(keyOnly.message).to.not.contain('hunter2');
      const tls = loadConfig({ HOME: root, TEMPORAL_TLS_CLIENT_CERT_PATH: cert, TEMPORAL_TLS_CLIENT_KEY_DATA: key })
        .temporal.connection.tls;
      expect(tls).to.be.an('object').that.has.property('clientCertPair');
    });
  });

  describe('SSO (KILN_JWT_*)', () => {
    const jwks = 'https://idp.example.com/.well-known/jwks.json';

    it('is off without KILN_JWT_JWKS_URL, on with it and its issuer and audience', () => {
      expect(loadConfig({ HOME: root }).api.sso).to.equal(undefined);
      const sso = loadConfig({
        HOME: root,
        KILN_JWT_JWKS_URL: jwks,
        KILN_JWT_ISSUER: 'https://idp.example.com/',
        KILN_JWT_AUDIENCE: 'kiln',
      }).api.sso;
      expect(sso).to.deep.equal({
        jwksUrl: jwks,
        issuer: 'https://idp.example.com/',
        audience: 'kiln',
        algorithms: ['RS256', 'ES256'],
      });
    });

    it('needs the issuer and the audience with the URL, and the URL with either', () => {
      expect(configError({ HOME: root, KILN_JWT_JWKS_URL: jwks }).problems).to.deep.equal([
        'KILN_JWT_JWKS_URL is set without KILN_JWT_ISSUER and KILN_JWT_AUDIENCE: SSO needs both',
      ]);
      expect(configError({ HOME: root, KILN_JWT_JWKS_URL: jwks, KILN_JWT_ISSUER: 'idp' }).problems).to.deep.equal([
        'KILN_JWT_JWKS_URL is set without KILN_JWT_AUDIENCE: SSO needs both',
      ]);
      expect(configError({ HOME: root, KILN_JWT_AUDIENCE: 'kiln' }).problems).to.deep.equal([
        'KILN_JWT_AUDIENCE is set without KILN_JWT_JWKS_URL: set the URL of the JWKS to turn SSO on, or unset it',
      ]);
    });

    it('takes asymmetric algorithms only: none and HS* are refused', () => {
      const base = { HOME: root, KILN_JWT_JWKS_URL: jwks, KILN_JWT_ISSUER: 'idp', KILN_JWT_AUDIENCE: 'kiln' };
      expect(loadConfig({ ...base, KILN_JWT_ALGORITHMS: ' ES384 , EdDSA,ES384' }).api.sso?.algorithms).to.deep.equal([
        'ES384',
        'EdDSA',
      ]);
      for (const refused of ['none', 'RS256,none', 'HS256', 'hs512']) {
        const [problem] = configError({ ...base, KILN_JWT_ALGORITHMS: refused }).problems;
        expect(problem).to.match(/^KILN_JWT_ALGORITHMS must list algorithms among RS256, .* cannot be verified with/);
      }
      expect(configError({ ...base, KILN_JWT_ALGORITHMS: 'RS257' }).problems[0]).to.contain('unknown RS257');
      expect(configError({ ...base, KILN_JWT_ALGORITHMS: ',' }).problems[0]).to.match(/^KILN_JWT_ALGORITHMS must list/);
    });
  });

  describe('a bad value in every variable', () => {
    // One bad value per variable and what its message must say. A variable added to the schema without a row here
    // fails the first test, so every variable's message is looked at once.
    const file = () => path.join(root, 'a-file');
    const missing = () => path.join(root, 'missing', 'file.pem');
    const cases: Record<EnvName, [() => string, RegExp]> = {
      PORT: [() => 'http', /must be an integer from 0 to 65535/],
      HOST: [() => '999.1.1.1', /must be an IP address or a host name of this machine, e\.g\. 127\.0\.0\.1/],
      KILN_TEMPORAL_UI_URL: [() => 'localhost:8233', /must be a URL like http:\/\/127\.0\.0\.1:8233/],
      KILN_GPU_FALLBACK_SECONDS: [() => '-1', /must be a positive number/],
      KILN_LOCAL_COMPUTE_MAX_CELLS: [() => '10k', /must be a non-negative integer/],
      KILN_PREDICT_BATCH_WINDOW_MS: [() => '0.5', /must be an integer from 0 to 1000/],
      KILN_PREDICT_MAX_BATCH_ROWS: [() => '0', /must be an integer from 1 to 100000/],
      KILN_MAX_SSE_CLIENTS: [() => '0', /must be a positive integer/],
      KILN_MAX_RUNNING_JOBS_PER_TENANT: [() => '0', /must be a positive integer/],
      KILN_MAX_BODY_BYTES: [() => '64MiB', /must be a positive integer/],
      KILN_MAX_ROWS: [() => '1e6', /must be a positive integer/],
      KILN_MAX_COLUMNS: [() => '0', /must be a positive integer/],
      KILN_MAX_CELLS: [() => '-5', /must be a positive integer/],
      KILN_MAX_LEVELS: [() => '1.5', /must be a positive integer/],
      KILN_MAX_TRAINING_BODY_BYTES: [() => 'lots', /must be a positive integer/],
      KILN_MAX_PREDICT_BODY_BYTES: [() => '0x10', /must be a positive integer/],
      KILN_MAX_BATCH_PREDICT_BODY_BYTES: [() => '0', /must be a positive integer/],
      KILN_MAX_REGISTRY_BODY_BYTES: [() => '1 000', /must be a positive integer/],
      KILN_MAX_PIPELINE_BODY_BYTES: [() => '99999999999999999999', /must be a positive integer/],
      KILN_MAX_TELEMETRY_BODY_BYTES: [() => '256MiB', /must be a positive integer/],
      KILN_MAX_TELEMETRY_ROWS: [() => '2e6', /must be a positive integer/],
      KILN_MAX_CONCURRENT_TELEMETRY_UPLOADS: [() => '0', /must be a positive integer/],
      KILN_TELEMETRY_IDLE_TIMEOUT_MS: [() => '30s', /must be a positive integer/],
      KILN_ALLOWED_HOSTS: [() => 'localhost, http://kiln.lan', /must be a comma-separated list of host names/],
      KILN_CORS_ORIGINS: [() => 'https://ui.example.com/app', /must be a comma-separated list of origins like https/],
      KILN_TRUST_PROXY: [() => 'yes', /must be one of true, false, 1, 0/],
      KILN_PROXY_HOPS: [() => '0', /must be a positive integer/],
      KILN_TEMPORAL_RPC_TIMEOUT_MS: [() => '5s', /must be a positive integer/],
      KILN_PG_CONNECT_TIMEOUT_MS: [() => '0', /must be a positive integer/],
      KILN_PG_QUERY_TIMEOUT_MS: [() => '-1', /must be a positive integer/],
      KILN_JWT_JWKS_URL: [() => 'idp.example.com/jwks', /must be a URL like https:\/\/idp\.example\.com\/\.well-known/],
      KILN_JWT_ISSUER: [() => 'my idp', /must be an issuer \(the tokens' exact `iss`\) without spaces/],
      KILN_JWT_AUDIENCE: [() => 'kiln api', /must be an audience \(a value of the tokens' `aud`\) without spaces/],
      KILN_JWT_ALGORITHMS: [() => 'RS256,HS256', /HS256 cannot be verified with the public keys of a JWKS/],
      KILN_RATE_LIMIT_START: [() => '120', /must be <points>\/<seconds>, e\.g\. 120\/60/],
      KILN_RATE_LIMIT_PREDICT: [() => '0/60', /must be <points>\/<seconds>/],
      KILN_RATE_LIMIT_READ: [() => '10 per 60', /must be <points>\/<seconds>/],
      KILN_RATE_LIMIT_WRITE: [() => '10/0', /must be <points>\/<seconds>/],
      KILN_RATE_LIMIT_AUTH_FAILURES: [() => '60', /must be <points>\/<seconds>/],
      DATABASE_URL: [() => 'mysql://kiln:hunter2@db/kiln', /must be a URL like postgres:\/\/user:password@host/],
      TEMPORAL_ADDRESS: [() => 'http://temporal:7233', /must be host:port \(no scheme, no spaces\), e\.g\. 127/],
      TEMPORAL_NAMESPACE: [() => 'my namespace', /must be a namespace name without spaces or line breaks/],
      TEMPORAL_API_KEY: [() => 'hunter2 extra', /must be an API key without spaces or line breaks/],
      TEMPORAL_TLS: [() => 'yes', /must be one of true, false, 1, 0/],
      TEMPORAL_TLS_CLIENT_CERT_PATH: [
        missing,
        /must be the path of a readable file \(a PEM certificate\): it does not/,
      ],
      TEMPORAL_TLS_CLIENT_CERT_DATA: [() => 'MIIBhunter2', /must be PEM text \(-----BEGIN CERTIFICATE----- \.\.\.\)/],
      TEMPORAL_TLS_CLIENT_KEY_PATH: [
        () => root,
        /must be the path of a readable file \(a PEM private key\): it is not a/,
      ],
      TEMPORAL_TLS_CLIENT_KEY_DATA: [() => 'hunter2', /must be PEM text \(-----BEGIN PRIVATE KEY----- \.\.\.\)/],
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: [missing, /must be the path of a readable file \(a PEM CA certificate\)/],
      TEMPORAL_TLS_SERVER_CA_CERT_DATA: [() => 'not pem', /must be PEM text/],
      TEMPORAL_TLS_SERVER_NAME: [() => 'tmprl cloud', /must be a host name \(the one in the server's certificate\)/],
      TEMPORAL_CONFIG_FILE: [missing, /must be the path of a readable file \(a temporal\.toml\): it does not exist/],
      TEMPORAL_PROFILE: [() => 'my profile', /must be a profile name without spaces or line breaks/],
      KILN_LOG_LEVEL: [() => 'loud', /must be one of fatal, error, warn, info, debug, trace, silent/],
      KILN_LOG_FORMAT: [() => 'xml', /must be one of auto, pretty, json/],
      KILN_POOL: [() => 'tpu', /must be one of cpu, gpu/],
      KILN_GPU_DEVICE: [() => '-1', /must be a non-negative integer/],
      KILN_GPU_MEMORY_BUDGET_MB: [() => '8GB', /must be a positive integer/],
      KILN_WORKER_CONCURRENCY: [() => '0', /must be a positive integer/],
      KILN_TELEMETRY_INTERVAL_MS: [() => '5s', /must be a positive integer/],
      KILN_TEST_EVALUATION_DELAY_MS: [() => '-1', /must be a non-negative integer/],
      KILN_WORKER_METRICS_PORT: [() => '65536', /must be an integer from 0 to 65535/],
      KILN_DECLARED_GPUS: [() => '[{"name":"T4"}]', /^KILN_DECLARED_GPUS\[0\]: memoryTotalMb must be a positive/],
      KILN_BACKEND: [() => 'cuda', /must be one of tfjs-node-gpu, tfjs-node, wasm, cpu/],
      KILN_KMEANS_THREADS: [() => 'all', /must be a positive integer/],
      KILN_DATA_DIR: [file, /must be a directory \(or not exist yet\), but it is a file/],
      KILN_CACHE_DIR: [
        () => path.join(file(), 'sub'),
        /must be a directory \(or not exist yet\), but a parent is a file/,
      ],
      KILN_POSTGRES_PORT: [() => '0', /must be an integer from 1 to 65535/],
      KILN_TEMPORAL_PORT: [() => '70000', /must be an integer from 1 to 65535/],
      KILN_TEMPORAL_UI_PORT: [() => 'ui', /must be an integer from 1 to 65535/],
      TEMPORAL_CLI: [file, /must be the path of an executable \(the Temporal CLI\): permission denied/],
      KILN_CHROMIUM: [missing, /must be the path of an executable \(Chromium, for the browser tests\)/],
      CHROMIUM_PATH: [file, /must be the path of an executable \(Chromium, for the browser tests\): permission denied/],
    };

    it('has a case for every variable of the schema', () => {
      expect(Object.keys(cases).sort()).to.deep.equal([...ENV_NAMES].sort());
    });

    for (const name of ENV_NAMES) {
      it(`${name}: names the variable and what it expects${SECRET_ENV_NAMES.has(name) ? ', never the secret' : ''}`, () => {
        fs.writeFileSync(file(), 'not a program\n', { mode: 0o644 });
        const [value, expected] = cases[name];
        const raw = value();
        const err = configError({ HOME: root, [name]: raw });
        expect(err.problems).to.have.length(1);
        const problem = err.problems[0]!;
        expect(problem.startsWith(`${name} `) || problem.startsWith(`${name}[`), problem).to.equal(true);
        expect(problem).to.match(expected);
        if (SECRET_ENV_NAMES.has(name)) {
          expect(err.message).to.not.contain('hunter2');
          expect(problem).to.not.contain('got');
        } else if (name !== 'KILN_DECLARED_GPUS') {
          expect(problem.endsWith(`, got ${JSON.stringify(raw)}`), problem).to.equal(true);
        }
      });
    }

    it('accepts the usual listen hosts and Temporal addresses', () => {
      for (const host of ['127.0.0.1', '0.0.0.0', '::', '::1', 'localhost', 'api.internal', 'kiln_api'])
        expect(loadConfig({ HOME: root, HOST: host }).api.host).to.equal(host);
      for (const address of ['temporal:7233', 'ns.acct.tmprl.cloud:7233', '10.0.0.5:7233', '[::1]:7233', 'kiln_t:7233'])
        expect(loadConfig({ HOME: root, TEMPORAL_ADDRESS: address }).temporal.address).to.equal(address);
      expect(configError({ HOME: root, TEMPORAL_ADDRESS: 'temporal:0' }).problems[0]).to.match(
        /^TEMPORAL_ADDRESS must/,
      );
      expect(configError({ HOME: root, HOST: '[::1]' }).problems[0]).to.match(/^HOST must be an IP address/);
    });

    it('quotes at most 60 characters of a value', () => {
      const long = `not a pem ${'A'.repeat(500)}`;
      const [problem] = configError({ HOME: root, TEMPORAL_TLS_CLIENT_CERT_DATA: long }).problems;
      expect(problem).to.contain(`got "${long.slice(0, 60)}…"`);
      expect(problem!.length).to.be.below(200);
    });
  });

  it('lists every variable once', () => {
    expect(new Set(ENV_NAMES).size).to.equal(ENV_NAMES.length);
    expect(Object.keys(parseEnv({}))).to.include.members(['PORT', 'KILN_LOG_LEVEL', 'KILN_MAX_ROWS']);
  });
});

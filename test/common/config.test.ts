import { expect } from 'chai';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, ENV_NAMES, loadConfig, parseEnv, requireDatabaseUrl } from '../../common/config';
import { DEFAULT_BODY_LIMITS } from '../../common/body-limits';
import { DEFAULT_LIMITS } from '../../common/dataset-limits';
import { describeFlags, FlagError, parseFlags } from '../../common/flags';
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
      limits: DEFAULT_LIMITS,
      bodyLimits: DEFAULT_BODY_LIMITS,
      browser: { allowedHosts: ['localhost', '127.0.0.1', '[::1]'], corsOrigins: [] },
      timeouts: { temporalRpcMs: 5000, postgresConnectMs: 2000, postgresQueryMs: 5000 },
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
    expect(() => api({ KILN_PG_QUERY_TIMEOUT_MS: '0' })).to.throw(
      /KILN_PG_QUERY_TIMEOUT_MS must be a positive integer/,
    );
  });

  it('reads every kind of value, trimming and treating blank as unset', () => {
    const config = loadConfig({
      HOME: root,
      PORT: ' 8080 ',
      HOST: '',
      DATABASE_URL: 'postgres://kiln:pw@db:5432/kiln',
      KILN_GPU_FALLBACK_SECONDS: '2.5',
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
      TEMPORAL_CLI: '/opt/temporal',
    });
    expect(config.api).to.include({ port: 8080, host: '127.0.0.1', gpuFallbackSeconds: 2.5 });
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
      temporalCli: '/opt/temporal',
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

  it('lists every variable once', () => {
    expect(new Set(ENV_NAMES).size).to.equal(ENV_NAMES.length);
    expect(Object.keys(parseEnv({}))).to.include.members(['PORT', 'KILN_LOG_LEVEL', 'KILN_MAX_ROWS']);
  });
});

describe('common/flags', () => {
  const spec = { pool: 'cpu|gpu', device: 'N' } as const;

  it('reads --name VALUE and --name=VALUE', () => {
    expect(parseFlags(['--pool', 'gpu', '--device=2'], spec)).to.deep.equal({ pool: 'gpu', device: '2' });
    expect(parseFlags([], spec)).to.deep.equal({});
  });

  it('refuses an unknown flag, listing the valid ones', () => {
    expect(() => parseFlags(['--devcie', '1'], spec)).to.throw(
      FlagError,
      /^unknown flag --devcie; valid flags: --pool cpu\|gpu, --device N$/,
    );
    expect(() => parseFlags(['--port', '1'], {})).to.throw(FlagError, /^unknown flag --port; valid flags: none/);
    expect(describeFlags({})).to.match(/environment variables/);
  });

  it('refuses a flag without its value and a positional argument', () => {
    expect(() => parseFlags(['--pool'], spec)).to.throw(FlagError, /--pool.*valid flags/);
    expect(() => parseFlags(['gpu'], spec)).to.throw(FlagError, /^unexpected argument "gpu"/);
  });
});

import { expect } from 'chai';
import { Writable } from 'node:stream';
import { loadConfig } from '../../common/config';
import { createLogger, resolveLogFormat } from '../../common/logger';
import { redactUrl } from '../../common/redact';

/** A logger writing into memory, and what it wrote (each JSON line parsed). */
function memoryLogger(level: 'info' | 'warn' = 'info') {
  const written: string[] = [];
  const log = createLogger({ level, destination: { write: (chunk: string) => void written.push(chunk) } });
  return { log, text: () => written.join(''), entries: () => written.map((line) => JSON.parse(line)) };
}

describe('common/logger', () => {
  it('writes one JSON object per line without a terminal, with level, time, pid and the bound fields', () => {
    const { log, entries } = memoryLogger();
    log.child({ component: 'api' }).info({ queues: ['kiln-cpu'] }, 'worker ready');
    const [entry] = entries();
    expect(entry).to.include({ level: 30, component: 'api', msg: 'worker ready', pid: process.pid });
    expect(entry.queues).to.deep.equal(['kiln-cpu']);
    expect(entry.time).to.be.a('number');
  });

  it('drops lines below its level', () => {
    const { log, entries } = memoryLogger('warn');
    log.info('not shown');
    log.warn('shown');
    expect(entries().map((e) => e.msg)).to.deep.equal(['shown']);
  });

  it('is pretty in a terminal and JSON otherwise, unless KILN_LOG_FORMAT says', () => {
    expect(resolveLogFormat('auto', true)).to.equal('pretty');
    expect(resolveLogFormat('auto', false)).to.equal('json');
    expect(resolveLogFormat('json', true)).to.equal('json');
    expect(resolveLogFormat('pretty', false)).to.equal('pretty');
  });

  it('renders pretty lines with the component and module, no JSON', async () => {
    let text = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    const log = createLogger({ format: 'pretty', destination: sink });
    log.child({ component: 'worker', module: 'telemetry' }).warn({ device: 0 }, 'sample failed');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(text).to.match(/WARN.*\[worker\/telemetry\] sample failed.*"device":0/);
    expect(() => JSON.parse(text)).to.throw();
  });

  describe('secrets', () => {
    const password = 's3cret-pw';
    const apiKey = 'tk-api-key-123';
    const databaseUrl = `postgres://kiln:${password}@db:5432/kiln`;

    it('never logs the database password or an API key from the configuration', () => {
      const { log, text } = memoryLogger();
      const config = loadConfig({ DATABASE_URL: databaseUrl, TEMPORAL_API_KEY: apiKey, TEMPORAL_ADDRESS: 'x:7233' });
      log.info({ config }, 'configuration');
      log.info({ env: { DATABASE_URL: databaseUrl, TEMPORAL_API_KEY: apiKey } }, 'environment');
      log.info({ databaseUrl }, 'using DATABASE_URL');
      expect(text()).to.not.contain(password).and.not.contain(apiKey);
      expect(text()).to.contain('postgres://kiln:***@db:5432/kiln').and.contain('[redacted]');
    });

    it('masks credentials in URLs inside messages and errors', () => {
      const { log, text } = memoryLogger();
      log.info(`connecting to ${databaseUrl}`);
      log.error({ err: new Error(`cannot reach ${databaseUrl}`) }, 'failed');
      expect(text()).to.not.contain(password);
      expect(text()).to.contain('cannot reach postgres://kiln:***@db:5432/kiln');
    });

    it('never logs an authorization header or cookie', () => {
      const { log, text } = memoryLogger();
      log.info({ req: { headers: { authorization: `Bearer ${apiKey}`, cookie: `session=${apiKey}` } } }, 'request');
      log.info({ headers: { authorization: `Basic ${apiKey}` } }, 'request');
      expect(text()).to.not.contain(apiKey);
    });

    it('redactUrl masks only the password', () => {
      expect(redactUrl(databaseUrl)).to.equal('postgres://kiln:***@db:5432/kiln');
      expect(redactUrl('see http://a:b@h/x and https://h/y')).to.equal('see http://a:***@h/x and https://h/y');
      expect(redactUrl('postgres://db:5432/kiln')).to.equal('postgres://db:5432/kiln');
    });
  });
});

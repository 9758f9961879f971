import { expect } from 'chai';
import { Server } from 'node:http';
import { AddressInfo } from 'node:net';
import Koa from 'koa';
import { errorHandler } from '../../api/middleware/error-handler';
import { REQUEST_ID_HEADER, RequestLogState, requestId } from '../../api/middleware/request-id';
import { createLogger } from '../../common/logger';

describe('api request ids', () => {
  const logged: Array<Record<string, any>> = [];
  let server: Server;
  let base: string;

  before(async () => {
    const log = createLogger({
      level: 'debug',
      destination: { write: (line: string) => void logged.push(JSON.parse(line)) },
    });
    const app = new Koa();
    app.use(requestId(log));
    app.use(errorHandler(log));
    app.use(async (ctx) => {
      if (ctx.path === '/boom') throw new Error('kaboom');
      const state = ctx.state as RequestLogState;
      state.log.info('handled');
      ctx.body = { requestId: state.requestId };
    });
    server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => (logged.length = 0));

  it("takes the caller's X-Request-Id, echoes it and logs with it", async () => {
    const res = await fetch(`${base}/ok`, { headers: { [REQUEST_ID_HEADER]: 'trace-42.a:b' } });
    expect(res.headers.get(REQUEST_ID_HEADER)).to.equal('trace-42.a:b');
    expect(await res.json()).to.deep.equal({ requestId: 'trace-42.a:b' });
    expect(logged.find((l) => l.msg === 'handled')).to.include({ requestId: 'trace-42.a:b' });
    expect(logged.find((l) => l.msg === 'request')).to.include({ requestId: 'trace-42.a:b', status: 200, path: '/ok' });
  });

  it('generates one when the header is absent or unusable', async () => {
    const plain = await fetch(`${base}/ok`);
    const generated = plain.headers.get(REQUEST_ID_HEADER);
    expect(generated).to.match(/^[0-9a-f-]{36}$/);
    const odd = await fetch(`${base}/ok`, { headers: { [REQUEST_ID_HEADER]: 'x'.repeat(200) } });
    expect(odd.headers.get(REQUEST_ID_HEADER))
      .to.match(/^[0-9a-f-]{36}$/)
      .and.not.equal(generated);
  });

  it('logs an unexpected error with the request id and its stack, and still answers with the id', async () => {
    const res = await fetch(`${base}/boom`, { headers: { [REQUEST_ID_HEADER]: 'req-boom' } });
    expect(res.status).to.equal(500);
    expect(res.headers.get(REQUEST_ID_HEADER)).to.equal('req-boom');
    expect(((await res.json()) as { error: { message: string } }).error.message).to.not.contain('kaboom');
    const line = logged.find((l) => l.level === 50)!;
    expect(line).to.include({ requestId: 'req-boom', method: 'GET', path: '/boom' });
    expect(line.err.message).to.equal('kaboom');
    expect(line.err.stack).to.contain('request-id.test');
  });
});

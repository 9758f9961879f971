import { expect } from 'chai';
import { Server } from 'node:http';
import { AddressInfo } from 'node:net';
import Koa from 'koa';
import { REQUEST_ID_HEADER, requestId } from '../../api/middleware/request-id';
import { createLogger } from '../../common/logger';

/** A key sent as X-Request-Id (the wrong header) is neither echoed nor logged: a fresh id replaces it. */
describe('api request ids that look like keys', () => {
  const lines: string[] = [];
  let server: Server;
  let base: string;

  before(async () => {
    const log = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
    const app = new Koa();
    app.use(requestId(log));
    app.use((ctx) => {
      ctx.body = { requestId: ctx.state.requestId as string };
    });
    server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const secret = 'LSN5abcDEFghijklmnop0123456789ABCDEFGHIJKLM';
  for (const id of [
    `kiln_0123456789abcdef_${secret}`,
    `KILN_0123456789abcdef_${secret}`,
    `trace-kiln_0123456789abcdef_${secret}`,
    `Kiln_${secret}`,
  ]) {
    it(`replaces ${id.slice(0, 22)}...`, async () => {
      lines.length = 0;
      const res = await fetch(`${base}/ok`, { headers: { [REQUEST_ID_HEADER]: id } });
      const echoed = res.headers.get(REQUEST_ID_HEADER);
      expect(echoed).to.match(/^[0-9a-f-]{36}$/);
      expect(await res.json()).to.deep.equal({ requestId: echoed });
      expect(lines.length).to.be.greaterThan(0);
      for (const line of lines) expect(line).to.not.include(secret);
    });
  }

  it('still takes an ordinary id', async () => {
    const res = await fetch(`${base}/ok`, { headers: { [REQUEST_ID_HEADER]: 'kilnworks-trace.42' } });
    expect(res.headers.get(REQUEST_ID_HEADER)).to.equal('kilnworks-trace.42');
  });
});

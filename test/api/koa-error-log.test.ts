import { expect } from 'chai';
import { Writable } from 'node:stream';
import { createLogger } from '../../common/logger';
import { isClientAbort, koaErrorLogger } from '../../api/middleware/koa-error-log';

/** A JSON logger at debug whose lines land in `lines`. */
function capture() {
  const lines: Array<{ level: number; msg: string }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, log: createLogger({ level: 'debug', format: 'json', destination }) };
}

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe("Koa's error event: client aborts are routine", () => {
  it('logs a reset or a premature close at debug, anything else at error', async () => {
    const { lines, log } = capture();
    const listener = koaErrorLogger(log);
    listener(withCode('read ECONNRESET', 'ECONNRESET'));
    listener(withCode('Premature close', 'ERR_STREAM_PREMATURE_CLOSE'));
    listener(withCode('write EPIPE', 'EPIPE'));
    listener(new Error('a real failure'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((l) => l.level)).to.deep.equal([20, 20, 20, 50]);
    expect(lines[3].msg).to.equal('api error');
  });

  it('tells an abort by its code only', () => {
    expect(isClientAbort(withCode('x', 'ECONNRESET'))).to.equal(true);
    expect(isClientAbort(withCode('x', 'ENOENT'))).to.equal(false);
    expect(isClientAbort(new Error('read ECONNRESET'))).to.equal(false);
    expect(isClientAbort(undefined)).to.equal(false);
  });
});

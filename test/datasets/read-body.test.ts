import { Readable } from 'node:stream';
import { DomainError, PayloadTooLargeError } from '../../common/errors';
import { httpStatusOf } from '../../api/middleware/error-handler';
import { limitedStream, readBodyLimited, readLines } from '../../datasets/read-body';

// chai 6 is ESM-only and ships no type declarations; Node 20 loads it with require().
const { expect } = require('chai') as { expect: any }; // eslint-disable-line @typescript-eslint/no-require-imports

async function* chunks(...parts: Array<string | Uint8Array>): AsyncGenerator<string | Uint8Array> {
  for (const part of parts) yield part;
}

async function rejection(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error('expected a rejection, but it resolved');
}

async function allLines(source: AsyncIterable<string | Uint8Array>, max = 1 << 20): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of readLines(source, max)) out.push(...batch);
  return out;
}

describe('datasets/read-body', () => {
  describe('readBodyLimited', () => {
    it('concatenates Buffer, Uint8Array and string chunks', async () => {
      const body = await readBodyLimited(chunks(Buffer.from('ab'), new Uint8Array([99]), 'dé'), 100);
      expect(body.toString('utf8')).to.equal('abcdé');
    });

    it('accepts a body of exactly maxBytes', async () => {
      const body = await readBodyLimited(chunks('12345', '67890'), 10);
      expect(body.length).to.equal(10);
    });

    it('refuses one byte more with 413, naming the body and the limit', async () => {
      const err = await rejection(readBodyLimited(chunks('12345', '678901'), 10));
      expect(err).to.be.instanceOf(PayloadTooLargeError);
      expect(httpStatusOf(err)).to.equal(413);
      expect(err.field).to.equal('body');
      expect(err.message).to.contain('10 bytes');
    });

    it('counts bytes, not characters', async () => {
      const err = await rejection(readBodyLimited(chunks('éééé'), 6)); // 8 bytes
      expect(httpStatusOf(err)).to.equal(413);
    });

    it('stops an endless source as soon as the limit is crossed, and closes it', async () => {
      let pulled = 0;
      let closed = false;
      async function* endless(): AsyncGenerator<Buffer> {
        try {
          for (;;) {
            pulled++;
            yield Buffer.alloc(1024, 120);
          }
        } finally {
          closed = true;
        }
      }
      const err = await rejection(readBodyLimited(endless(), 64 * 1024));
      expect(httpStatusOf(err)).to.equal(413);
      expect(pulled).to.equal(65);
      expect(closed).to.equal(true);
    });

    it('refuses a declared Content-Length over the limit before reading anything', async () => {
      let read = false;
      const request = {
        headers: { 'content-length': '5000' },
        async *[Symbol.asyncIterator]() {
          read = true;
          yield Buffer.from('x');
        },
      };
      const err = await rejection(readBodyLimited(request, 1000));
      expect(httpStatusOf(err)).to.equal(413);
      expect(read).to.equal(false);
    });

    it('leaves a Node stream undestroyed when it stops early (so an HTTP response can still be sent)', async () => {
      const stream = new Readable({ read() {} });
      stream.push(Buffer.alloc(600));
      stream.push(Buffer.alloc(600));
      const err = await rejection(readBodyLimited(stream, 1000));
      expect(httpStatusOf(err)).to.equal(413);
      expect(stream.destroyed).to.equal(false);
      stream.destroy();
    });

    it('reads a Node Readable to the end', async () => {
      const body = await readBodyLimited(Readable.from([Buffer.from('a,b\n'), Buffer.from('1,2\n')]), 100);
      expect(body.toString()).to.equal('a,b\n1,2\n');
    });
  });

  describe('limitedStream', () => {
    it('passes chunks through as Buffers', async () => {
      const seen: Buffer[] = [];
      for await (const chunk of limitedStream(chunks('ab', Buffer.from('cd')), 4)) seen.push(chunk);
      expect(seen.every((c) => Buffer.isBuffer(c))).to.equal(true);
      expect(Buffer.concat(seen).toString()).to.equal('abcd');
    });

    it('does not yield the chunk that crosses the limit', async () => {
      const seen: string[] = [];
      const err = await rejection(
        (async () => {
          for await (const chunk of limitedStream(chunks('aaa', 'bbb', 'ccc'), 7)) seen.push(chunk.toString());
        })(),
      );
      expect(httpStatusOf(err)).to.equal(413);
      expect(seen).to.deep.equal(['aaa', 'bbb']);
    });
  });

  describe('readLines', () => {
    it('splits lines across chunk boundaries, LF and CRLF alike', async () => {
      expect(await allLines(chunks('a,b\r', '\n1,2\n3', ',4\r\n5,6'))).to.deep.equal(['a,b', '1,2', '3,4', '5,6']);
    });

    it('does not add an empty line for a final newline, but keeps inner empty lines', async () => {
      expect(await allLines(chunks('a\n\nb\n'))).to.deep.equal(['a', '', 'b']);
    });

    it('drops a byte-order mark and decodes UTF-8 split between chunks', async () => {
      const bytes = Buffer.from('\ufeffnom\nrésumé,日本\n', 'utf8');
      const oneByteChunks = Array.from(bytes, (b) => Buffer.from([b]));
      expect(await allLines(chunks(...oneByteChunks))).to.deep.equal(['nom', 'résumé,日本']);
    });

    it('joins a long line that arrives in many chunks', async () => {
      const parts = Array.from({ length: 2000 }, () => 'x'.repeat(100));
      const lines = await allLines(chunks(...parts, '\nend'), 1 << 22);
      expect(lines).to.have.length(2);
      expect(lines[0]).to.have.length(200_000);
      expect(lines[1]).to.equal('end');
    });

    it('enforces the byte limit', async () => {
      const err = await rejection(allLines(chunks('a\n', 'b'.repeat(100)), 50));
      expect(httpStatusOf(err)).to.equal(413);
      expect(err.field).to.equal('body');
    });
  });
});

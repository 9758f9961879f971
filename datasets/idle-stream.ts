import { Readable } from 'node:stream';
import { RequestTimeoutError } from '../common/errors';
import type { ByteSource } from './read-body';

/**
 * Passes `source`'s chunks through, and throws RequestTimeoutError (408, field `body`) when no chunk (nor the end)
 * arrives for `idleMs` milliseconds: a client that stops sending without closing would otherwise hold whatever the
 * reader holds (a database transaction) until the server's request timeout.
 *
 * After a timeout the source is neither read on nor destroyed (destroying a request resets the socket and the client
 * never sees the 408): the pending read settles when the connection closes (the 408 carries `Connection: close`).
 */
export async function* idleLimitedStream(
  source: ByteSource,
  idleMs: number,
): AsyncGenerator<Uint8Array | string, void, undefined> {
  const it = source instanceof Readable ? source.iterator({ destroyOnReturn: false }) : source[Symbol.asyncIterator]();
  let settled = false;
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new RequestTimeoutError(`body: no data received for ${idleMs} ms; nothing was stored`)),
          idleMs,
        );
      });
      let next: IteratorResult<Uint8Array | string>;
      try {
        next = await Promise.race([it.next(), idle]);
      } catch (err) {
        // A read still pending cannot be returned (return() would wait for it): leave it to the connection's close.
        if (err instanceof RequestTimeoutError) settled = true;
        throw err;
      } finally {
        clearTimeout(timer);
      }
      if (next.done) {
        settled = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!settled && it.return) await it.return();
  }
}

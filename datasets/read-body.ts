/**
 * Reading a request body (or any byte stream) with a byte limit enforced while reading: the limit is checked on every
 * chunk, and the read stops with a PayloadTooLargeError as soon as it is crossed, before the over-limit chunk is used.
 *
 * Stopping early (over the limit, or because a parser rejected the data) does not destroy a Node stream source: for an
 * HTTP request, destroying it would reset the socket and the client would never see the 413/400. The request is left
 * unread; Node's HTTP server discards the rest after the response (send `Connection: close` with a 413 to stop
 * reading it at all). Other sources (generators, iterators) are closed with `return()`.
 */
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { PayloadTooLargeError } from '../common/errors';
import { formatBytes } from './limits';

/** What the readers accept: an HTTP request, any Readable, or an async iterable of chunks. */
export type ByteSource = AsyncIterable<Uint8Array | string>;

/** The field that body-level errors name. */
export const BODY_FIELD = 'body';

function tooLarge(maxBytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`request body exceeds the limit of ${formatBytes(maxBytes)}`, BODY_FIELD);
}

function toBuffer(chunk: unknown): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`body stream yielded a ${typeof chunk}, expected Buffer, Uint8Array or string chunks`);
}

/**
 * A declared Content-Length over the limit is refused (PayloadTooLargeError, field `body`) before anything is read;
 * a no-op for a source without headers.
 */
export function checkDeclaredLength(source: ByteSource, maxBytes: number): void {
  const headers = (source as { headers?: Record<string, unknown> }).headers;
  const declared = headers?.['content-length'];
  if (typeof declared === 'string' && /^\d+$/.test(declared) && Number(declared) > maxBytes) throw tooLarge(maxBytes);
}

function iteratorOf(source: ByteSource): AsyncIterator<Uint8Array | string> {
  if (source instanceof Readable) return source.iterator({ destroyOnReturn: false });
  return source[Symbol.asyncIterator]();
}

/**
 * Passes `source`'s chunks through as Buffers (strings are UTF-8 encoded) and throws PayloadTooLargeError (field
 * `body`) as soon as more than `maxBytes` bytes in total have arrived; the chunk that crossed the limit is not
 * yielded. If the source is an HTTP request whose Content-Length already exceeds the limit, it throws before reading.
 */
export async function* limitedStream(source: ByteSource, maxBytes: number): AsyncGenerator<Buffer, void, undefined> {
  checkDeclaredLength(source, maxBytes);
  const it = iteratorOf(source);
  let finished = false;
  let total = 0;
  try {
    for (;;) {
      const next = await it.next();
      if (next.done) {
        finished = true;
        return;
      }
      const chunk = toBuffer(next.value);
      total += chunk.length;
      if (total > maxBytes) throw tooLarge(maxBytes);
      if (chunk.length > 0) yield chunk;
    }
  } finally {
    if (!finished && it.return) await it.return();
  }
}

/** The whole body as one Buffer, refusing (PayloadTooLargeError, field `body`) as soon as it grows past `maxBytes`. */
export async function readBodyLimited(source: ByteSource, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of limitedStream(source, maxBytes)) {
    chunks.push(chunk);
    total += chunk.length;
  }
  return Buffer.concat(chunks, total);
}

/**
 * The body's text lines, streamed in batches (one array per chunk read, so a caller pays one await per chunk, not per
 * line), under the same byte limit as limitedStream. UTF-8 is decoded across chunk boundaries; a leading byte-order
 * mark is dropped; lines end at `\n`, and a `\r` before it is dropped (LF and CRLF files give the same lines). A final
 * line without a newline is returned; a final newline does not make an extra empty line. Linear in the body size even
 * for a single huge line.
 */
export async function* readLines(source: ByteSource, maxBytes: number): AsyncGenerator<string[], void, undefined> {
  const decoder = new StringDecoder('utf8');
  let pending: string[] = [];
  let atStart = true;
  const take = (text: string): string[] | undefined => {
    if (atStart && text.length > 0) {
      atStart = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (text.indexOf('\n') === -1) {
      if (text.length > 0) pending.push(text);
      return undefined;
    }
    const lines = text.split('\n');
    const last = lines.pop() as string;
    if (pending.length > 0) {
      pending.push(lines[0]);
      lines[0] = pending.join('');
      pending = [];
    }
    if (last.length > 0) pending.push(last);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (line.length > 0 && line.charCodeAt(line.length - 1) === 13) lines[i] = line.slice(0, -1);
    }
    return lines;
  };
  for await (const chunk of limitedStream(source, maxBytes)) {
    const lines = take(decoder.write(chunk));
    if (lines) yield lines;
  }
  const tail = take(decoder.end());
  if (tail) yield tail;
  if (pending.length > 0) {
    const line = pending.join('');
    yield [line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line];
  }
}

/** One Server-Sent Events message as an EventSource would dispatch it. */
export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

/** An open event stream, parsed as it arrives (the WHATWG event-stream grammar: fields, comments, blank lines). */
export interface SseStream {
  status: number;
  headers: Headers;
  messages: SseMessage[];
  /** Comment lines received (`:` keep-alives). */
  comments: number;
  /** The `retry:` field, when one came. */
  retryMs?: number;
  /** Resolves when the server ends the stream (or it is aborted); rejects on a network error. */
  closed: Promise<void>;
  /** Resolves once `predicate` holds for the messages so far (checked on every message); rejects past `timeoutMs`. */
  waitFor(predicate: (messages: SseMessage[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Disconnects (as a client going away). */
  abort(): void;
}

/**
 * Opens `url` as an event stream with fetch (the client a test controls byte for byte: headers, reconnects). A non-200
 * answer resolves with its status and no messages; its body is left in `headers`/`status` only.
 */
export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const waiters: Array<() => void> = [];
  const stream: SseStream = {
    status: res.status,
    headers: res.headers,
    messages: [],
    comments: 0,
    closed: Promise.resolve(),
    waitFor(predicate, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`stream condition not met in ${timeoutMs} ms: ${JSON.stringify(stream.messages)}`)),
          timeoutMs,
        );
        const check = () => {
          if (!predicate(stream.messages)) return false;
          clearTimeout(timer);
          resolve();
          return true;
        };
        if (!check()) waiters.push(() => void check());
      });
    },
    abort: () => controller.abort(),
  };
  if (res.status !== 200 || !res.body) {
    await res.body?.cancel();
    return stream;
  }
  const body = res.body;
  stream.closed = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    let current: { id?: string; event?: string; data: string[] } = { data: [] };
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
          if (line === '') {
            if (current.data.length > 0) {
              stream.messages.push({
                ...(current.id !== undefined ? { id: current.id } : {}),
                event: current.event ?? 'message',
                data: current.data.join('\n'),
              });
              for (const waiter of [...waiters]) waiter();
            }
            current = { data: [] };
            continue;
          }
          if (line.startsWith(':')) {
            stream.comments++;
            continue;
          }
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'data') current.data.push(value);
          else if (field === 'event') current.event = value;
          else if (field === 'id') current.id = value;
          else if (field === 'retry') stream.retryMs = Number(value);
        }
      }
    } catch (err) {
      if (!controller.signal.aborted) throw err;
    }
  })();
  // A test that never awaits `closed` (it aborted) must not leave an unhandled rejection behind.
  stream.closed.catch(() => undefined);
  return stream;
}

/** The events of an SSE stream's messages, parsed (`data` is the JSON event `{seq, jobId, type, at, data}`). */
export function eventsOf(
  messages: SseMessage[],
): Array<{ seq: number; jobId: string; type: string; at: string; data: any }> {
  return messages.map((m) => JSON.parse(m.data));
}

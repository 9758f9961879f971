import { randomUUID } from 'node:crypto';
import { Middleware } from 'koa';
import type { Logger } from '../../common/logger';

/** The header a caller (or a proxy in front) may set to correlate its request with the API's log lines. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

// Safe to echo and to log verbatim: no spaces, quotes or control characters, bounded length.
const ACCEPTED_ID = /^[A-Za-z0-9._:-]{1,128}$/;
// An id that may be an API key (pasted into the wrong header) is neither echoed nor logged: a fresh one replaces it.
const LOOKS_LIKE_KEY = /kiln(_|%5f)/i;

/** The caller's id when it is safe to echo and log (ACCEPTED_ID, nothing like a key), else a fresh UUID. */
function idFor(incoming: string): string {
  return ACCEPTED_ID.test(incoming) && !LOOKS_LIKE_KEY.test(incoming) ? incoming : randomUUID();
}

/** What requestId() puts on ctx.state for the middleware and routes after it. */
export interface RequestLogState {
  requestId: string;
  /** `log` with `requestId` bound: every line about this request carries it. */
  log: Logger;
}

/**
 * Outermost: takes the request's `X-Request-Id` (when it is 1-128 characters of `[A-Za-z0-9._:-]` and does not
 * contain `kiln_` or `kiln%5F`, any case: a key sent in the wrong header) or generates a UUID, puts it and a child
 * logger carrying it on ctx.state (RequestLogState), and echoes it in the response's `X-Request-Id` header, error
 * responses included. Each completed request is logged at debug level.
 */
export function requestId(log: Logger): Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get(REQUEST_ID_HEADER);
    const id = idFor(incoming);
    // The child logger is made on first use: building one (pino's bindings and redaction) costs more than a small
    // request's own work, and most requests log nothing.
    let child: Logger | undefined;
    const requestLog = () => (child ??= log.child({ requestId: id }));
    ctx.state.requestId = id;
    Object.defineProperty(ctx.state, 'log', { get: requestLog, enumerable: true, configurable: true });
    ctx.set(REQUEST_ID_HEADER, id);
    const started = performance.now();
    try {
      await next();
    } finally {
      if (log.isLevelEnabled('debug'))
        requestLog().debug(
          { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(performance.now() - started) },
          'request',
        );
    }
  };
}

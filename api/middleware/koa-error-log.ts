import type { Context } from 'koa';
import type { Logger } from '../../common/logger';
import type { RequestLogState } from './request-id';

/** Error codes of a connection the client closed or reset mid-response: routine, not a fault of the API. */
const CLIENT_ABORT_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_STREAM_DESTROYED',
]);

/** Whether `err` says the client went away (a closed tab, a cancelled download) rather than the API failing. */
export function isClientAbort(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CLIENT_ABORT_CODES.has(code);
}

/**
 * The listener for Koa's 'error' event (what the error mapper cannot catch: a response stream failing after its
 * headers went out), through the request's logger when there is one: a client abort at debug, anything else at error.
 */
export function koaErrorLogger(log: Logger): (err: Error, ctx?: Context) => void {
  return (err, ctx) => {
    const requestLog = (ctx?.state as Partial<RequestLogState> | undefined)?.log ?? log;
    const where = ctx ? { method: ctx.method, path: ctx.path } : {};
    if (isClientAbort(err)) requestLog.debug({ err, ...where }, 'client closed the connection');
    else requestLog.error({ err, ...where }, 'api error');
  };
}

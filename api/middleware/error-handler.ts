import { Middleware } from 'koa';
import { AppError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { RequestLogState } from './request-id';

interface HttpErrorLike {
  status?: number;
  expose?: boolean;
  message: string;
  headers?: Record<string, string>;
}

/**
 * Maps typed errors to `{ error: { code, message, field? } }`. Client errors keep their 4xx; anything unexpected
 * becomes a 500 without internals and is logged with its stack through the request's logger (ctx.state.log from
 * requestId(), so the line carries the request id the client saw), else through `log`.
 */
export function errorHandler(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      if (err instanceof AppError) {
        ctx.status = err.status;
        ctx.body = err.toJSON();
        // The rest of an oversized body was never read; closing spares draining it.
        if (err.status === 413) ctx.set('Connection', 'close');
        return;
      }
      const httpError = err as HttpErrorLike;
      if (httpError.status && httpError.status >= 400 && httpError.status < 500 && httpError.expose) {
        ctx.status = httpError.status;
        if (httpError.headers) ctx.set(httpError.headers);
        ctx.body = { error: { code: httpCode(httpError.status), message: httpError.message } };
        return;
      }
      ctx.status = 500;
      ctx.body = { error: { code: 'internal', message: 'internal error; see the API log' } };
      const requestLog = (ctx.state as Partial<RequestLogState>).log ?? log;
      requestLog.error({ err, method: ctx.method, path: ctx.path }, `unexpected error on ${ctx.method} ${ctx.path}`);
    }
  };
}

function httpCode(status: number): string {
  if (status === 404) return 'not_found';
  if (status === 405) return 'method_not_allowed';
  if (status === 501) return 'not_implemented';
  return 'bad_request';
}

/** Last in the chain: an unmatched route is a JSON 404 like every other error. */
export function notFoundHandler(): Middleware {
  return async (ctx) => {
    ctx.status = 404;
    ctx.body = { error: { code: 'not_found', message: `no route for ${ctx.method} ${ctx.path}` } };
  };
}

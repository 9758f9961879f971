import { Middleware } from 'koa';
import {
  ConflictError,
  DependencyUnavailableError,
  DomainError,
  NotFoundError,
  PayloadTooLargeError,
  UnprocessableError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../common/errors';
import type { Logger } from '../../common/logger';
import { RequestLogState } from './request-id';

interface HttpErrorLike {
  status?: number;
  expose?: boolean;
  message: string;
  headers?: Record<string, string>;
}

/** The one place a domain error class becomes an HTTP status. */
const STATUS_OF: ReadonlyArray<readonly [abstract new (...args: never[]) => DomainError, number]> = [
  [ValidationError, 400],
  [NotFoundError, 404],
  [ConflictError, 409],
  [PayloadTooLargeError, 413],
  [UnsupportedMediaTypeError, 415],
  [UnprocessableError, 422],
  [DependencyUnavailableError, 503],
];

/**
 * The HTTP status of a domain error: 400 validation, 404 not found, 409 conflict, 413 too large, 415 unsupported media
 * type, 422 unprocessable, 503 dependency unavailable; undefined for a DomainError subclass missing from the table (a programming error, which
 * the handler answers as a 500).
 */
export function httpStatusOf(err: DomainError): number | undefined {
  return STATUS_OF.find(([type]) => err instanceof type)?.[1];
}

/** `{ error: { code, message, field?, dependency? } }`: the body of every error answer (`dependency` on a 503). */
export function errorBody(err: DomainError): {
  error: { code: string; message: string; field?: string; dependency?: string };
} {
  return {
    error: {
      code: err.code,
      message: err.message,
      ...(err.field !== undefined ? { field: err.field } : {}),
      ...(err instanceof DependencyUnavailableError ? { dependency: err.dependency } : {}),
    },
  };
}

/**
 * First in the chain: maps domain errors to their status and `{ error: { code, message, field? } }`. Koa's own 4xx
 * (405, 501 from allowedMethods) keep theirs; anything unexpected becomes a 500 without internals and is logged with
 * its stack through the request's logger (ctx.state.log from requestId(), so the line carries the request id the client
 * saw), else through `log`.
 */
export function errorHandler(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const status = err instanceof DomainError ? httpStatusOf(err) : undefined;
      if (err instanceof DomainError && status !== undefined) {
        ctx.status = status;
        ctx.body = errorBody(err);
        // The rest of an oversized body was never read; closing spares draining it.
        if (status === 413) ctx.set('Connection', 'close');
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

import { Middleware } from 'koa';
import {
  BusyError,
  ConflictError,
  DependencyUnavailableError,
  DomainError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  RequestTimeoutError,
  ServiceUnavailableError,
  TooManyRequestsError,
  UnauthorizedError,
  UnprocessableError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../common/errors';
import type { Logger } from '../../common/logger';
import { redactApiKeys } from '../../common/redact';
import { postgresUnavailable } from '../../db/unavailable';
import { unstorableTextError } from '../../db/unstorable-text';
import { temporalUnavailable } from '../services/temporal-unavailable';
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
  [UnauthorizedError, 401],
  [ForbiddenError, 403],
  [NotFoundError, 404],
  [RequestTimeoutError, 408],
  [ConflictError, 409],
  [PayloadTooLargeError, 413],
  [UnsupportedMediaTypeError, 415],
  [UnprocessableError, 422],
  [TooManyRequestsError, 429],
  [DependencyUnavailableError, 503],
  [BusyError, 503],
  [ServiceUnavailableError, 503],
];

/** Seconds a client is told to wait before retrying a 503 (Retry-After). */
export const DEPENDENCY_RETRY_AFTER_SECONDS = 5;

/**
 * The HTTP status of a domain error: 400 validation, 401 unauthenticated, 403 forbidden, 404 not found, 408 request timeout, 409 conflict,
 * 413 too large, 415 unsupported media type, 422 unprocessable, 429 too many requests, 503 dependency unavailable,
 * busy or another service unavailable; undefined for a DomainError subclass missing from the table (a programming error, which
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
      // A message quoting what the caller sent never echoes a key pasted in the wrong place.
      message: redactApiKeys(err.message),
      ...(err.field !== undefined ? { field: err.field } : {}),
      ...(err instanceof DependencyUnavailableError ? { dependency: err.dependency } : {}),
    },
  };
}

/**
 * The domain error an error stands for: itself, DependencyUnavailableError for what node-postgres or the Temporal
 * client raise when their server is down or too slow (whichever layer let it through), or a 400 `unstorable_text`
 * when Postgres refused a text value holding NUL or a lone surrogate (db/unstorable-text.ts: a fallback for a field
 * without its check); undefined for anything else.
 */
function asDomainError(err: unknown): DomainError | undefined {
  if (err instanceof DomainError) return err;
  return postgresUnavailable(err) ?? unstorableTextError(err) ?? temporalUnavailable(err);
}

/**
 * First in the chain: maps domain errors to their status and `{ error: { code, message, field? } }`, Postgres or
 * Temporal being down or too slow (raw driver errors included) to 503 `dependency_unavailable` naming which, with
 * Retry-After, and Postgres refusing text with NUL or a lone surrogate to 400 `unstorable_text` (logged as a warning:
 * a field without its check). Koa's own 4xx
 * (405, 501 from allowedMethods) keep theirs; anything unexpected becomes a 500 without internals and is logged with
 * its stack through the request's logger (ctx.state.log from requestId(), so the line carries the request id the client
 * saw), else through `log`.
 */
export function errorHandler(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const domain = asDomainError(err);
      const status = domain ? httpStatusOf(domain) : undefined;
      if (domain && status !== undefined) {
        ctx.status = status;
        ctx.body = errorBody(domain);
        // The rest of an oversized body was never read; closing spares draining it.
        if (status === 413 || status === 408) ctx.set('Connection', 'close');
        if (domain instanceof UnauthorizedError) ctx.set('WWW-Authenticate', 'Bearer realm="kiln"');
        if (
          domain instanceof TooManyRequestsError ||
          domain instanceof BusyError ||
          domain instanceof ServiceUnavailableError
        ) {
          ctx.set('Retry-After', String(domain.retryAfterSeconds));
        }
        if (domain instanceof DependencyUnavailableError) {
          ctx.set('Retry-After', String(DEPENDENCY_RETRY_AFTER_SECONDS));
          const requestLog = (ctx.state as Partial<RequestLogState>).log ?? log;
          requestLog.warn({ err, dependency: domain.dependency, method: ctx.method, path: ctx.path }, domain.message);
        }
        if (domain.code === 'unstorable_text' && !(err instanceof DomainError)) {
          // The caller gets a 400, but without its field: the field that let the text through lacks its check.
          const requestLog = (ctx.state as Partial<RequestLogState>).log ?? log;
          requestLog.warn({ err, method: ctx.method, path: ctx.path }, 'unstorable text reached Postgres unchecked');
        }
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
    ctx.body = { error: { code: 'not_found', message: `no route for ${ctx.method} ${redactApiKeys(ctx.path)}` } };
  };
}

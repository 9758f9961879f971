/**
 * Domain errors: what went wrong with a caller's input or with the state it refers to, as a stable `code`, a
 * message for people and the `field` it concerns. They carry no transport status: the API's one error middleware
 * (api/middleware/error-handler.ts) maps each class to its HTTP status; any other error is a 500 there, logged and
 * counted, never shown in detail.
 */
export abstract class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Malformed input: a missing, mistyped or out-of-range field, bad JSON, an unknown name (HTTP 400). */
export class ValidationError extends DomainError {
  constructor(message: string, field?: string, code = 'invalid_request') {
    super(code, message, field);
  }
}

/** The input, or the table in it, exceeds a documented limit (HTTP 413). */
export class PayloadTooLargeError extends DomainError {
  constructor(message: string, field?: string) {
    super('payload_too_large', message, field);
  }
}

/** A content type the operation does not read (HTTP 415); the field is always `content-type`. */
export class UnsupportedMediaTypeError extends DomainError {
  constructor(message: string) {
    super('unsupported_media_type', message, 'content-type');
  }
}

/**
 * Well-formed, but inconsistent with stored state or with what can run it: a text column where numbers are needed,
 * more points than an algorithm accepts, more GPU memory than any device has (HTTP 422).
 */
export class UnprocessableError extends DomainError {
  constructor(message: string, field?: string, code = 'unprocessable') {
    super(code, message, field);
  }
}

/** The thing a request names does not exist; the message says `<what> "<id>" does not exist` (HTTP 404). */
export class NotFoundError extends DomainError {
  constructor(what: string, id: string, field?: string) {
    super('not_found', `${what} ${JSON.stringify(id)} does not exist`, field);
  }
}

/** The request contradicts the current state: a taken name, a job that is not running or has no result (HTTP 409). */
export class ConflictError extends DomainError {
  constructor(message: string, code = 'conflict', field?: string) {
    super(code, message, field);
  }
}

/** A service Kiln depends on: Postgres, the Temporal frontend, or the worker that runs a workflow. */
export type Dependency = 'postgres' | 'temporal' | 'worker';

const DEPENDENCY_NAMES: Readonly<Record<Dependency, string>> = {
  postgres: 'PostgreSQL',
  temporal: 'Temporal',
  worker: "the run's worker",
};

/**
 * A dependency did not answer in time or refused (Postgres or the Temporal frontend down, no worker taking a run's
 * workflow task): the request may succeed later unchanged (HTTP 503, code `dependency_unavailable`). The message names
 * the dependency and says what became of the request; `dependency` says which, for clients and logs.
 */
export class DependencyUnavailableError extends DomainError {
  constructor(
    readonly dependency: Dependency,
    detail: string,
  ) {
    super('dependency_unavailable', `${DEPENDENCY_NAMES[dependency]} is unavailable: ${detail}; retry later`);
  }
}

/**
 * Too many requests of one kind are in progress in this process (HTTP 429, code `too_many_requests`), or a limit
 * with a code of its own is reached (`tenant_job_limit`: the tenant runs as many jobs as it may; `rate_limited`: the
 * caller spent a rate-limit budget): the same request may succeed after `retryAfterSeconds` (sent as Retry-After).
 */
export class TooManyRequestsError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    code = 'too_many_requests',
  ) {
    super(code, message);
  }
}

/**
 * The process serves as many of some long-lived request (event streams) as it allows (HTTP 503, code `busy`): the
 * same request may succeed after `retryAfterSeconds` (sent as Retry-After).
 */
export class BusyError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super('busy', message);
  }
}

/**
 * A service Kiln needs to answer this request, outside the ones DependencyUnavailableError names, cannot be reached
 * or answers nonsense (the identity provider's JWKS: code `identity_provider_unavailable`): not the caller's fault,
 * and the same request may succeed after `retryAfterSeconds` (HTTP 503, sent as Retry-After).
 */
export class ServiceUnavailableError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    code = 'service_unavailable',
  ) {
    super(code, message);
  }
}

/**
 * The client stopped sending a request body it had started (no byte for longer than allowed): what was read is
 * discarded (HTTP 408, code `request_timeout`, field `body`).
 */
export class RequestTimeoutError extends DomainError {
  constructor(message: string, field = 'body') {
    super('request_timeout', message, field);
  }
}

/**
 * The request carries no credentials, or ones the API does not accept: unknown, revoked or expired key, invalid token
 * (HTTP 401, with `WWW-Authenticate: Bearer`).
 */
export class UnauthorizedError extends DomainError {
  constructor(message: string, code = 'unauthenticated') {
    super(code, message, 'Authorization');
  }
}

/**
 * The request is refused for where it comes from, not for what it says: a Host header the API does not serve (DNS
 * rebinding) or a cross-origin browser request from an origin not allowed (HTTP 403).
 */
export class ForbiddenError extends DomainError {
  constructor(message: string, code = 'forbidden', field?: string) {
    super(code, message, field);
  }
}

/**
 * The caller's tenant is disabled (HTTP 403, code `tenant_disabled`): its keys, console sessions and SSO members are
 * refused until a platform admin enables it again. The message says how.
 */
export class TenantDisabledError extends ForbiddenError {
  constructor(readonly tenantId: string) {
    super(
      `tenant "${tenantId}" is disabled: its API keys, sessions and members are refused until a platform admin ` +
        `enables it again (PATCH /api/v1/tenants/${tenantId} {"disabled": false})`,
      'tenant_disabled',
    );
  }
}

/**
 * The same error about another field: `field` replaces the error's field, and the field its message starts with (or
 * prefixes the message). Same class, code and status. A nested request's errors named from the outer request.
 */
export function withField<E extends DomainError>(err: E, field: string): E {
  const message =
    err.field && err.message.startsWith(err.field)
      ? `${field}${err.message.slice(err.field.length)}`
      : `${field}: ${err.message}`;
  const copy = Object.create(Object.getPrototypeOf(err) as object) as E;
  // The subclass's own facts (a DependencyUnavailableError's `dependency`) stay; what follows replaces the rest.
  Object.defineProperties(copy, Object.getOwnPropertyDescriptors(err));
  Object.defineProperties(copy, {
    code: { value: err.code, enumerable: true },
    field: { value: field, enumerable: true },
    message: { value: message, writable: true, configurable: true },
    name: { value: err.name, writable: true, configurable: true },
    stack: { value: err.stack, writable: true, configurable: true },
  });
  return copy;
}

/** withField under `prefix`: `params.k` becomes `action.request.params.k` (no field: `prefix` itself). */
export function prefixField<E extends DomainError>(err: E, prefix: string): E {
  return withField(err, err.field ? `${prefix}.${err.field}` : prefix);
}

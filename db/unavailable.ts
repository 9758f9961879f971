import { DependencyUnavailableError } from '../common/errors';

/** Messages node-postgres and its pool give when the server cannot be reached or does not answer in time. */
const PG_UNAVAILABLE_MESSAGES = new Set([
  // pg-pool: no client became free (or connected) within connectionTimeoutMillis.
  'timeout exceeded when trying to connect',
  'Connection terminated due to connection timeout',
  // pg: no answer to a query within query_timeout.
  'Query read timeout',
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
]);

/** Socket errors of a connection to the server (refused, reset, unreachable, name not resolved). */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/**
 * SQLSTATEs that mean the server cannot serve now, not that the query is wrong: class 08 (connection exception),
 * 53300 too_many_connections, 57014 query_canceled (statement_timeout), 57P01-57P03 (shutting down, cannot connect
 * now). https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
function unavailableSqlState(code: string): boolean {
  return code.startsWith('08') || code === '53300' || code === '57014' || /^57P0[123]$/.test(code);
}

/**
 * The DependencyUnavailableError (dependency `postgres`) for an error node-postgres raised because the server is down,
 * stopped or too slow (a refused or reset connection, a pool or connect timeout, a query read timeout, a statement
 * timeout, a shutdown); undefined for any other error (a constraint violation, bad SQL: those stay what they are).
 */
export function postgresUnavailable(err: unknown): DependencyUnavailableError | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (PG_UNAVAILABLE_MESSAGES.has(e.message)) return new DependencyUnavailableError('postgres', e.message);
    if (typeof code === 'string' && SOCKET_CODES.has(code))
      return new DependencyUnavailableError('postgres', `connection failed (${code})`);
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && unavailableSqlState(code))
      return new DependencyUnavailableError('postgres', `${e.message} (SQLSTATE ${code})`);
    // net.connect to several addresses (localhost: ::1 and 127.0.0.1) fails with an AggregateError of each.
    if (e instanceof AggregateError) {
      const inner = e.errors.map(postgresUnavailable).find((found) => found !== undefined);
      if (inner) return inner;
    }
  }
  return undefined;
}

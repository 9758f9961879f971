import { Pool, PoolClient } from 'pg';
import { Logger, rootLogger } from '../common/logger';
import { postgresUnavailable } from './unavailable';

/** Deadlines on a pool's connections and queries (milliseconds); absent: wait as long as it takes (workers). */
export interface PoolTimeouts {
  /** Connecting a new client, and waiting for a free one when the pool is full (pg `connectionTimeoutMillis`). */
  connectMs: number;
  /**
   * The answer to a query (pg `query_timeout`): past it the query rejects with "Query read timeout" and its connection
   * is closed (Postgres cancels the statement when it notices). Queries that move large contents get more:
   * transferTimeoutMs.
   */
  queryMs: number;
}

/**
 * A pg pool of at most `max` connections; an idle client's error goes to `log` (default: the process's logger). With
 * `timeouts` (the API), a stopped or unreachable server makes queries fail within them instead of hanging.
 */
export function createPool(connectionString: string, max = 10, log?: Logger, timeouts?: PoolTimeouts): Pool {
  const pool = new Pool({
    connectionString,
    max,
    idleTimeoutMillis: 30_000,
    ...(timeouts ? { connectionTimeoutMillis: timeouts.connectMs, query_timeout: timeouts.queryMs } : {}),
  });
  // An idle client's error (the server restarted) must not crash the process; the next query reconnects.
  pool.on('error', (err) =>
    (log ?? rootLogger()).child({ module: 'postgres-pool' }).error({ err }, 'postgres idle client error'),
  );
  return pool;
}

/** Bytes a query moving content may take per millisecond beyond its base timeout: 8 MiB a second. */
export const TRANSFER_BYTES_PER_MS = (8 * 1024 * 1024) / 1000;

/**
 * The query timeout for a query that moves `bytes` of content through `db`: its base query timeout plus one second
 * per 8 MiB (a 64 MiB dataset gets 8 s more); undefined when `db` has no query timeout (no deadline).
 */
export function transferTimeoutMs(db: Queryable, bytes: number): number | undefined {
  const base =
    (db as { options?: { query_timeout?: number } }).options?.query_timeout ??
    (db as { connectionParameters?: { query_timeout?: number } }).connectionParameters?.query_timeout;
  if (!base) return undefined;
  return base + Math.ceil(bytes / TRANSFER_BYTES_PER_MS);
}

/**
 * Runs fn in a transaction, committing on success and rolling back on any error. A connection that failed (the server
 * stopped answering, a query timed out) is closed instead of rolled back and reused: Postgres rolls back a transaction
 * whose connection is gone, and a ROLLBACK sent on it would only wait for its own timeout.
 */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    if (postgresUnavailable(err)) broken = err as Error;
    else await client.query('ROLLBACK').catch((rollbackErr: Error) => (broken = rollbackErr));
    throw err;
  } finally {
    client.release(broken);
  }
}

/** Postgres error codes Kiln reacts to (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
export const PG_ERROR = {
  uniqueViolation: '23505',
  invalidTextRepresentation: '22P02',
  deadlockDetected: '40P01',
} as const;

export type Queryable = Pick<Pool, 'query'> | Pick<PoolClient, 'query'>;

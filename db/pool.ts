import { Pool, PoolClient } from 'pg';
import { Logger, rootLogger } from '../common/logger';

/** A pg pool of at most `max` connections; an idle client's error goes to `log` (default: the process's logger). */
export function createPool(connectionString: string, max = 10, log?: Logger): Pool {
  const pool = new Pool({ connectionString, max, idleTimeoutMillis: 30_000 });
  // An idle client's error (the server restarted) must not crash the process; the next query reconnects.
  pool.on('error', (err) =>
    (log ?? rootLogger()).child({ module: 'postgres-pool' }).error({ err }, 'postgres idle client error'),
  );
  return pool;
}

/** Runs fn in a transaction, committing on success and rolling back on any error. */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Postgres error codes Kiln reacts to (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
export const PG_ERROR = {
  uniqueViolation: '23505',
  invalidTextRepresentation: '22P02',
} as const;

export type Queryable = Pick<Pool, 'query'> | Pick<PoolClient, 'query'>;

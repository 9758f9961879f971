import { Pool, PoolClient } from 'pg';

export function createPool(connectionString: string, max = 10): Pool {
  const pool = new Pool({ connectionString, max, idleTimeoutMillis: 30_000 });
  // An idle client's error (the server restarted) must not crash the process; the next query reconnects.
  pool.on('error', (err) => console.error('[kiln] postgres idle client error:', err.message));
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

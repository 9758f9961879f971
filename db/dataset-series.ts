import { Pool, PoolClient } from 'pg';
import type { DatasetVersionSelector } from '../common/dataset-ref';
import { DATASET_COLUMNS, DatasetMeta, DatasetRow, NewDataset, storeDataset, toMeta } from './datasets';
import { inTransaction, Queryable } from './pool';

/**
 * Named dataset series (migration 0005): an upload with a name becomes the newest version of that name, numbered from
 * 1 per (tenant, name). Versions point at content-addressed datasets, so identical content is stored once whatever
 * the series.
 */

/** One version of a series, with the dataset it points at. */
export interface DatasetVersion {
  name: string;
  version: number;
  /** When the version was added (ISO-8601); what `asOf` compares with. */
  createdAt: string;
  dataset: DatasetMeta;
}

// Serialises version numbering per series inside a transaction: the two-key advisory lock space, apart from the
// migrator's single-key lock.
const SERIES_LOCK_CLASS = 5;

/**
 * Stores the table (createDataset) and makes it the newest version of series `input.name`, in one transaction.
 * Uploading the content that already is the newest version adds nothing (`added: false`, a retried upload); any other
 * content, even that of an older version, adds the next number.
 */
export async function createSeriesVersion(
  pool: Pool,
  input: NewDataset,
): Promise<{ dataset: DatasetMeta; created: boolean; version: number; added: boolean; versionCreatedAt: string }> {
  return inTransaction(pool, async (client) => {
    const stored = await storeDataset(client, input);
    const version = await addVersion(client, input.tenantId, input.name, stored.dataset.id);
    return { ...stored, ...version };
  });
}

async function addVersion(
  client: PoolClient,
  tenantId: string,
  name: string,
  datasetId: string,
): Promise<{ version: number; added: boolean; versionCreatedAt: string }> {
  await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [SERIES_LOCK_CLASS, `${tenantId}/${name}`]);
  const { rows: newest } = await client.query<{ version: number; datasetId: string; createdAt: Date }>(
    `SELECT version, dataset_id AS "datasetId", created_at AS "createdAt" FROM dataset_versions
     WHERE tenant_id = $1 AND name = $2 ORDER BY version DESC LIMIT 1`,
    [tenantId, name],
  );
  if (newest[0]?.datasetId === datasetId)
    return { version: newest[0].version, added: false, versionCreatedAt: newest[0].createdAt.toISOString() };
  const { rows } = await client.query<{ version: number; createdAt: Date }>(
    `INSERT INTO dataset_versions (tenant_id, name, version, dataset_id) VALUES ($1, $2, $3, $4)
     RETURNING version, created_at AS "createdAt"`,
    [tenantId, name, (newest[0]?.version ?? 0) + 1, datasetId],
  );
  return { version: rows[0].version, added: true, versionCreatedAt: rows[0].createdAt.toISOString() };
}

type VersionRow = DatasetRow & { seriesName: string; seriesVersion: number; versionCreatedAt: Date };

const VERSION_SELECT = `SELECT ${DATASET_COLUMNS}, v.name AS "seriesName", v.version AS "seriesVersion",
  v.created_at AS "versionCreatedAt"
  FROM dataset_versions v JOIN datasets d ON d.id = v.dataset_id JOIN artifacts a ON a.id = d.artifact_id`;

function toVersion(row: VersionRow): DatasetVersion {
  const { seriesName, seriesVersion, versionCreatedAt, ...dataset } = row;
  return {
    name: seriesName,
    version: seriesVersion,
    createdAt: versionCreatedAt.toISOString(),
    dataset: toMeta(dataset),
  };
}

/** The versions of series `name`, newest first (empty when no upload used the name). */
export async function listSeriesVersions(
  db: Queryable,
  tenantId: string,
  name: string,
  limit: number,
): Promise<DatasetVersion[]> {
  const { rows } = await db.query<VersionRow>(
    `${VERSION_SELECT} WHERE v.tenant_id = $1 AND v.name = $2 ORDER BY v.version DESC LIMIT $3`,
    [tenantId, name, limit],
  );
  return rows.map(toVersion);
}

/**
 * The version `selector` names: a number exactly; `latest` the newest added at or before `now`; `{asOf}` the newest
 * added at or before that instant. Undefined when there is none (no such number, nothing uploaded by then).
 */
export async function resolveSeriesVersion(
  db: Queryable,
  tenantId: string,
  name: string,
  selector: DatasetVersionSelector,
  now: Date,
): Promise<DatasetVersion | undefined> {
  if (typeof selector === 'number') {
    const { rows } = await db.query<VersionRow>(
      `${VERSION_SELECT} WHERE v.tenant_id = $1 AND v.name = $2 AND v.version = $3`,
      [tenantId, name, selector],
    );
    return rows[0] && toVersion(rows[0]);
  }
  const asOf = selector === 'latest' ? now : new Date(selector.asOf);
  const { rows } = await db.query<VersionRow>(
    `${VERSION_SELECT} WHERE v.tenant_id = $1 AND v.name = $2 AND v.created_at <= $3
     ORDER BY v.created_at DESC, v.version DESC LIMIT 1`,
    [tenantId, name, asOf],
  );
  return rows[0] && toVersion(rows[0]);
}

import { Pool, PoolClient } from 'pg';
import { ColumnSpec, Table } from '../datasets/table';
import { decodeTable, encodeTable } from '../datasets/encode';
import { getArtifactContent, putArtifact } from './artifacts';
import { inTransaction, Queryable } from './pool';

export interface DatasetMeta {
  id: string;
  tenantId: string;
  name: string;
  sha256: string;
  rows: number;
  columns: number;
  columnSpecs: Array<Omit<ColumnSpec, 'levels'> & { levels?: number }>;
  sourceFormat: string;
  artifactId: string;
  sizeBytes: number;
  createdAt: string;
}

/** A datasets row as DATASET_COLUMNS selects it (joined with its artifact `a`). */
export interface DatasetRow {
  id: string;
  tenantId: string;
  name: string;
  sha256: string;
  rows: number;
  columns: number;
  columnSpecs: ColumnSpec[];
  sourceFormat: string;
  artifactId: string;
  sizeBytes: number;
  createdAt: string;
}

/** The columns of a dataset's metadata, from `datasets d JOIN artifacts a ON a.id = d.artifact_id`. */
export const DATASET_COLUMNS = `d.id, d.tenant_id AS "tenantId", d.name, d.sha256, d.row_count AS rows, d.column_count AS columns,
  d.columns AS "columnSpecs", d.source_format AS "sourceFormat", d.artifact_id AS "artifactId",
  a.size_bytes::float8 AS "sizeBytes", d.created_at AS "createdAt"`;

/** Metadata shown to clients: string columns report how many levels they have, not the levels themselves. */
export function toMeta(row: DatasetRow): DatasetMeta {
  return {
    ...row,
    columnSpecs: row.columnSpecs.map((c) =>
      c.levels ? { name: c.name, type: c.type, levels: c.levels.length } : { name: c.name, type: c.type },
    ),
  };
}

export interface NewDataset {
  tenantId: string;
  name: string;
  sourceFormat: 'json' | 'csv' | 'ndjson';
  table: Table;
}

/**
 * Stores a table under the sha256 of its canonical encoding, so the same data uploaded twice, in any format, is one
 * dataset: the second upload returns the first (`created: false`).
 */
export async function createDataset(
  pool: Pool,
  input: NewDataset,
): Promise<{ dataset: DatasetMeta; created: boolean }> {
  return inTransaction(pool, (client) => storeDataset(client, input));
}

/** createDataset's work inside the caller's transaction (a series upload adds its version in the same one). */
export async function storeDataset(
  client: PoolClient,
  input: NewDataset,
): Promise<{ dataset: DatasetMeta; created: boolean }> {
  const content = encodeTable(input.table);
  const artifact = await putArtifact(client, {
    tenantId: input.tenantId,
    kind: 'dataset',
    mediaType: 'application/vnd.kiln.table',
    content,
  });
  const inserted = await client.query<{ id: string }>(
    `INSERT INTO datasets (tenant_id, name, sha256, row_count, column_count, columns, source_format, artifact_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (tenant_id, sha256) DO NOTHING
     RETURNING id`,
    [
      input.tenantId,
      input.name,
      artifact.sha256,
      input.table.rows,
      input.table.columns.length,
      JSON.stringify(input.table.columns),
      input.sourceFormat,
      artifact.id,
    ],
  );
  const created = inserted.rows.length > 0;
  const { rows } = await client.query<DatasetRow>(
    `SELECT ${DATASET_COLUMNS} FROM datasets d JOIN artifacts a ON a.id = d.artifact_id
     WHERE d.tenant_id = $1 AND d.sha256 = $2`,
    [input.tenantId, artifact.sha256],
  );
  return { dataset: toMeta(rows[0]), created };
}

export async function getDataset(db: Queryable, tenantId: string, id: string): Promise<DatasetMeta | undefined> {
  const { rows } = await db.query<DatasetRow>(
    `SELECT ${DATASET_COLUMNS} FROM datasets d JOIN artifacts a ON a.id = d.artifact_id WHERE d.tenant_id = $1 AND d.id = $2`,
    [tenantId, id],
  );
  return rows[0] && toMeta(rows[0]);
}

export async function listDatasets(db: Queryable, tenantId: string, limit: number): Promise<DatasetMeta[]> {
  const { rows } = await db.query<DatasetRow>(
    `SELECT ${DATASET_COLUMNS} FROM datasets d JOIN artifacts a ON a.id = d.artifact_id
     WHERE d.tenant_id = $1 ORDER BY d.created_at DESC LIMIT $2`,
    [tenantId, limit],
  );
  return rows.map(toMeta);
}

/** The whole table, for activities. */
export async function loadDatasetTable(
  db: Queryable,
  tenantId: string,
  id: string,
): Promise<{ meta: DatasetMeta; table: Table } | undefined> {
  const { rows } = await db.query<DatasetRow>(
    `SELECT ${DATASET_COLUMNS} FROM datasets d JOIN artifacts a ON a.id = d.artifact_id WHERE d.tenant_id = $1 AND d.id = $2`,
    [tenantId, id],
  );
  if (!rows[0]) return undefined;
  const content = await getArtifactContent(db, tenantId, rows[0].artifactId);
  if (!content) throw new Error(`dataset ${id}: artifact ${rows[0].artifactId} is missing`);
  return { meta: toMeta(rows[0]), table: decodeTable(content) };
}

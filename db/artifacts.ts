import { createHash } from 'node:crypto';
import { Queryable, transferTimeoutMs } from './pool';

export interface ArtifactMeta {
  id: string;
  tenantId: string;
  sha256: string;
  kind: string;
  mediaType: string;
  sizeBytes: number;
  createdAt: string;
}

export interface NewArtifact {
  tenantId: string;
  kind: string;
  mediaType: string;
  content: Buffer;
}

const META_COLUMNS = `id, tenant_id AS "tenantId", sha256, kind, media_type AS "mediaType",
  size_bytes::float8 AS "sizeBytes", created_at AS "createdAt"`;

/**
 * Stores bytes under their sha256 and returns the artifact, new or existing: storing the same content again (a retried
 * activity, a repeated upload) returns the first row instead of a duplicate.
 */
export async function putArtifact(db: Queryable, artifact: NewArtifact): Promise<ArtifactMeta & { created: boolean }> {
  const sha256 = createHash('sha256').update(artifact.content).digest('hex');
  const timeout = transferTimeoutMs(db, artifact.content.length);
  const inserted = await db.query<ArtifactMeta>({
    text: `INSERT INTO artifacts (tenant_id, sha256, kind, media_type, size_bytes, content)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (tenant_id, sha256) DO NOTHING
     RETURNING ${META_COLUMNS}`,
    values: [artifact.tenantId, sha256, artifact.kind, artifact.mediaType, artifact.content.length, artifact.content],
    ...(timeout !== undefined ? { query_timeout: timeout } : {}),
  });
  if (inserted.rows[0]) return { ...inserted.rows[0], created: true };
  const existing = await db.query<ArtifactMeta>(
    `SELECT ${META_COLUMNS} FROM artifacts WHERE tenant_id = $1 AND sha256 = $2`,
    [artifact.tenantId, sha256],
  );
  return { ...existing.rows[0], created: false };
}

export async function getArtifactMeta(db: Queryable, tenantId: string, id: string): Promise<ArtifactMeta | undefined> {
  const { rows } = await db.query<ArtifactMeta>(
    `SELECT ${META_COLUMNS} FROM artifacts WHERE tenant_id = $1 AND id = $2`,
    [tenantId, id],
  );
  return rows[0];
}

/**
 * The artifact's bytes, or undefined when it does not exist. Where `db` has a query timeout (the API), the size is read
 * first so that the transfer gets the time its size needs (transferTimeoutMs).
 */
export async function getArtifactContent(db: Queryable, tenantId: string, id: string): Promise<Buffer | undefined> {
  let timeout = transferTimeoutMs(db, 0);
  if (timeout !== undefined) {
    const meta = await getArtifactMeta(db, tenantId, id);
    if (!meta) return undefined;
    timeout = transferTimeoutMs(db, meta.sizeBytes);
  }
  const { rows } = await db.query<{ content: Buffer }>({
    text: 'SELECT content FROM artifacts WHERE tenant_id = $1 AND id = $2',
    values: [tenantId, id],
    ...(timeout !== undefined ? { query_timeout: timeout } : {}),
  });
  return rows[0]?.content;
}

/**
 * `length` bytes of the artifact's content from byte `offset` (0-based; fewer at its end), without reading the rest;
 * undefined when the artifact does not exist.
 */
export async function getArtifactRange(
  db: Queryable,
  tenantId: string,
  id: string,
  offset: number,
  length: number,
): Promise<Buffer | undefined> {
  const { rows } = await db.query<{ part: Buffer }>(
    'SELECT substring(content FROM $3::int FOR $4::int) AS part FROM artifacts WHERE tenant_id = $1 AND id = $2',
    [tenantId, id, offset + 1, length],
  );
  return rows[0]?.part;
}

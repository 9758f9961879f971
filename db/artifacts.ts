import { createHash } from 'node:crypto';
import { Queryable } from './pool';

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
  const inserted = await db.query<ArtifactMeta>(
    `INSERT INTO artifacts (tenant_id, sha256, kind, media_type, size_bytes, content)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (tenant_id, sha256) DO NOTHING
     RETURNING ${META_COLUMNS}`,
    [artifact.tenantId, sha256, artifact.kind, artifact.mediaType, artifact.content.length, artifact.content],
  );
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

export async function getArtifactContent(db: Queryable, tenantId: string, id: string): Promise<Buffer | undefined> {
  const { rows } = await db.query<{ content: Buffer }>(
    'SELECT content FROM artifacts WHERE tenant_id = $1 AND id = $2',
    [tenantId, id],
  );
  return rows[0]?.content;
}

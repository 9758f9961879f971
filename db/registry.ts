import { Pool } from 'pg';
import { inTransaction, Queryable } from './pool';

export interface ModelVersion {
  id: string;
  modelName: string;
  version: number;
  status: 'READY' | 'FAILED_VALIDATION' | 'ARCHIVED';
  flavor: string;
  description: string | null;
  tags: Record<string, string>;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  artifactId: string | null;
  datasetId: string | null;
  datasetSha256: string | null;
  sourceWorkflowId: string;
  sourceRunId: string | null;
  backend: string | null;
  createdAt: string;
}

export interface NewModelVersion {
  tenantId: string;
  modelName: string;
  flavor: string;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  artifactId: string;
  datasetId: string;
  datasetSha256: string;
  sourceWorkflowId: string;
  sourceRunId: string;
  backend: string;
  actor: string;
  /** Default READY; a pipeline registers a candidate its gate or reviewer refused as FAILED_VALIDATION. */
  status?: ModelVersion['status'];
  /** The training job whose event log holds the version's per-epoch curves (MLPs; absent for clustering models). */
  trainingJobId?: string;
}

/** The columns of a ModelVersion, for queries over `model_versions v JOIN models m` (db/models.ts reuses them). */
export const VERSION_COLUMNS = `v.id, m.name AS "modelName", v.version, v.status, v.flavor, v.description, v.tags, v.params,
  v.metrics, v.artifact_id AS "artifactId", v.dataset_id AS "datasetId", v.dataset_sha256 AS "datasetSha256",
  v.source_workflow_id AS "sourceWorkflowId", v.source_run_id AS "sourceRunId", v.backend, v.created_at AS "createdAt"`;

/**
 * Registers a new version of a model (creating the model on first use) exactly once per source workflow: a retried
 * activity finds the version its earlier attempt wrote and returns it (`created: false`). The model row is locked so
 * two workflows registering at once get consecutive numbers.
 */
export async function registerModelVersion(
  pool: Pool,
  input: NewModelVersion,
): Promise<{ version: ModelVersion; created: boolean }> {
  return inTransaction(pool, async (client) => {
    // A model deleted (DELETE /models/:name) between the insert and the lock is gone when the lock is granted: each
    // statement sees the latest commits, so the next attempt creates it again.
    let modelId: string | undefined;
    let modelCreated = false;
    for (let attempt = 0; modelId === undefined; attempt++) {
      if (attempt === 3) throw new Error(`model ${input.modelName}: deleted while registering a version, 3 times`);
      const inserted = await client.query(
        `INSERT INTO models (tenant_id, name) VALUES ($1, $2) ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id`,
        [input.tenantId, input.modelName],
      );
      modelCreated ||= (inserted.rowCount ?? 0) > 0;
      const model = await client.query<{ id: string }>(
        'SELECT id FROM models WHERE tenant_id = $1 AND name = $2 FOR UPDATE',
        [input.tenantId, input.modelName],
      );
      modelId = model.rows[0]?.id;
    }
    const existing = await findVersionByWorkflow(client, input.tenantId, modelId, input.sourceWorkflowId);
    if (existing) return { version: existing, created: false };

    const next = await client.query<{ next: number }>(
      'SELECT COALESCE(MAX(version), 0) + 1 AS next FROM model_versions WHERE tenant_id = $1 AND model_id = $2',
      [input.tenantId, modelId],
    );
    const version = next.rows[0].next;
    await client.query(
      `INSERT INTO model_versions (tenant_id, model_id, version, flavor, params, metrics, artifact_id, dataset_id,
         dataset_sha256, source_workflow_id, source_run_id, backend, status, training_job_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
      [
        input.tenantId,
        modelId,
        version,
        input.flavor,
        JSON.stringify(input.params),
        JSON.stringify(input.metrics),
        input.artifactId,
        input.datasetId,
        input.datasetSha256,
        input.sourceWorkflowId,
        input.sourceRunId,
        input.backend,
        input.status ?? 'READY',
        input.trainingJobId ?? null,
      ],
    );
    await client.query(`UPDATE models SET updated_at = now() WHERE tenant_id = $1 AND id = $2`, [
      input.tenantId,
      modelId,
    ]);
    await client.query(
      `INSERT INTO audit_events (tenant_id, entity_type, entity_id, action, actor, details)
       VALUES ($1, 'model', $2, 'version_registered', $3, $4)`,
      [
        input.tenantId,
        input.modelName,
        input.actor,
        JSON.stringify({
          version,
          sourceWorkflowId: input.sourceWorkflowId,
          sourceRunId: input.sourceRunId,
          ...(input.status && input.status !== 'READY' ? { status: input.status } : {}),
          // The first registration of a name creates the model; its trail records that here (no separate event).
          ...(modelCreated ? { modelCreated: true, modelId } : {}),
        }),
      ],
    );
    const created = await findVersionByWorkflow(client, input.tenantId, modelId, input.sourceWorkflowId);
    return { version: created!, created: true };
  });
}

async function findVersionByWorkflow(
  db: Queryable,
  tenantId: string,
  modelId: string,
  workflowId: string,
): Promise<ModelVersion | undefined> {
  const { rows } = await db.query<ModelVersion>(
    `SELECT ${VERSION_COLUMNS} FROM model_versions v JOIN models m ON m.id = v.model_id
     WHERE v.tenant_id = $1 AND v.model_id = $2 AND v.source_workflow_id = $3`,
    [tenantId, modelId, workflowId],
  );
  return rows[0];
}

export async function listModelVersions(
  db: Queryable,
  tenantId: string,
  modelName: string,
): Promise<ModelVersion[] | undefined> {
  const model = await db.query('SELECT 1 FROM models WHERE tenant_id = $1 AND name = $2', [tenantId, modelName]);
  if (model.rowCount === 0) return undefined;
  const { rows } = await db.query<ModelVersion>(
    `SELECT ${VERSION_COLUMNS} FROM model_versions v JOIN models m ON m.id = v.model_id
     WHERE m.tenant_id = $1 AND m.name = $2 ORDER BY v.version`,
    [tenantId, modelName],
  );
  return rows;
}

/**
 * The training job whose events hold a version's per-epoch curves, and the version's stored `metrics.history` (the
 * same epochs, copied at registration); undefined when the version does not exist.
 */
export async function versionTrainingSource(
  db: Queryable,
  tenantId: string,
  versionId: string,
): Promise<{ trainingJobId: string | null; history: unknown } | undefined> {
  const { rows } = await db.query<{ trainingJobId: string | null; history: unknown }>(
    `SELECT training_job_id AS "trainingJobId", metrics -> 'history' AS history FROM model_versions
     WHERE tenant_id = $1 AND id = $2`,
    [tenantId, versionId],
  );
  return rows[0];
}

import { Queryable } from './pool';

/**
 * Rows a pipeline run writes (migrations/0004_pipelines.sql): its data-validation report and its model evaluation.
 * Each is keyed by (tenant, pipeline workflow id): a retried activity upserts the row its earlier attempt wrote, so its
 * id never changes and a run never has two.
 */

/** Counts of a validation report: checks run, failed, and failed by severity. */
export interface ValidationCounts {
  checks: number;
  failed: number;
  errors: number;
  warnings: number;
}

export interface NewValidationReport {
  tenantId: string;
  pipelineId: string;
  datasetId: string;
  referenceDatasetId?: string;
  holdoutDatasetId?: string;
  report: unknown;
  counts: ValidationCounts;
  /** No check of severity `error` failed. */
  passed: boolean;
}

export interface StoredValidationReport {
  id: string;
  pipelineId: string;
  datasetId: string;
  referenceDatasetId: string | null;
  holdoutDatasetId: string | null;
  report: Record<string, unknown>;
  counts: ValidationCounts;
  passed: boolean;
  createdAt: string;
}

const REPORT_COLUMNS = `id, pipeline_id AS "pipelineId", dataset_id AS "datasetId",
  reference_dataset_id AS "referenceDatasetId", holdout_dataset_id AS "holdoutDatasetId", report,
  jsonb_build_object('checks', checks_total, 'failed', checks_failed, 'errors', errors, 'warnings', warnings) AS counts,
  passed, created_at AS "createdAt"`;

/** Stores (or, for a retried activity, replaces) the report of a pipeline run; returns its id, stable across retries. */
export async function saveValidationReport(db: Queryable, input: NewValidationReport): Promise<{ id: string }> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO validation_reports (tenant_id, pipeline_id, dataset_id, reference_dataset_id, holdout_dataset_id,
       report, checks_total, checks_failed, errors, warnings, passed)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (tenant_id, pipeline_id) DO UPDATE SET dataset_id = EXCLUDED.dataset_id,
       reference_dataset_id = EXCLUDED.reference_dataset_id, holdout_dataset_id = EXCLUDED.holdout_dataset_id,
       report = EXCLUDED.report, checks_total = EXCLUDED.checks_total, checks_failed = EXCLUDED.checks_failed,
       errors = EXCLUDED.errors, warnings = EXCLUDED.warnings, passed = EXCLUDED.passed
     RETURNING id`,
    [
      input.tenantId,
      input.pipelineId,
      input.datasetId,
      input.referenceDatasetId ?? null,
      input.holdoutDatasetId ?? null,
      JSON.stringify(input.report),
      input.counts.checks,
      input.counts.failed,
      input.counts.errors,
      input.counts.warnings,
      input.passed,
    ],
  );
  return rows[0];
}

/** The report of a pipeline run, or undefined before its validation stage has stored one. */
export async function getValidationReport(
  db: Queryable,
  tenantId: string,
  pipelineId: string,
): Promise<StoredValidationReport | undefined> {
  const { rows } = await db.query<StoredValidationReport>(
    `SELECT ${REPORT_COLUMNS} FROM validation_reports WHERE tenant_id = $1 AND pipeline_id = $2`,
    [tenantId, pipelineId],
  );
  return rows[0];
}

export interface NewEvaluation {
  tenantId: string;
  pipelineId: string;
  modelName: string;
  task: string;
  holdoutDatasetId: string;
  holdoutRows: number;
  holdout: Record<string, unknown>;
  candidateArtifactId: string;
  championAlias: string;
  champion?: { versionId: string; version: number };
  candidateMetrics: Record<string, number>;
  championMetrics?: Record<string, number>;
  details: Record<string, unknown>;
}

export interface StoredEvaluation {
  id: string;
  pipelineId: string;
  modelName: string;
  task: string;
  holdoutDatasetId: string;
  holdoutRows: number;
  holdout: Record<string, unknown>;
  candidateArtifactId: string;
  championAlias: string;
  championVersionId: string | null;
  championVersion: number | null;
  candidateMetrics: Record<string, number>;
  championMetrics: Record<string, number> | null;
  details: Record<string, unknown>;
  gate: Record<string, unknown> | null;
  createdAt: string;
}

const EVALUATION_COLUMNS = `id, pipeline_id AS "pipelineId", model_name AS "modelName", task,
  holdout_dataset_id AS "holdoutDatasetId", holdout_rows AS "holdoutRows", holdout,
  candidate_artifact_id AS "candidateArtifactId", champion_alias AS "championAlias",
  champion_version_id AS "championVersionId", champion_version AS "championVersion",
  candidate_metrics AS "candidateMetrics", champion_metrics AS "championMetrics", details, gate,
  created_at AS "createdAt"`;

/** Stores (or, for a retried activity, replaces) the evaluation of a pipeline run; the id is stable across retries. */
export async function saveEvaluation(db: Queryable, input: NewEvaluation): Promise<{ id: string }> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO model_evaluations (tenant_id, pipeline_id, model_name, task, holdout_dataset_id, holdout_rows, holdout,
       candidate_artifact_id, champion_alias, champion_version_id, champion_version, candidate_metrics,
       champion_metrics, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
     ON CONFLICT (tenant_id, pipeline_id) DO UPDATE SET model_name = EXCLUDED.model_name, task = EXCLUDED.task,
       holdout_dataset_id = EXCLUDED.holdout_dataset_id, holdout_rows = EXCLUDED.holdout_rows,
       holdout = EXCLUDED.holdout, candidate_artifact_id = EXCLUDED.candidate_artifact_id,
       champion_alias = EXCLUDED.champion_alias, champion_version_id = EXCLUDED.champion_version_id,
       champion_version = EXCLUDED.champion_version, candidate_metrics = EXCLUDED.candidate_metrics,
       champion_metrics = EXCLUDED.champion_metrics, details = EXCLUDED.details, gate = NULL
     RETURNING id`,
    [
      input.tenantId,
      input.pipelineId,
      input.modelName,
      input.task,
      input.holdoutDatasetId,
      input.holdoutRows,
      JSON.stringify(input.holdout),
      input.candidateArtifactId,
      input.championAlias,
      input.champion?.versionId ?? null,
      input.champion?.version ?? null,
      JSON.stringify(input.candidateMetrics),
      input.championMetrics ? JSON.stringify(input.championMetrics) : null,
      JSON.stringify(input.details),
    ],
  );
  return rows[0];
}

/** Records the gate's verdict on a pipeline's evaluation; throws when the evaluation does not exist. */
export async function setEvaluationGate(
  db: Queryable,
  tenantId: string,
  pipelineId: string,
  gate: unknown,
): Promise<void> {
  const updated = await db.query('UPDATE model_evaluations SET gate = $3 WHERE tenant_id = $1 AND pipeline_id = $2', [
    tenantId,
    pipelineId,
    JSON.stringify(gate),
  ]);
  if (updated.rowCount === 0) throw new Error(`pipeline ${pipelineId} has no evaluation to gate`);
}

/** The evaluation of a pipeline run, or undefined before its evaluation stage has stored one. */
export async function getEvaluation(
  db: Queryable,
  tenantId: string,
  pipelineId: string,
): Promise<StoredEvaluation | undefined> {
  const { rows } = await db.query<StoredEvaluation>(
    `SELECT ${EVALUATION_COLUMNS} FROM model_evaluations WHERE tenant_id = $1 AND pipeline_id = $2`,
    [tenantId, pipelineId],
  );
  return rows[0];
}

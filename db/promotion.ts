import { Pool } from 'pg';
import { NotFoundError } from '../common/errors';
import { inTransaction } from './pool';

/**
 * Promotion of a pipeline's candidate (workflows/pipelines.ts, stage 7): the alias moves to the candidate and its
 * previous holder keeps an alias of its own, `previous-<alias>`, in one transaction under the model lock (the lock
 * every registry write takes, db/models.ts), with ONE audit event `alias_set` whose details name the pipeline. That
 * event is the idempotency key: a retried activity finds it and returns the move it recorded instead of moving again.
 */

export interface PromotionRequest {
  tenantId: string;
  modelName: string;
  alias: string;
  /** The version to promote. */
  version: number;
  /**
   * The version id the alias pointed at when the candidate was evaluated (null: it pointed nowhere). When the alias
   * has moved since, the comparison the gate made no longer holds, and promotion refuses (AliasMovedError).
   */
  expectedCurrentVersionId: string | null;
  pipelineId: string;
  actor: string;
  /** The reviewer who approved it (principal id), recorded in the event's details; absent without an approval. */
  approvedBy?: string;
}

export interface Promotion {
  alias: string;
  version: number;
  /** The version the alias named before, now also named by previousAlias; absent when the alias is new. */
  previousVersion?: number;
  previousAlias?: string;
  /** False when a retry found the move its earlier attempt made. */
  moved: boolean;
}

/** The alias that keeps the previous holder of `alias`. */
export function previousAliasOf(alias: string): string {
  return `previous-${alias}`;
}

/** The alias moved after the gate compared against its holder; promoting now would skip that comparison. */
export class AliasMovedError extends Error {
  constructor(
    readonly alias: string,
    readonly expected: number | null,
    readonly actual: number | null,
  ) {
    super(
      `alias ${alias} moved since the candidate was evaluated (it pointed at ${expected === null ? 'nothing' : `version ${expected}`}, ` +
        `now ${actual === null ? 'nothing' : `version ${actual}`}); nothing was promoted`,
    );
    this.name = 'AliasMovedError';
  }
}

/**
 * Moves `alias` to `version` and `previous-<alias>` to the alias's previous holder, atomically, once per pipeline.
 * Throws NotFoundError for an unknown model or version, AliasMovedError when the alias no longer points where the
 * evaluation saw it.
 */
export async function promoteVersion(pool: Pool, req: PromotionRequest): Promise<Promotion> {
  return inTransaction(pool, async (client) => {
    const model = await client.query<{ id: string }>(
      'SELECT id FROM models WHERE tenant_id = $1 AND name = $2 FOR UPDATE',
      [req.tenantId, req.modelName],
    );
    const modelId = model.rows[0]?.id;
    if (!modelId) throw new NotFoundError('model', req.modelName, 'name');

    const recorded = await client.query<{ details: Promotion }>(
      `SELECT details FROM audit_events WHERE tenant_id = $1 AND entity_type = 'model' AND entity_id = $2
         AND action = 'alias_set' AND details->>'pipelineId' = $3 ORDER BY id LIMIT 1`,
      [req.tenantId, req.modelName, req.pipelineId],
    );
    if (recorded.rows[0]) {
      const d = recorded.rows[0].details;
      return {
        alias: d.alias,
        version: d.version,
        ...(d.previousVersion !== undefined ? { previousVersion: d.previousVersion } : {}),
        ...(d.previousAlias !== undefined ? { previousAlias: d.previousAlias } : {}),
        moved: false,
      };
    }

    const target = await client.query<{ id: string }>(
      'SELECT id FROM model_versions WHERE tenant_id = $1 AND model_id = $2 AND version = $3',
      [req.tenantId, modelId, req.version],
    );
    if (!target.rows[0])
      throw new NotFoundError(`version of model ${JSON.stringify(req.modelName)}`, String(req.version), 'version');
    const current = await client.query<{ versionId: string; version: number }>(
      `SELECT v.id AS "versionId", v.version FROM model_aliases a JOIN model_versions v ON v.id = a.version_id
       WHERE a.tenant_id = $1 AND a.model_id = $2 AND a.alias = $3`,
      [req.tenantId, modelId, req.alias],
    );
    const holder = current.rows[0];
    if ((holder?.versionId ?? null) !== req.expectedCurrentVersionId) {
      const expected = req.expectedCurrentVersionId
        ? await client.query<{ version: number }>(
            'SELECT version FROM model_versions WHERE tenant_id = $1 AND id = $2',
            [req.tenantId, req.expectedCurrentVersionId],
          )
        : undefined;
      throw new AliasMovedError(req.alias, expected?.rows[0]?.version ?? null, holder?.version ?? null);
    }

    const upsert = `INSERT INTO model_aliases (tenant_id, model_id, alias, version_id) VALUES ($1, $2, $3, $4)
      ON CONFLICT (model_id, alias) DO UPDATE SET version_id = EXCLUDED.version_id, updated_at = now()`;
    await client.query(upsert, [req.tenantId, modelId, req.alias, target.rows[0].id]);
    const previousAlias = holder ? previousAliasOf(req.alias) : undefined;
    if (holder) await client.query(upsert, [req.tenantId, modelId, previousAlias, holder.versionId]);
    await client.query('UPDATE models SET updated_at = clock_timestamp() WHERE tenant_id = $1 AND id = $2', [
      req.tenantId,
      modelId,
    ]);
    const promotion = {
      alias: req.alias,
      version: req.version,
      ...(holder ? { previousVersion: holder.version, previousAlias } : {}),
    };
    await client.query(
      `INSERT INTO audit_events (tenant_id, entity_type, entity_id, action, actor, details)
       VALUES ($1, 'model', $2, 'alias_set', $3, $4)`,
      [
        req.tenantId,
        req.modelName,
        req.actor,
        JSON.stringify({
          ...promotion,
          pipelineId: req.pipelineId,
          ...(req.approvedBy !== undefined ? { approvedBy: req.approvedBy } : {}),
        }),
      ],
    );
    return { ...promotion, moved: true };
  });
}

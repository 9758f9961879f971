import { Pool, PoolClient } from 'pg';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../common/errors';
import { inTransaction, Queryable } from './pool';
import { ModelVersion, VERSION_COLUMNS } from './registry';

/**
 * The model registry's REST side (MLflow's vocabulary: registered models, versions, aliases, tags). Every write runs
 * in one transaction that locks the model row first, so all changes to one model (including registerModelVersion,
 * which takes the same lock) are serialised, and writes its audit event in that transaction: the trail's order is the
 * order the changes took effect. Audit events are keyed by model name (entity_type 'model'), so the trail of a name
 * outlives a deleted model.
 */

export type ModelStatus = ModelVersion['status'];

export interface RegisteredModel {
  id: string;
  name: string;
  description: string | null;
  tags: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  latestVersion: number | null;
  versionCount: number;
  /** alias → version number */
  aliases: Record<string, number>;
  /** Aliases only an approver (or a pipeline's approval) may move: `champion` always, and those set on the model. */
  protectedAliases: string[];
}

/** The alias every model protects, whatever its `protected_aliases` say (README: Approvals and protected aliases). */
export const ALWAYS_PROTECTED_ALIAS = 'champion';

/** Whether moving or deleting `alias` needs an approver, given the model's stored `protected_aliases`. */
export function isProtectedAlias(alias: string, stored: readonly string[]): boolean {
  return alias === ALWAYS_PROTECTED_ALIAS || stored.includes(alias);
}

/**
 * Whether the caller of a registry write may move protected aliases (an approver or above). Routes pass it; a
 * pipeline's promotion does not come through here (db/promotion.ts), it runs after the approval the pipeline asked for.
 */
export interface AliasAuthority {
  mayMoveProtected: boolean;
}

export interface ModelVersionDetail extends ModelVersion {
  /** Aliases pointing at this version, sorted. */
  aliases: string[];
  artifact: { id: string; sha256: string; mediaType: string; sizeBytes: number } | null;
}

export interface AuditEvent {
  id: number;
  action: string;
  actor: string;
  details: Record<string, unknown>;
  createdAt: string;
}

/** A patch's tags: a string sets the key, null removes it. */
export type TagsPatch = Record<string, string | null>;

const MODEL_COLUMNS = `m.id, m.name, m.description, m.tags, m.created_at AS "createdAt", m.updated_at AS "updatedAt",
  (SELECT max(v.version) FROM model_versions v WHERE v.model_id = m.id) AS "latestVersion",
  (SELECT count(*)::int FROM model_versions v WHERE v.model_id = m.id) AS "versionCount",
  COALESCE((SELECT jsonb_object_agg(a.alias, v.version) FROM model_aliases a JOIN model_versions v ON v.id = a.version_id
            WHERE a.model_id = m.id), '{}'::jsonb) AS aliases,
  ARRAY(SELECT DISTINCT p FROM unnest(m.protected_aliases || ARRAY['${ALWAYS_PROTECTED_ALIAS}']) p ORDER BY p) AS "protectedAliases"`;

const DETAIL_COLUMNS = `${VERSION_COLUMNS},
  COALESCE((SELECT array_agg(a.alias ORDER BY a.alias) FROM model_aliases a WHERE a.version_id = v.id), '{}'::text[]) AS aliases,
  CASE WHEN ar.id IS NULL THEN NULL
       ELSE jsonb_build_object('id', ar.id, 'sha256', ar.sha256, 'mediaType', ar.media_type, 'sizeBytes', ar.size_bytes) END AS artifact`;

const DETAIL_FROM = `model_versions v JOIN models m ON m.id = v.model_id LEFT JOIN artifacts ar ON ar.id = v.artifact_id`;

async function audit(
  db: Queryable,
  tenantId: string,
  modelName: string,
  action: string,
  actor: string,
  details: Record<string, unknown>,
): Promise<void> {
  await db.query(
    `INSERT INTO audit_events (tenant_id, entity_type, entity_id, action, actor, details) VALUES ($1, 'model', $2, $3, $4, $5)`,
    [tenantId, modelName, action, actor, JSON.stringify(details)],
  );
}

interface LockedModel {
  id: string;
  description: string | null;
  tags: Record<string, string>;
  /** As stored (without the always protected `champion`). */
  protectedAliases: string[];
}

/** ForbiddenError `protected_alias` when `alias` is protected on the model and the caller may not move it. */
function checkAliasAuthority(model: LockedModel, name: string, alias: string, authority: AliasAuthority): void {
  if (!authority.mayMoveProtected && isProtectedAlias(alias, model.protectedAliases))
    throw new ForbiddenError(
      `alias ${JSON.stringify(alias)} of model ${JSON.stringify(name)} is protected: moving or deleting it needs the ` +
        "approver role (or a pipeline's approval)",
      'protected_alias',
      'alias',
    );
}

/**
 * The protected aliases (`champion`, the model's own list) that point somewhere, as `{alias: version}`, read under the
 * model lock; `versionId` narrows them to those pointing at that version.
 */
async function protectedAliasesSet(
  client: PoolClient,
  tenantId: string,
  model: LockedModel,
  versionId?: string,
): Promise<Record<string, number>> {
  const { rows } = await client.query<{ alias: string; version: number }>(
    `SELECT a.alias, v.version FROM model_aliases a JOIN model_versions v ON v.id = a.version_id
     WHERE a.tenant_id = $1 AND a.model_id = $2 AND ($3::uuid IS NULL OR a.version_id = $3::uuid) ORDER BY a.alias`,
    [tenantId, model.id, versionId ?? null],
  );
  return Object.fromEntries(
    rows.filter((r) => isProtectedAlias(r.alias, model.protectedAliases)).map((r) => [r.alias, r.version]),
  );
}

/** How protected aliases read in a message: `"champion" (v3), "prod" (v2)`. */
function describeAliases(aliases: Record<string, number>): string {
  return Object.entries(aliases)
    .map(([alias, version]) => `${JSON.stringify(alias)} (v${version})`)
    .join(', ');
}

/** Locks the model row for the rest of the transaction; NotFoundError (field `name`) when there is none. */
async function lockModel(client: PoolClient, tenantId: string, name: string): Promise<LockedModel> {
  const { rows } = await client.query<LockedModel>(
    `SELECT id, description, tags, protected_aliases AS "protectedAliases" FROM models
     WHERE tenant_id = $1 AND name = $2 FOR UPDATE`,
    [tenantId, name],
  );
  if (!rows[0]) throw new NotFoundError('model', name, 'name');
  return rows[0];
}

/** clock_timestamp(), not now(): a change that waited for the model lock is newer than the one it waited for. */
async function touchModel(client: PoolClient, tenantId: string, modelId: string): Promise<void> {
  await client.query('UPDATE models SET updated_at = clock_timestamp() WHERE tenant_id = $1 AND id = $2', [
    tenantId,
    modelId,
  ]);
}

function applyTagsPatch(current: Record<string, string>, patch: TagsPatch, maxTags: number, field: string) {
  const next: Record<string, string> = { ...current };
  const set: Record<string, string> = {};
  const removed: string[] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      if (Object.prototype.hasOwnProperty.call(next, key)) {
        delete next[key];
        removed.push(key);
      }
    } else if (next[key] !== value) {
      next[key] = value;
      set[key] = value;
    }
  }
  if (Object.keys(next).length > maxTags) {
    throw new ValidationError(
      `${field}: at most ${maxTags} tags; this change would leave ${Object.keys(next).length}`,
      field,
    );
  }
  const changed = Object.keys(set).length > 0 || removed.length > 0;
  return {
    next,
    changed,
    change: { ...(Object.keys(set).length ? { set } : {}), ...(removed.length ? { removed } : {}) },
  };
}

export async function getModel(db: Queryable, tenantId: string, name: string): Promise<RegisteredModel | undefined> {
  const { rows } = await db.query<RegisteredModel>(
    `SELECT ${MODEL_COLUMNS} FROM models m WHERE m.tenant_id = $1 AND m.name = $2`,
    [tenantId, name],
  );
  return rows[0];
}

/** Most recently changed first (a new version, alias or tag counts as a change). */
export async function listModels(db: Queryable, tenantId: string, limit: number): Promise<RegisteredModel[]> {
  const { rows } = await db.query<RegisteredModel>(
    `SELECT ${MODEL_COLUMNS} FROM models m WHERE m.tenant_id = $1 ORDER BY m.updated_at DESC, m.name LIMIT $2`,
    [tenantId, limit],
  );
  return rows;
}

export interface NewModel {
  tenantId: string;
  name: string;
  description?: string;
  tags?: Record<string, string>;
  actor: string;
}

/** Creates a model; ConflictError `model_exists` (field `name`) when the name is taken, also by a concurrent create. */
export async function createModel(pool: Pool, input: NewModel): Promise<RegisteredModel> {
  return inTransaction(pool, async (client) => {
    const inserted = await client.query<{ id: string }>(
      `INSERT INTO models (tenant_id, name, description, tags) VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant_id, name) DO NOTHING RETURNING id`,
      [input.tenantId, input.name, input.description ?? null, JSON.stringify(input.tags ?? {})],
    );
    if (!inserted.rows[0])
      throw new ConflictError(`model ${JSON.stringify(input.name)} already exists`, 'model_exists', 'name');
    await audit(client, input.tenantId, input.name, 'created', input.actor, {
      modelId: inserted.rows[0].id,
      ...(input.description !== undefined ? { description: input.description } : {}),
      tags: input.tags ?? {},
    });
    return (await getModel(client, input.tenantId, input.name))!;
  });
}

export interface ModelPatch {
  description?: string | null;
  tags?: TagsPatch;
}

/** A model patch; `protectedAliases` replaces the stored list (the caller checks that an approver sends it). */
export interface RegisteredModelPatch extends ModelPatch {
  protectedAliases?: string[];
}

/**
 * What a description/tags patch changes on a model or a version: the new values, and the `changes` recorded in the
 * audit event (empty when the patch changes nothing).
 */
function describeAndTagChanges(
  current: { description: string | null; tags: Record<string, string> },
  patch: ModelPatch,
  maxTags: number,
): { changes: Record<string, unknown>; description: string | null; tags: Record<string, string> } {
  const changes: Record<string, unknown> = {};
  let description = current.description;
  if (patch.description !== undefined && patch.description !== current.description) {
    changes.description = { from: current.description, to: patch.description };
    description = patch.description;
  }
  let tags = current.tags;
  if (patch.tags) {
    const applied = applyTagsPatch(current.tags, patch.tags, maxTags, 'tags');
    if (applied.changed) {
      changes.tags = applied.change;
      tags = applied.next;
    }
  }
  return { changes, description, tags };
}

/**
 * Applies a patch; writes an `updated` event with what changed (none, and no event, when nothing did). Protected
 * aliases are stored sorted, without repeats.
 */
export async function updateModel(
  pool: Pool,
  tenantId: string,
  name: string,
  patch: RegisteredModelPatch,
  actor: string,
  maxTags: number,
): Promise<RegisteredModel> {
  return inTransaction(pool, async (client) => {
    const model = await lockModel(client, tenantId, name);
    const { changes, description, tags } = describeAndTagChanges(model, patch, maxTags);
    let protectedAliases = model.protectedAliases;
    if (patch.protectedAliases !== undefined) {
      const next = [...new Set(patch.protectedAliases)].sort();
      if (next.join('\n') !== [...model.protectedAliases].sort().join('\n')) {
        changes.protectedAliases = { from: model.protectedAliases, to: next };
        protectedAliases = next;
      }
    }
    if (Object.keys(changes).length > 0) {
      await client.query(
        `UPDATE models SET description = $3, tags = $4, protected_aliases = $5, updated_at = clock_timestamp()
         WHERE tenant_id = $1 AND id = $2`,
        [tenantId, model.id, description, JSON.stringify(tags), protectedAliases],
      );
      await audit(client, tenantId, name, 'updated', actor, { changes });
    }
    return (await getModel(client, tenantId, name))!;
  });
}

/**
 * Deletes a model with its versions and aliases (ON DELETE CASCADE). Artifacts and datasets stay: they are content
 * addressed and may be shared by other versions, models and datasets. Deleting a model a protected alias points into
 * takes that alias away (and lets a later job recreate the name with versions of its own): ForbiddenError
 * `protected_alias` (field `name`) unless `authority.mayMoveProtected`, checked under the model lock.
 */
export async function deleteModel(
  pool: Pool,
  tenantId: string,
  name: string,
  actor: string,
  authority: AliasAuthority,
): Promise<void> {
  await inTransaction(pool, async (client) => {
    const model = await lockModel(client, tenantId, name);
    if (!authority.mayMoveProtected) {
      const set = await protectedAliasesSet(client, tenantId, model);
      if (Object.keys(set).length > 0)
        throw new ForbiddenError(
          `model ${JSON.stringify(name)} has protected aliases set (${describeAliases(set)}): deleting it needs the ` +
            'approver role',
          'protected_alias',
          'name',
        );
    }
    const summary = (await getModel(client, tenantId, name))!;
    const versions = await client.query<{ version: number }>(
      'SELECT version FROM model_versions WHERE tenant_id = $1 AND model_id = $2 ORDER BY version',
      [tenantId, model.id],
    );
    await client.query('DELETE FROM models WHERE tenant_id = $1 AND id = $2', [tenantId, model.id]);
    await audit(client, tenantId, name, 'deleted', actor, {
      modelId: model.id,
      versions: versions.rows.map((r) => r.version),
      aliases: summary.aliases,
    });
  });
}

/** Versions with their aliases and artifact metadata, oldest first; undefined when the model does not exist. */
export async function listVersionDetails(
  db: Queryable,
  tenantId: string,
  name: string,
): Promise<ModelVersionDetail[] | undefined> {
  const model = await db.query('SELECT 1 FROM models WHERE tenant_id = $1 AND name = $2', [tenantId, name]);
  if (model.rowCount === 0) return undefined;
  const { rows } = await db.query<ModelVersionDetail>(
    `SELECT ${DETAIL_COLUMNS} FROM ${DETAIL_FROM} WHERE m.tenant_id = $1 AND m.name = $2 ORDER BY v.version`,
    [tenantId, name],
  );
  return rows;
}

/** One version; NotFoundError naming `name` (no such model) or `version`. */
export async function getVersionDetail(
  db: Queryable,
  tenantId: string,
  name: string,
  version: number,
): Promise<ModelVersionDetail> {
  const { rows } = await db.query<ModelVersionDetail>(
    `SELECT ${DETAIL_COLUMNS} FROM ${DETAIL_FROM} WHERE m.tenant_id = $1 AND m.name = $2 AND v.version = $3`,
    [tenantId, name, version],
  );
  if (rows[0]) return rows[0];
  await assertModelExists(db, tenantId, name);
  throw new NotFoundError(`version of model ${JSON.stringify(name)}`, String(version), 'version');
}

async function assertModelExists(db: Queryable, tenantId: string, name: string): Promise<void> {
  const model = await db.query('SELECT 1 FROM models WHERE tenant_id = $1 AND name = $2', [tenantId, name]);
  if (model.rowCount === 0) throw new NotFoundError('model', name, 'name');
}

export interface VersionPatch extends ModelPatch {
  status?: ModelStatus;
}

/**
 * Applies a patch to a version; writes a `version_updated` event with what changed (none, and no event, when nothing
 * did). Changing the status of a version a protected alias points at (ARCHIVED or FAILED_VALIDATION takes it out of
 * service under that alias) needs `authority.mayMoveProtected`: ForbiddenError `protected_alias` (field `status`),
 * checked under the model lock.
 */
export async function updateModelVersion(
  pool: Pool,
  tenantId: string,
  name: string,
  version: number,
  patch: VersionPatch,
  actor: string,
  maxTags: number,
  authority: AliasAuthority,
): Promise<ModelVersionDetail> {
  return inTransaction(pool, async (client) => {
    const model = await lockModel(client, tenantId, name);
    const { rows } = await client.query<{
      id: string;
      description: string | null;
      tags: Record<string, string>;
      status: ModelStatus;
    }>(
      'SELECT id, description, tags, status FROM model_versions WHERE tenant_id = $1 AND model_id = $2 AND version = $3 FOR UPDATE',
      [tenantId, model.id, version],
    );
    const current = rows[0];
    if (!current) throw new NotFoundError(`version of model ${JSON.stringify(name)}`, String(version), 'version');
    const { changes, description, tags } = describeAndTagChanges(current, patch, maxTags);
    let status = current.status;
    if (patch.status !== undefined && patch.status !== current.status) {
      if (!authority.mayMoveProtected) {
        const set = await protectedAliasesSet(client, tenantId, model, current.id);
        if (Object.keys(set).length > 0)
          throw new ForbiddenError(
            `status: version ${version} of model ${JSON.stringify(name)} is what protected aliases point at ` +
              `(${describeAliases(set)}): changing its status needs the approver role`,
            'protected_alias',
            'status',
          );
      }
      changes.status = { from: current.status, to: patch.status };
      status = patch.status;
    }
    if (Object.keys(changes).length > 0) {
      await client.query(
        'UPDATE model_versions SET description = $3, tags = $4, status = $5 WHERE tenant_id = $1 AND id = $2',
        [tenantId, current.id, description, JSON.stringify(tags), status],
      );
      await touchModel(client, tenantId, model.id);
      await audit(client, tenantId, name, 'version_updated', actor, { version, changes });
    }
    return getVersionDetail(client, tenantId, name, version);
  });
}

export interface AliasMove {
  alias: string;
  version: number;
  /** The version the alias pointed at before; absent when the alias is new. */
  previousVersion?: number;
}

/**
 * Points an alias at a version, creating it or moving it with one upsert on (model_id, alias), so there is never a
 * second row; the model lock makes concurrent moves take effect one after the other, each event's previousVersion
 * being the version the event before it set. Re-pointing an alias at the version it already names changes nothing
 * and writes no event. ForbiddenError `protected_alias` for a protected alias (checked under the lock, so a concurrent
 * change of the model's protected aliases is seen) unless `authority.mayMoveProtected`.
 */
export async function setAlias(
  pool: Pool,
  tenantId: string,
  name: string,
  alias: string,
  version: number,
  actor: string,
  authority: AliasAuthority,
): Promise<AliasMove> {
  return inTransaction(pool, async (client) => {
    const model = await lockModel(client, tenantId, name);
    checkAliasAuthority(model, name, alias, authority);
    const target = await client.query<{ id: string }>(
      'SELECT id FROM model_versions WHERE tenant_id = $1 AND model_id = $2 AND version = $3',
      [tenantId, model.id, version],
    );
    if (!target.rows[0])
      throw new NotFoundError(`version of model ${JSON.stringify(name)}`, String(version), 'version');
    const previous = await client.query<{ version: number }>(
      `SELECT v.version FROM model_aliases a JOIN model_versions v ON v.id = a.version_id
       WHERE a.tenant_id = $1 AND a.model_id = $2 AND a.alias = $3`,
      [tenantId, model.id, alias],
    );
    const previousVersion = previous.rows[0]?.version;
    if (previousVersion === version) return { alias, version, previousVersion };
    await client.query(
      `INSERT INTO model_aliases (tenant_id, model_id, alias, version_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (model_id, alias) DO UPDATE SET version_id = EXCLUDED.version_id, updated_at = now()`,
      [tenantId, model.id, alias, target.rows[0].id],
    );
    await touchModel(client, tenantId, model.id);
    await audit(client, tenantId, name, 'alias_set', actor, {
      alias,
      version,
      ...(previousVersion !== undefined ? { previousVersion } : {}),
    });
    return { alias, version, ...(previousVersion !== undefined ? { previousVersion } : {}) };
  });
}

/** The version an alias points at; NotFoundError naming `name` or `alias`. */
export async function resolveAlias(
  db: Queryable,
  tenantId: string,
  name: string,
  alias: string,
): Promise<ModelVersionDetail> {
  const { rows } = await db.query<ModelVersionDetail>(
    `SELECT ${DETAIL_COLUMNS} FROM ${DETAIL_FROM} JOIN model_aliases al ON al.version_id = v.id
     WHERE m.tenant_id = $1 AND m.name = $2 AND al.alias = $3`,
    [tenantId, name, alias],
  );
  if (rows[0]) return rows[0];
  await assertModelExists(db, tenantId, name);
  throw new NotFoundError(`alias of model ${JSON.stringify(name)}`, alias, 'alias');
}

/** The highest version number (MLflow's `latest`); NotFoundError naming `version` when the model has none. */
export async function latestVersion(db: Queryable, tenantId: string, name: string): Promise<ModelVersionDetail> {
  const { rows } = await db.query<ModelVersionDetail>(
    `SELECT ${DETAIL_COLUMNS} FROM ${DETAIL_FROM} WHERE m.tenant_id = $1 AND m.name = $2 ORDER BY v.version DESC LIMIT 1`,
    [tenantId, name],
  );
  if (rows[0]) return rows[0];
  await assertModelExists(db, tenantId, name);
  throw new NotFoundError(`latest version of model ${JSON.stringify(name)}`, 'latest', 'version');
}

/** Removes an alias; NotFoundError naming `alias`; ForbiddenError `protected_alias` as setAlias. */
export async function deleteAlias(
  pool: Pool,
  tenantId: string,
  name: string,
  alias: string,
  actor: string,
  authority: AliasAuthority,
): Promise<void> {
  await inTransaction(pool, async (client) => {
    const model = await lockModel(client, tenantId, name);
    checkAliasAuthority(model, name, alias, authority);
    const deleted = await client.query<{ version: number }>(
      `DELETE FROM model_aliases a USING model_versions v
       WHERE a.tenant_id = $1 AND a.model_id = $2 AND a.alias = $3 AND v.id = a.version_id RETURNING v.version`,
      [tenantId, model.id, alias],
    );
    if (!deleted.rows[0]) throw new NotFoundError(`alias of model ${JSON.stringify(name)}`, alias, 'alias');
    await touchModel(client, tenantId, model.id);
    await audit(client, tenantId, name, 'alias_deleted', actor, { alias, version: deleted.rows[0].version });
  });
}

/**
 * The audit trail of a model name, oldest first, after event id `after`. Includes the events of an earlier model of
 * the same name that was deleted; NotFoundError only when the name has neither a model nor any event.
 */
export async function listModelEvents(
  db: Queryable,
  tenantId: string,
  name: string,
  after: number,
  limit: number,
): Promise<AuditEvent[]> {
  const { rows } = await db.query<AuditEvent>(
    `SELECT id::float8 AS id, action, actor, details, created_at AS "createdAt" FROM audit_events
     WHERE tenant_id = $1 AND entity_type = 'model' AND entity_id = $2 AND id > $3 ORDER BY id LIMIT $4`,
    [tenantId, name, after, limit],
  );
  if (rows.length > 0) return rows;
  const known = await db.query(
    `SELECT 1 FROM models WHERE tenant_id = $1 AND name = $2
     UNION ALL SELECT 1 FROM audit_events WHERE tenant_id = $1 AND entity_type = 'model' AND entity_id = $2 LIMIT 1`,
    [tenantId, name],
  );
  if (known.rowCount === 0) throw new NotFoundError('model', name, 'name');
  return rows;
}

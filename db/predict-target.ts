import { NotFoundError } from '../common/errors';
import { Queryable } from './pool';

/** What online predict needs of a model version: which one it is, what produced it, and where its artifact is. */
export interface PredictTarget {
  /** The version's id (model_versions.id): the key of a loaded model. */
  id: string;
  modelName: string;
  version: number;
  flavor: string;
  artifactId: string | null;
}

/** Which version a prediction asks for: by number, by alias, or the default (`defaultAlias`, else the latest). */
export type PredictTargetChoice = { version: number } | { alias: string } | { defaultAlias: string };

interface TargetRow {
  id: string | null;
  modelName: string;
  version: number | null;
  flavor: string | null;
  artifactId: string | null;
}

const COLUMNS = `v.id, m.name AS "modelName", v.version, v.flavor, v.artifact_id AS "artifactId"`;

// One statement per choice, each answering one row when the model exists (its version columns null when the version
// or alias does not), none when it does not: one round trip tells the three answers apart, in one snapshot.
const BY_VERSION = `SELECT ${COLUMNS} FROM models m LEFT JOIN model_versions v ON v.model_id = m.id AND v.version = $3
  WHERE m.tenant_id = $1 AND m.name = $2`;
const BY_ALIAS = `SELECT ${COLUMNS} FROM models m
  LEFT JOIN model_aliases a ON a.model_id = m.id AND a.alias = $3
  LEFT JOIN model_versions v ON v.id = a.version_id
  WHERE m.tenant_id = $1 AND m.name = $2`;
const BY_DEFAULT = `SELECT ${COLUMNS} FROM models m
  LEFT JOIN model_versions v ON v.id = COALESCE(
    (SELECT a.version_id FROM model_aliases a WHERE a.model_id = m.id AND a.alias = $3),
    (SELECT lv.id FROM model_versions lv WHERE lv.model_id = m.id ORDER BY lv.version DESC LIMIT 1))
  WHERE m.tenant_id = $1 AND m.name = $2`;

/**
 * The model version a prediction uses, in one query: the given version number, the given alias, or the default alias
 * if set, else the latest version. The answers and errors are those of getVersionDetail, resolveAlias and
 * latestVersion (db/models.ts): NotFoundError naming `name` (no such model), `version` (no such version, or none at
 * all for the default) or `alias`.
 */
export async function predictTarget(
  db: Queryable,
  tenantId: string,
  name: string,
  choice: PredictTargetChoice,
): Promise<PredictTarget> {
  const [sql, param] =
    'version' in choice
      ? [BY_VERSION, choice.version]
      : 'alias' in choice
        ? [BY_ALIAS, choice.alias]
        : [BY_DEFAULT, choice.defaultAlias];
  const { rows } = await db.query<TargetRow>(sql, [tenantId, name, param]);
  const row = rows[0];
  if (!row) throw new NotFoundError('model', name, 'name');
  if (row.id === null || row.version === null || row.flavor === null) {
    if ('version' in choice)
      throw new NotFoundError(`version of model ${JSON.stringify(name)}`, String(choice.version), 'version');
    if ('alias' in choice) throw new NotFoundError(`alias of model ${JSON.stringify(name)}`, choice.alias, 'alias');
    throw new NotFoundError(`latest version of model ${JSON.stringify(name)}`, 'latest', 'version');
  }
  return { id: row.id, modelName: row.modelName, version: row.version, flavor: row.flavor, artifactId: row.artifactId };
}

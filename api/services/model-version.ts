import type { Pool } from 'pg';
import { NotFoundError } from '../../common/errors';
import { DEFAULT_TENANT } from '../../common/tenant';
import { getVersionDetail, latestVersion, ModelVersionDetail, resolveAlias } from '../../db/models';

/** The alias predict uses when the request names neither a version nor an alias (MLflow's convention). */
export const DEFAULT_PREDICT_ALIAS = 'champion';

/**
 * The model version a prediction uses: the given version number, else the given alias, else the `champion` alias,
 * else the latest version. NotFoundError (field `version`, `alias` or `name`) when that does not exist.
 */
export async function resolvePredictVersion(
  pool: Pool,
  name: string,
  version?: number,
  alias?: string,
): Promise<ModelVersionDetail> {
  if (version !== undefined) return getVersionDetail(pool, DEFAULT_TENANT, name, version);
  if (alias !== undefined) return resolveAlias(pool, DEFAULT_TENANT, name, alias);
  try {
    return await resolveAlias(pool, DEFAULT_TENANT, name, DEFAULT_PREDICT_ALIAS);
  } catch (err) {
    if (err instanceof NotFoundError && err.field === 'alias') return latestVersion(pool, DEFAULT_TENANT, name);
    throw err;
  }
}

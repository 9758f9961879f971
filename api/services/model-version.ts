import type { Pool } from 'pg';
import { NotFoundError } from '../../common/errors';
import { getVersionDetail, latestVersion, ModelVersionDetail, resolveAlias } from '../../db/models';
import { PredictTarget, predictTarget, PredictTargetChoice } from '../../db/predict-target';
import { CoalescedLookup } from './coalesced-lookup';

/** The alias predict uses when the request names neither a version nor an alias (MLflow's convention). */
export const DEFAULT_PREDICT_ALIAS = 'champion';

/**
 * The model version of `tenantId` a prediction uses: the given version number, else the given alias, else the `champion` alias,
 * else the latest version. NotFoundError (field `version`, `alias` or `name`) when that does not exist.
 */
export async function resolvePredictVersion(
  pool: Pool,
  tenantId: string,
  name: string,
  version?: number,
  alias?: string,
): Promise<ModelVersionDetail> {
  if (version !== undefined) return getVersionDetail(pool, tenantId, name, version);
  if (alias !== undefined) return resolveAlias(pool, tenantId, name, alias);
  try {
    return await resolveAlias(pool, tenantId, name, DEFAULT_PREDICT_ALIAS);
  } catch (err) {
    if (err instanceof NotFoundError && err.field === 'alias') return latestVersion(pool, tenantId, name);
    throw err;
  }
}

/**
 * The model version an online prediction uses, chosen as resolvePredictVersion chooses it (same answers and
 * NotFoundErrors) but in one query that reads only what predicting needs; concurrent requests with the same name and
 * choice share queries through `lookups`, each still seeing every change committed before it arrived.
 */
export function resolvePredictTarget(
  pool: Pool,
  lookups: CoalescedLookup<PredictTarget>,
  tenantId: string,
  name: string,
  version?: number,
  alias?: string,
): Promise<PredictTarget> {
  const choice: PredictTargetChoice =
    version !== undefined ? { version } : alias !== undefined ? { alias } : { defaultAlias: DEFAULT_PREDICT_ALIAS };
  const key = JSON.stringify([tenantId, name, version ?? null, alias ?? null]);
  return lookups.get(key, () => predictTarget(pool, tenantId, name, choice));
}

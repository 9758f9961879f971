import { ApplicationFailure } from '@temporalio/activity';
import { ClusteringParams, isInitRef } from '../common/jobs';
import { getArtifactContent } from '../db/artifacts';
import type { Queryable } from '../db/pool';
import { INVALID_JOB_INPUT } from './errors';

/**
 * The params the algorithm runs with: `init` given as a ClusteringInitRef is replaced by the centroids its artifact
 * holds (number[k][d]); anything else (a method name, centroids inline in jobs started before init moved to
 * artifacts) is returned as it is. A missing or malformed artifact fails the job without retries (InvalidJobInput).
 */
export async function resolveInit(
  db: Queryable,
  tenantId: string,
  params: ClusteringParams,
): Promise<ClusteringParams> {
  const init = params.init;
  if (!isInitRef(init)) return params;
  const content = await getArtifactContent(db, tenantId, init.artifactId);
  if (!content)
    throw ApplicationFailure.nonRetryable(`params.init: artifact ${init.artifactId} does not exist`, INVALID_JOB_INPUT);
  let centroids: unknown;
  try {
    centroids = JSON.parse(content.toString('utf8'));
  } catch {
    centroids = undefined;
  }
  const valid =
    Array.isArray(centroids) &&
    centroids.length === init.k &&
    centroids.every((row) => Array.isArray(row) && row.length === init.d && row.every((v) => typeof v === 'number'));
  if (!valid)
    throw ApplicationFailure.nonRetryable(
      `params.init: artifact ${init.artifactId} does not hold ${init.k} × ${init.d} centroids`,
      INVALID_JOB_INPUT,
    );
  return { ...params, init: centroids };
}

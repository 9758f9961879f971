import type { Pool } from 'pg';
import { NotFoundError, UnprocessableError } from '../../common/errors';
import { getArtifactContent } from '../../db/artifacts';
import { ModelVersionDetail, resolveAlias } from '../../db/models';
import { ASSIGNING_FLAVORS, clusteringModelColumns } from '../../ml/evaluation/clustering';
import { EvaluationError } from '../../ml/evaluation/evaluate';

/** The candidate a full pipeline will compare with the alias holder. */
export type PipelineCandidate =
  | { kind: 'training'; task: 'classification' | 'regression'; target: string; holdoutColumns: string[] }
  | { kind: 'clustering'; columns: string[] };

/** Error code of a champion the candidate cannot be compared with (HTTP 422). */
export const INCOMPATIBLE_CHAMPION = 'incompatible_champion';

/**
 * The columns a registered clustering version was fitted on: recorded in its params by a pipeline, else read from its
 * model artifact (a small JSON document); undefined when neither says.
 */
async function clusteringColumns(
  pool: Pool,
  tenantId: string,
  holder: ModelVersionDetail,
): Promise<string[] | undefined> {
  const recorded = holder.params?.columns;
  if (Array.isArray(recorded) && recorded.every((c) => typeof c === 'string')) return recorded as string[];
  if (!holder.artifactId) return undefined;
  const content = await getArtifactContent(pool, tenantId, holder.artifactId);
  if (!content) return undefined;
  try {
    return clusteringModelColumns(content, 'champion');
  } catch (err) {
    if (err instanceof EvaluationError) return undefined;
    throw err;
  }
}

/**
 * Refuses, before anything trains, a pipeline whose `promote.alias` of `model.name` (in `tenantId`) points at a version the candidate
 * cannot be compared with on the holdout: an MLP candidate needs an MLP champion of the same task (flavor
 * `mlp-<task>`) predicting the same target from columns the holdout has; a clustering candidate needs a clustering
 * champion that can assign new rows (kmeans, minibatch-kmeans, som, gmm), fitted on the same columns. No holder, or
 * no model of that name yet, is fine (no champion). UnprocessableError (422, code incompatible_champion) naming
 * `promote.alias`. The evaluation checks again, for an alias moved after this.
 */
export async function checkChampion(
  pool: Pool,
  tenantId: string,
  modelName: string,
  alias: string,
  candidate: PipelineCandidate,
): Promise<void> {
  const holder = await resolveAlias(pool, tenantId, modelName, alias).catch((err: unknown) => {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  });
  if (!holder) return;
  const who = `alias ${JSON.stringify(alias)} of model ${JSON.stringify(modelName)} points at version ${holder.version}`;
  const refuse = (why: string): never => {
    throw new UnprocessableError(
      `promote.alias: ${who}, ${why}, so the candidate cannot be compared with it on the holdout; ` +
        'choose another model name or alias',
      'promote.alias',
      INCOMPATIBLE_CHAMPION,
    );
  };
  if (candidate.kind === 'training') {
    const flavor = `mlp-${candidate.task}`;
    if (holder.flavor !== flavor) refuse(`a ${holder.flavor} model (the candidate is ${flavor})`);
    const target = holder.params?.target;
    if (typeof target === 'string' && target !== candidate.target)
      refuse(`which predicts ${JSON.stringify(target)} (the candidate predicts ${JSON.stringify(candidate.target)})`);
    const features = holder.params?.features;
    if (Array.isArray(features)) {
      const missing = features.filter((f) => typeof f === 'string' && !candidate.holdoutColumns.includes(f));
      if (missing.length > 0) refuse(`which needs column(s) ${JSON.stringify(missing)} that the holdout lacks`);
    }
    return;
  }
  if (!ASSIGNING_FLAVORS.includes(holder.flavor))
    refuse(`a ${holder.flavor} model (a clustering candidate compares with ${ASSIGNING_FLAVORS.join(', ')} models)`);
  const columns = await clusteringColumns(pool, tenantId, holder);
  if (columns && JSON.stringify(columns) !== JSON.stringify(candidate.columns))
    refuse(
      `fitted on columns ${JSON.stringify(columns)} (the candidate clusters ${JSON.stringify(candidate.columns)})`,
    );
}

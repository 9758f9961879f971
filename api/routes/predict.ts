import Router from '@koa/router';
import { z } from 'zod';
import { NotFoundError } from '../../common/errors';
import { DEFAULT_TENANT } from '../../common/tenant';
import { getArtifactContent } from '../../db/artifacts';
import { getVersionDetail, latestVersion, ModelVersionDetail, resolveAlias } from '../../db/models';
import { initComputeBackend } from '../../ml/backend';
import { loadTrainedModel, predictTrained, TrainedModel } from '../../ml/training/predict';
import { readJsonBody } from '../body';
import { ApiDeps } from '../context';
import { modelName } from '../schemas/common';
import { aliasParam } from '../schemas/models';
import { parseWith } from '../schemas/validate';
import { ModelCache } from '../services/model-cache';
import { ClusteringModelArtifact, inputMatrix, predictClusters } from '../services/predict-clustering';

/** Documented limits of online prediction (README: Limits). */
export const PREDICT_LIMITS = { maxRows: 10_000, maxBodyBytes: 8 * 1024 * 1024, cachedModels: 32 } as const;

/** The alias predict uses when the request names neither a version nor an alias (MLflow's convention). */
export const DEFAULT_PREDICT_ALIAS = 'champion';

const predictRequest = z
  .strictObject({
    inputs: z.array(z.unknown()).min(1).max(PREDICT_LIMITS.maxRows),
    version: z.number().int().min(1).max(2_147_483_647).optional(),
    alias: aliasParam.optional(),
  })
  .refine((r) => r.version === undefined || r.alias === undefined, { message: 'give version or alias, not both', path: ['alias'] });

/** `POST /models/:name/predict`: online assignment with a registered model, no workflow. */
export function predictRouter(deps: ApiDeps): Router {
  const router = new Router();
  type Loaded = { kind: 'clustering'; model: ClusteringModelArtifact } | { kind: 'trained'; trained: TrainedModel };
  const cache = new ModelCache<Loaded>(PREDICT_LIMITS.cachedModels, (l) => l.kind === 'trained' && l.trained.dispose());

  async function resolveVersion(name: string, version?: number, alias?: string): Promise<ModelVersionDetail> {
    if (version !== undefined) return getVersionDetail(deps.pool, DEFAULT_TENANT, name, version);
    if (alias !== undefined) return resolveAlias(deps.pool, DEFAULT_TENANT, name, alias);
    try {
      return await resolveAlias(deps.pool, DEFAULT_TENANT, name, DEFAULT_PREDICT_ALIAS);
    } catch (err) {
      if (err instanceof NotFoundError && err.field === 'alias') return latestVersion(deps.pool, DEFAULT_TENANT, name);
      throw err;
    }
  }

  router.post('/models/:name/predict', async (ctx) => {
    const name = parseWith(modelName, ctx.params.name, 'name');
    const request = parseWith(predictRequest, await readJsonBody(ctx, PREDICT_LIMITS.maxBodyBytes));
    const version = await resolveVersion(name, request.version, request.alias);
    if (!version.artifactId) throw new NotFoundError(`artifact of model ${name} version`, String(version.version), 'version');
    const loaded = await cache.get(version.id, async (): Promise<Loaded> => {
      const content = await getArtifactContent(deps.pool, DEFAULT_TENANT, version.artifactId!);
      if (!content) throw new Error(`artifact ${version.artifactId} of ${name} v${version.version} is missing`);
      return version.flavor.startsWith('mlp-')
        ? { kind: 'trained', trained: await loadTrainedModel(content) }
        : { kind: 'clustering', model: JSON.parse(content.toString('utf8')) as ClusteringModelArtifact };
    });
    await initComputeBackend();
    const head = { model: name, version: version.version, flavor: version.flavor };
    if (loaded.kind === 'trained') {
      const { features } = loaded.trained;
      const prediction = await predictTrained(loaded.trained, inputMatrix(request.inputs, features));
      ctx.body = { ...head, columns: features, ...prediction };
      return;
    }
    const { model } = loaded;
    ctx.body = { ...head, columns: model.columns, ...predictClusters(model, inputMatrix(request.inputs, model.columns), request.inputs.length) };
  });

  return router;
}

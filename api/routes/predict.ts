import Router from '@koa/router';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { NotFoundError, ValidationError } from '../../common/errors';
import { DEFAULT_TENANT } from '../../common/tenant';
import { getArtifactContent, getArtifactMeta } from '../../db/artifacts';
import { getDataset } from '../../db/datasets';
import { getVersionDetail, latestVersion, ModelVersionDetail, resolveAlias } from '../../db/models';
import { estimateBatchPredictMemoryMb } from '../../gpu/memory-estimate';
import { initComputeBackend } from '../../ml/backend';
import { TRAINING_LIMITS } from '../../ml/training/spec';
import { loadPredictor, Predictor, UnsupportedFlavorError } from '../../ml/serving/predictor';
import { readJsonBody } from '../body';
import { ApiDeps } from '../context';
import { modelName, resources, uuid } from '../schemas/common';
import { aliasParam } from '../schemas/models';
import { parseWith } from '../schemas/validate';
import { placeCompute } from '../services/compute-placement';
import { ModelCache } from '../services/model-cache';
import { inputMatrix } from '../services/input-matrix';
import { jobLinks } from './clustering';

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
  .refine((r) => r.version === undefined || r.alias === undefined, {
    message: 'give version or alias, not both',
    path: ['alias'],
  });

const batchPredictRequest = z
  .strictObject({
    datasetId: uuid,
    resources: resources.optional(),
    version: z.number().int().min(1).max(2_147_483_647).optional(),
    alias: aliasParam.optional(),
  })
  .refine((r) => r.version === undefined || r.alias === undefined, {
    message: 'give version or alias, not both',
    path: ['alias'],
  });

/** `POST /models/:name/predict`: online assignment with a registered model, no workflow. */
export function predictRouter(deps: ApiDeps): Router {
  const router = new Router();
  const cache = new ModelCache<Predictor>(PREDICT_LIMITS.cachedModels, (predictor) => predictor.dispose());

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
    if (!version.artifactId)
      throw new NotFoundError(`artifact of model ${name} version`, String(version.version), 'version');
    const predictor = await cache.get(version.id, async () => {
      const content = await getArtifactContent(deps.pool, DEFAULT_TENANT, version.artifactId!);
      if (!content) throw new Error(`artifact ${version.artifactId} of ${name} v${version.version} is missing`);
      await initComputeBackend();
      return loadPredictor(version.flavor, content).catch((err: unknown) => {
        throw err instanceof UnsupportedFlavorError ? new ValidationError(err.message, 'name') : err;
      });
    });
    const points = inputMatrix(request.inputs, predictor.columns);
    ctx.body = {
      model: name,
      version: version.version,
      flavor: version.flavor,
      columns: predictor.columns,
      ...(await predictor.predict(points, request.inputs.length)),
    };
  });

  // Batch prediction over a stored dataset is a durable job; the version is resolved now, so the job keeps
  // predicting with it even if an alias moves while it runs.
  router.post('/models/:name/batch-predict', async (ctx) => {
    const name = parseWith(modelName, ctx.params.name, 'name');
    const request = parseWith(batchPredictRequest, await readJsonBody(ctx, 64 * 1024));
    const dataset = await getDataset(deps.pool, DEFAULT_TENANT, request.datasetId);
    if (!dataset) throw new NotFoundError('dataset', request.datasetId, 'datasetId');
    const version = await resolveVersion(name, request.version, request.alias);
    if (!version.artifactId)
      throw new NotFoundError(`artifact of model ${name} version`, String(version.version), 'version');
    const artifact = await getArtifactMeta(deps.pool, DEFAULT_TENANT, version.artifactId);
    if (!artifact) throw new NotFoundError(`artifact of model ${name} version`, String(version.version), 'version');
    // Where it runs and the device memory it needs (requested, else estimated from the model and the dataset).
    const placement = await placeCompute(deps, request.resources, () =>
      estimateBatchPredictMemoryMb({
        modelBytes: artifact.sizeBytes,
        rows: dataset.rows,
        features: Math.max(1, dataset.columnSpecs.length),
        maxLayerUnits: TRAINING_LIMITS.maxUnits,
      }),
    );
    const jobId = `batch-predict-${randomUUID()}`;
    await deps.jobs.startBatchPredict(
      jobId,
      {
        tenantId: DEFAULT_TENANT,
        modelName: name,
        version: version.version,
        flavor: version.flavor,
        artifactId: version.artifactId,
        datasetId: dataset.id,
        ...(placement.route ? { route: placement.route } : {}),
        gpuMemoryMb: placement.gpuMemoryMb,
      },
      placement.taskQueue,
      {
        kind: 'batch-predict',
        model: name,
        version: version.version,
        dataset: { id: dataset.id, name: dataset.name, rows: dataset.rows },
        resources: placement.memo,
      },
    );
    deps.metrics.jobsStarted.inc({ kind: 'batch-predict', algorithm: version.flavor });
    ctx.status = 202;
    ctx.set('Location', `/api/v1/jobs/${jobId}`);
    ctx.body = {
      jobId,
      kind: 'batch-predict',
      status: 'RUNNING',
      model: name,
      version: version.version,
      datasetId: dataset.id,
      taskQueue: placement.taskQueue,
      computeQueue: placement.computeQueue,
      links: jobLinks(jobId),
    };
  });

  return router;
}

import Router from '@koa/router';
import { NotFoundError, ValidationError } from '../../common/errors';
import { getArtifactContent } from '../../db/artifacts';
import { DEFAULT_PREDICT_BATCHING } from '../../common/predict-batching';
import { PredictTarget } from '../../db/predict-target';
import { initComputeBackend } from '../../ml/backend';
import { loadPredictor, Predictor, UnsupportedFlavorError } from '../../ml/serving/predictor';
import { readJsonBody, readJsonRequest } from '../body';
import { ApiDeps } from '../context';
import { requestIdempotency, sendAccepted } from '../send-accepted';
import { modelName } from '../schemas/common';
import { PREDICT_LIMITS, predictRequest } from '../schemas/predict';
import { parseWith } from '../schemas/validate';
import { acceptedBody } from '../services/accepted';
import { CoalescedLookup } from '../services/coalesced-lookup';
import { ModelCache } from '../services/model-cache';
import { inputMatrix } from '../services/input-matrix';
import { resolvePredictTarget } from '../services/model-version';
import { PredictBatcher } from '../services/predict-batcher';
import { submitBatchPredict } from '../services/submit-batch-predict';
import { principalOf, requires } from '../auth/access';

/**
 * `POST /models/:name/predict`: online prediction with a registered model, no workflow, from a cache of loaded
 * versions; concurrent requests share version lookups (services/coalesced-lookup.ts) and are predicted in batches per
 * loaded version (services/predict-batcher.ts, `deps.predictBatching`). `POST /models/:name/batch-predict`: a durable
 * job over a stored dataset (services/submit-batch-predict.ts).
 */
export function predictRouter(deps: ApiDeps): Router {
  const router = new Router();
  // Keyed by model version id (unique across tenants); the context names the tenant whose lookup found the version.
  const cache = new ModelCache<Predictor, PredictTarget & { tenantId: string }>(
    PREDICT_LIMITS.cachedModels,
    async (_id, version) => {
      const content = await getArtifactContent(deps.pool, version.tenantId, version.artifactId!);
      if (!content)
        throw new Error(`artifact ${version.artifactId} of ${version.modelName} v${version.version} is missing`);
      await initComputeBackend();
      return loadPredictor(version.flavor, content).catch((err: unknown) => {
        throw err instanceof UnsupportedFlavorError ? new ValidationError(err.message, 'name') : err;
      });
    },
    (predictor) => predictor.dispose(),
  );

  const targets = new CoalescedLookup<PredictTarget>();
  const batcher = new PredictBatcher(deps.predictBatching ?? DEFAULT_PREDICT_BATCHING, (requests) =>
    deps.metrics.predictBatchRequests.observe(requests),
  );

  router.post('/models/:name/predict', requires('operator', 'predict'), async (ctx) => {
    // Counted from here: a batch waits (within its window) for requests still reading their body or model version.
    const ticket = batcher.admit();
    try {
      const name = parseWith(modelName, ctx.params.name, 'name');
      const request = parseWith(predictRequest, await readJsonBody(ctx, deps.bodyLimits.maxPredictBodyBytes));
      const { tenantId } = principalOf(ctx);
      const version = await resolvePredictTarget(deps.pool, targets, tenantId, name, request.version, request.alias);
      if (!version.artifactId)
        throw new NotFoundError(`artifact of model ${name} version`, String(version.version), 'version');
      ctx.body = await cache.use(version.id, { ...version, tenantId }, async (predictor) => {
        const points = inputMatrix(request.inputs, predictor.columns, request.ignoreExtraColumns);
        return {
          model: name,
          version: version.version,
          flavor: version.flavor,
          columns: predictor.columns,
          ...(await ticket.predict(predictor, points, request.inputs.length)),
        };
      });
    } finally {
      ticket.leave();
    }
  });

  router.post('/models/:name/batch-predict', requires('operator', 'start'), async (ctx) => {
    const name = parseWith(modelName, ctx.params.name, 'name');
    const { body: request, sha256 } = await readJsonRequest(ctx, deps.bodyLimits.maxBatchPredictBodyBytes);
    const job = await submitBatchPredict(deps, principalOf(ctx).tenantId, name, request, {
      idempotency: requestIdempotency(ctx, 'POST /api/v1/models/:name/batch-predict', sha256, { name }),
      startedBy: principalOf(ctx).id,
    });
    const body = acceptedBody(job);
    sendAccepted(ctx, job.replayed, body.links.self, body);
  });

  return router;
}

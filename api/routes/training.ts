import Router from '@koa/router';
import { readJsonRequest } from '../body';
import { ApiDeps } from '../context';
import { requestIdempotency, sendAccepted } from '../send-accepted';
import { acceptedBody } from '../services/accepted';
import { submitTraining } from '../services/submit-training';
import { principalOf, requires } from '../auth/access';

/** POST /api/v1/training: a durable training job (services/submit-training.ts); idempotent with an Idempotency-Key. */
export function trainingRouter(deps: ApiDeps): Router {
  const router = new Router();

  router.post('/training', requires('operator', 'start'), async (ctx) => {
    const { body: request, sha256 } = await readJsonRequest(ctx, deps.bodyLimits.maxTrainingBodyBytes);
    const job = await submitTraining(deps, principalOf(ctx).tenantId, request, {
      idempotency: requestIdempotency(ctx, 'POST /api/v1/training', sha256),
      startedBy: principalOf(ctx).id,
    });
    const body = acceptedBody(job);
    sendAccepted(ctx, job.replayed, body.links.self, body);
  });

  return router;
}

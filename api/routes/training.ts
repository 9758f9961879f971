import Router from '@koa/router';
import { readJsonBody } from '../body';
import { ApiDeps } from '../context';
import { acceptedBody } from '../services/accepted';
import { submitTraining } from '../services/submit-training';

/** POST /api/v1/training: a durable training job (services/submit-training.ts). */
export function trainingRouter(deps: ApiDeps): Router {
  const router = new Router();

  router.post('/training', async (ctx) => {
    const job = await submitTraining(deps, await readJsonBody(ctx, deps.bodyLimits.maxTrainingBodyBytes));
    const body = acceptedBody(job);
    ctx.status = 202;
    ctx.set('Location', body.links.self);
    ctx.body = body;
  });

  return router;
}

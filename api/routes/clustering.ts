import Router from '@koa/router';
import { ApiDeps } from '../context';
import { readJsonBody } from '../body';
import { acceptedBody } from '../services/accepted';
import { submitClustering } from '../services/submit-clustering';

/** POST /api/v1/clustering: a clustering job (services/submit-clustering.ts); inline data is a dataset upload. */
export function clusteringRouter(deps: ApiDeps): Router {
  const router = new Router();

  router.post('/clustering', async (ctx) => {
    const job = await submitClustering(deps, await readJsonBody(ctx, deps.limits.maxBodyBytes));
    const body = acceptedBody(job, deps);
    ctx.status = 202;
    ctx.set('Location', body.links.self);
    ctx.body = body;
  });

  return router;
}

import Router from '@koa/router';
import { ClusteringJobResult } from '../../common/jobs';
import { ApiDeps } from '../context';
import { readJsonBody } from '../body';
import { seedAcceptedBody } from '../services/accepted';
import { clusteringResultView } from '../services/clustering-result';
import { submitClustering } from '../services/submit-clustering';
import { seedClusterRequest, seedWaitQuery } from '../schemas/seed';
import { parseWith } from '../schemas/validate';
import { algorithmCatalog } from './algorithms';

/**
 * The seed services' synchronous shape, kept for their clients: `POST /api/cluster/{algorithm}` with `{ data, params }`
 * runs a durable job like any other and answers with the full result when it completes within `?wait=` seconds
 * (default 30), else 202 with the job's links.
 */
export function seedCompatRouter(deps: ApiDeps): Router {
  const router = new Router();

  router.get('/algorithms', (ctx) => {
    ctx.body = { algorithms: algorithmCatalog() };
  });

  router.post('/cluster/:algorithm', async (ctx) => {
    const { wait } = parseWith(seedWaitQuery, ctx.query, 'query');
    const body = parseWith(seedClusterRequest, await readJsonBody(ctx, deps.limits.maxBodyBytes));
    const job = await submitClustering(deps, { algorithm: ctx.params.algorithm, params: body.params, data: body.data });
    try {
      const { result } = await deps.jobs.completedResult(job.jobId, wait * 1000);
      ctx.body = await clusteringResultView(deps.pool, job.jobId, result as ClusteringJobResult);
    } catch (err) {
      if ((err as { code?: string }).code !== 'job_running') throw err;
      ctx.status = 202;
      ctx.body = seedAcceptedBody(job);
    }
  });

  return router;
}

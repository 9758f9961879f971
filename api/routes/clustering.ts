import Router from '@koa/router';
import { ApiDeps } from '../context';
import { readJsonBody } from '../body';
import { submitClustering } from '../services/submit-clustering';

export function jobLinks(jobId: string) {
  return {
    self: `/api/v1/jobs/${jobId}`,
    result: `/api/v1/jobs/${jobId}/result`,
    cancel: `/api/v1/jobs/${jobId}/cancel`,
  };
}

export function clusteringRouter(deps: ApiDeps): Router {
  const router = new Router();

  router.post('/clustering', async (ctx) => {
    const body = await readJsonBody(ctx, deps.limits.maxBodyBytes);
    const job = await submitClustering(deps, body);
    ctx.status = 202;
    ctx.set('Location', `/api/v1/jobs/${job.jobId}`);
    ctx.body = {
      jobId: job.jobId,
      kind: 'clustering',
      status: 'RUNNING',
      datasetId: job.datasetId,
      taskQueue: job.taskQueue,
      computeQueue: job.computeQueue,
      links: {
        ...jobLinks(job.jobId),
        ...(deps.temporalUiUrl
          ? { temporalUi: `${deps.temporalUiUrl}/namespaces/${deps.namespace}/workflows/${job.jobId}` }
          : {}),
      },
    };
  });

  return router;
}

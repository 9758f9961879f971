import { createHash } from 'node:crypto';
import Router from '@koa/router';
import { ValidationError } from '../../common/errors';
import { ClusteringJobResult } from '../../common/jobs';
import { parseJsonEnvelope } from '../../datasets/parse-json';
import { ApiDeps } from '../context';
import { requireJson } from '../body';
import { REPLAYED_HEADER, requestIdempotency } from '../send-accepted';
import { seedAcceptedBody } from '../services/accepted';
import { clusteringResultView } from '../services/clustering-result';
import { submitClustering } from '../services/submit-clustering';
import { seedClusterFields, seedWaitQuery } from '../schemas/seed';
import { parseWith } from '../schemas/validate';
import { algorithmCatalog } from './algorithms';
import { principalOf, requires } from '../auth/access';

/**
 * The seed services' synchronous shape, kept for their clients: `POST /api/cluster/{algorithm}` with `{ data, params }`
 * runs a durable job like any other and answers with the full result when it completes within `?wait=` seconds
 * (default 30), else 202 with the job's links.
 */
export function seedCompatRouter(deps: ApiDeps): Router {
  const router = new Router();

  router.get('/algorithms', requires('public'), (ctx) => {
    ctx.body = { algorithms: algorithmCatalog() };
  });

  // The body streams through the dataset parser as /api/v1/clustering's does: `data` meets the limits as it arrives.
  router.post('/cluster/:algorithm', requires('operator', 'start'), async (ctx) => {
    const { wait } = parseWith(seedWaitQuery, ctx.query, 'query');
    requireJson(ctx);
    const hash = createHash('sha256');
    const { fields, table } = await parseJsonEnvelope(ctx.req, deps.limits, (chunk) => hash.update(chunk));
    const body = parseWith(seedClusterFields, fields);
    if (!table)
      throw new ValidationError(
        'data is required: an array of rows (arrays of cells, or objects keyed by column name)',
        'data',
      );
    const { algorithm } = ctx.params;
    const { tenantId } = principalOf(ctx);
    const idempotency = requestIdempotency(ctx, 'POST /api/cluster/:algorithm', hash.digest('hex'), { algorithm });
    const job = await submitClustering(
      deps,
      tenantId,
      { algorithm, params: body.params },
      { table, idempotency, startedBy: principalOf(ctx).id },
    );
    // The seed shape keeps its statuses (200 result, 202 still running); a repeated key's job says it is one.
    if (job.replayed) ctx.set(REPLAYED_HEADER, 'true');
    try {
      const { result } = await deps.jobs.completedResult(tenantId, job.jobId, wait * 1000);
      ctx.body = await clusteringResultView(deps.pool, tenantId, job.jobId, result as ClusteringJobResult);
    } catch (err) {
      if ((err as { code?: string }).code !== 'job_running') throw err;
      ctx.status = 202;
      ctx.body = seedAcceptedBody(job);
    }
  });

  return router;
}

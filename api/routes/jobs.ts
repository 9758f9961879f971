import Router from '@koa/router';
import { z } from 'zod';
import { ApiDeps } from '../context';
import { BatchPredictResult, ClusteringJobResult, TrainingJobResult } from '../../common/jobs';
import { clusteringResultView } from '../services/clustering-result';
import { trainingResultView } from '../services/training-result';
import { ServerTiming } from '../services/server-timing';
import { workflowResultView } from '../services/workflow-result';
import { JOB_KINDS, JOB_STATUSES } from '../services/jobs';
import { parseWith } from '../schemas/validate';
import { jobLinks } from '../services/accepted';
import { scheduleId } from '../schemas/schedules';
import { clusteringProjection, MAX_PROJECTION_POINTS } from '../services/clustering-projection';
import { principalOf, reauthorize, requires } from '../auth/access';

const listQuery = z.object({
  kind: z.enum(JOB_KINDS as [string, ...string[]]).optional(),
  status: z.enum(JOB_STATUSES as [string, ...string[]]).optional(),
  scheduleId: scheduleId.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

/** `?wait=` seconds a result request may hold the connection for a running job (bounded: the API never blocks long). */
export const MAX_RESULT_WAIT_SECONDS = 60;
const resultQuery = z.object({ wait: z.coerce.number().min(0).max(MAX_RESULT_WAIT_SECONDS).default(0) });
const projectionQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PROJECTION_POINTS).default(MAX_PROJECTION_POINTS),
});

/** A completed job's answer by its kind: the summary, plus for clustering and training what their artifacts hold. */
async function resultView(
  deps: ApiDeps,
  tenantId: string,
  jobId: string,
  kind: string | undefined,
  result: unknown,
): Promise<unknown> {
  if (kind === 'batch-predict') {
    const summary = result as BatchPredictResult;
    return {
      jobId,
      ...summary,
      links: { job: `/api/v1/jobs/${jobId}`, predictions: `/api/v1/artifacts/${summary.predictionsArtifactId}` },
    };
  }
  if (kind === 'training') return trainingResultView(deps.pool, tenantId, jobId, result as TrainingJobResult);
  // Jobs from before the kind attribute existed were all clustering: their result names its artifact.
  const clustering =
    kind === 'clustering' ||
    (kind === undefined && typeof (result as Partial<ClusteringJobResult> | null)?.resultArtifactId === 'string');
  return clustering
    ? clusteringResultView(deps.pool, tenantId, jobId, result as ClusteringJobResult)
    : workflowResultView(jobId, kind, result);
}

export function jobsRouter(deps: ApiDeps): Router {
  const router = new Router();

  router.get('/jobs', requires('viewer'), async (ctx) => {
    const query = parseWith(listQuery, ctx.query, 'query');
    const jobs = await deps.jobs.list({
      kind: query.kind,
      status: query.status as never,
      scheduleId: query.scheduleId,
      tenantId: principalOf(ctx).tenantId,
      limit: query.limit,
    });
    ctx.body = { jobs };
  });

  router.get('/jobs/:jobId', requires('viewer'), async (ctx) => {
    const view = await deps.jobs.describe(principalOf(ctx).tenantId, ctx.params.jobId);
    const temporalUi = deps.temporalUiUrl
      ? `${deps.temporalUiUrl}/namespaces/${deps.namespace}/workflows/${encodeURIComponent(view.jobId)}`
      : undefined;
    ctx.body = { ...view, links: { ...jobLinks(view.jobId), ...(temporalUi ? { temporalUi } : {}) } };
  });

  router.get('/jobs/:jobId/result', requires('viewer'), async (ctx) => {
    const { wait } = parseWith(resultQuery, ctx.query, 'query');
    // Server-Timing: describe, wait (the long poll), result, then view (what the kind's artifacts add).
    const timing = new ServerTiming();
    const { tenantId } = principalOf(ctx);
    let completed: Awaited<ReturnType<typeof deps.jobs.completedResult>>;
    try {
      completed = await deps.jobs.completedResult(tenantId, ctx.params.jobId, wait * 1000, timing);
    } finally {
      // A long poll answers up to a minute after its credentials were checked: they are checked again before anything
      // leaves, result or "still running" (a key revoked or a tenant disabled meanwhile gets the 401/403 a new request
      // would, in place of the answer).
      if (wait > 0) await reauthorize(ctx, 'viewer');
    }
    const { kind, result } = completed;
    ctx.body = await timing.time('view', () => resultView(deps, tenantId, ctx.params.jobId, kind, result));
    ctx.set('Server-Timing', timing.header());
  });

  // A clustering job's points in two dimensions (principal components past two columns), for the console's scatter plot.
  router.get('/jobs/:jobId/projection', requires('viewer'), async (ctx) => {
    const { limit } = parseWith(projectionQuery, ctx.query, 'query');
    ctx.body = await clusteringProjection(deps, principalOf(ctx).tenantId, ctx.params.jobId, limit);
  });

  router.post('/jobs/:jobId/stop', requires('operator'), async (ctx) => {
    await deps.jobs.stop(principalOf(ctx).tenantId, ctx.params.jobId);
    ctx.status = 202;
    ctx.body = { jobId: ctx.params.jobId, status: 'STOP_REQUESTED', links: jobLinks(ctx.params.jobId) };
  });

  router.post('/jobs/:jobId/cancel', requires('operator'), async (ctx) => {
    await deps.jobs.cancel(principalOf(ctx).tenantId, ctx.params.jobId);
    ctx.status = 202;
    ctx.body = { jobId: ctx.params.jobId, status: 'CANCEL_REQUESTED', links: jobLinks(ctx.params.jobId) };
  });

  return router;
}

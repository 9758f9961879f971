import Router from '@koa/router';
import { readJsonBody, readJsonRequest } from '../body';
import { ApiDeps } from '../context';
import { requestIdempotency, sendAccepted } from '../send-accepted';
import { decidePipeline, describePipeline, pipelineReport } from '../services/pipelines';
import { pipelineLinks } from '../services/accepted';
import { submitFullPipeline, submitValidationPipeline } from '../services/submit-pipeline';
import { principalOf, requires } from '../auth/access';

/** Validation pipelines: start (validation only, or validate → train → evaluate → gate → approve → register → promote), read, decide. */
export function pipelinesRouter(deps: ApiDeps): Router {
  const router = new Router();

  router.post('/pipelines/validation', requires('operator', 'start'), async (ctx) => {
    const { body, sha256 } = await readJsonRequest(ctx, deps.bodyLimits.maxPipelineBodyBytes);
    const { replayed, status, ...run } = await submitValidationPipeline(deps, principalOf(ctx).tenantId, body, {
      idempotency: requestIdempotency(ctx, 'POST /api/v1/pipelines/validation', sha256),
      startedBy: principalOf(ctx).id,
    });
    sendAccepted(ctx, replayed, `/api/v1/pipelines/${run.pipelineId}`, {
      ...run,
      status: status ?? 'RUNNING',
      links: pipelineLinks(run.pipelineId),
    });
  });

  router.post('/pipelines/full', requires('operator', 'start'), async (ctx) => {
    const { body, sha256 } = await readJsonRequest(ctx, deps.bodyLimits.maxPipelineBodyBytes);
    const { replayed, status, ...run } = await submitFullPipeline(
      deps,
      principalOf(ctx).tenantId,
      body,
      principalOf(ctx),
      {
        idempotency: requestIdempotency(ctx, 'POST /api/v1/pipelines/full', sha256),
        startedBy: principalOf(ctx).id,
      },
    );
    sendAccepted(ctx, replayed, `/api/v1/pipelines/${run.pipelineId}`, {
      ...run,
      status: status ?? 'RUNNING',
      links: { ...pipelineLinks(run.pipelineId), decision: `/api/v1/pipelines/${run.pipelineId}/decision` },
    });
  });

  router.get('/pipelines/:id', requires('viewer'), async (ctx) => {
    ctx.body = await describePipeline(deps, principalOf(ctx).tenantId, ctx.params.id);
  });

  router.get('/pipelines/:id/report', requires('viewer'), async (ctx) => {
    ctx.body = await pipelineReport(deps, principalOf(ctx).tenantId, ctx.params.id);
  });

  router.post('/pipelines/:id/decision', requires('approver'), async (ctx) => {
    const principal = principalOf(ctx);
    const outcome = await decidePipeline(
      deps,
      principal.tenantId,
      ctx.params.id,
      await readJsonBody(ctx, deps.bodyLimits.maxPipelineBodyBytes),
      principal,
    );
    ctx.body = { pipelineId: ctx.params.id, ...outcome, links: pipelineLinks(ctx.params.id) };
  });

  return router;
}

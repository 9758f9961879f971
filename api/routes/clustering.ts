import { createHash } from 'node:crypto';
import Router from '@koa/router';
import { parseJsonEnvelope } from '../../datasets/parse-json';
import { requireJson } from '../body';
import { ApiDeps } from '../context';
import { requestIdempotency, sendAccepted } from '../send-accepted';
import { acceptedBody } from '../services/accepted';
import { ServerTiming } from '../services/server-timing';
import { submitClustering } from '../services/submit-clustering';
import { principalOf, requires } from '../auth/access';

/**
 * POST /api/v1/clustering: a clustering job (services/submit-clustering.ts). The body streams through the dataset
 * parser (parseJsonEnvelope), so inline `data` meets the dataset limits row by row as it arrives and is never held
 * whole; an Idempotency-Key makes the start idempotent. Server-Timing says how long the body (`parse`), the dataset's store
 * (`dataset`, within `prepare`) and the workflow start (`start`) took.
 */
export function clusteringRouter(deps: ApiDeps): Router {
  const router = new Router();

  router.post('/clustering', requires('operator', 'start'), async (ctx) => {
    requireJson(ctx);
    const hash = createHash('sha256');
    const timing = new ServerTiming();
    const { fields, table } = await timing.time('parse', () =>
      parseJsonEnvelope(ctx.req, deps.limits, (chunk) => hash.update(chunk)),
    );
    const idempotency = requestIdempotency(ctx, 'POST /api/v1/clustering', hash.digest('hex'));
    const job = await submitClustering(deps, principalOf(ctx).tenantId, fields, {
      ...(table ? { table } : {}),
      idempotency,
      timing,
      startedBy: principalOf(ctx).id,
    });
    const body = acceptedBody(job, deps);
    ctx.set('Server-Timing', timing.header());
    sendAccepted(ctx, job.replayed, body.links.self, body);
  });

  return router;
}

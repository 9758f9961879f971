import Router from '@koa/router';
import { ApiDeps } from '../context';
import { requires } from '../auth/access';

async function probe(fn: () => Promise<unknown>, timeoutMs: number): Promise<{ ok: boolean; error?: string }> {
  try {
    await Promise.race([
      fn(),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref(),
      ),
    ]);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/** /health says the process is alive; /ready says its dependencies answer (503 otherwise); /metrics is Prometheus. */
export function healthRouter(deps: ApiDeps): Router {
  const router = new Router();

  router.get('/health', requires('public'), (ctx) => {
    ctx.body = { status: 'ok' };
  });

  router.get('/ready', requires('public'), async (ctx) => {
    const [postgres, temporal] = await Promise.all([
      probe(() => deps.pool.query('SELECT 1'), 2_000),
      probe(() => deps.temporal.workflowService.describeNamespace({ namespace: deps.namespace }), 2_000),
    ]);
    const ready = postgres.ok && temporal.ok;
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'degraded', checks: { postgres, temporal } };
  });

  router.get('/metrics', requires('public'), async (ctx) => {
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });

  return router;
}

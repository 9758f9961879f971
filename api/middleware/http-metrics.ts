import { Middleware } from 'koa';
import { ApiMetrics } from '../metrics';

/** Counts and times every request by its route template (not its raw path, which would explode label cardinality). */
export function httpMetrics(metrics: ApiMetrics): Middleware {
  return async (ctx, next) => {
    const end = metrics.httpDuration.startTimer();
    try {
      await next();
    } finally {
      const route = (ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      const labels = { method: ctx.method, route: String(route), status: String(ctx.status) };
      metrics.httpRequests.inc(labels);
      end(labels);
    }
  };
}

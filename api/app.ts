import Router from '@koa/router';
import Koa from 'koa';
import { rootLogger } from '../common/logger';
import { AccessDeclaration, requires } from './auth/access';
import { accessByRoute } from './auth/route-access';
import { createAccessGate } from './auth/gate';
import { ApiDeps } from './context';
import { browserGuard } from './middleware/browser-guard';
import { errorHandler, notFoundHandler } from './middleware/error-handler';
import { httpMetrics } from './middleware/http-metrics';
import { koaErrorLogger } from './middleware/koa-error-log';
import { requestId } from './middleware/request-id';
import { openApiDocument } from './openapi';
import { algorithmsRouter } from './routes/algorithms';
import { apiKeysRouter } from './routes/api-keys';
import { artifactsRouter } from './routes/artifacts';
import { clusteringRouter } from './routes/clustering';
import { consoleRouter } from './routes/console';
import { datasetsRouter } from './routes/datasets';
import { gpuSeedRouter, gpusRouter } from './routes/gpus';
import { healthRouter } from './routes/health';
import { jobEventsRouter } from './routes/job-events';
import { jobsRouter } from './routes/jobs';
import { membersRouter } from './routes/members';
import { modelsRouter } from './routes/models';
import { pipelinesRouter } from './routes/pipelines';
import { predictRouter } from './routes/predict';
import { schedulesRouter } from './routes/schedules';
import { tenantLimitsRouter } from './routes/tenant-limits';
import { tenantsRouter } from './routes/tenants';
import { sessionRouter } from './routes/session';
import { trainingRouter } from './routes/training';
import { seedCompatRouter } from './routes/seed-compat';

/**
 * Every route the API serves, as the three top-level routers mounted at the root: `/api/v1`, the seed services'
 * `/api`, and /health, /ready, /metrics. The OpenAPI document is tested against their layers.
 */
export function apiRouters(deps: ApiDeps): Router[] {
  const v1 = new Router({ prefix: '/api/v1' });
  for (const router of [
    datasetsRouter(deps),
    clusteringRouter(deps),
    trainingRouter(deps),
    pipelinesRouter(deps),
    schedulesRouter(deps),
    jobsRouter(deps),
    jobEventsRouter(deps),
    artifactsRouter(deps),
    modelsRouter(deps),
    predictRouter(deps),
    algorithmsRouter(),
    gpusRouter(deps),
    membersRouter(deps),
    tenantLimitsRouter(deps),
    apiKeysRouter(deps),
    tenantsRouter(deps),
    sessionRouter(deps),
  ]) {
    v1.use(router.routes(), router.allowedMethods({ throw: true }));
  }
  const routers: Router[] = [];
  // Each operation states its route's requires(): the walk of every router, once, at the first request.
  let access: ReadonlyMap<string, AccessDeclaration> | undefined;
  v1.get('/openapi.json', requires('public'), (ctx) => {
    access ??= accessByRoute(routers);
    ctx.body = openApiDocument(deps.limits, access);
  });
  const seed = new Router({ prefix: '/api' });
  const seedRoutes = seedCompatRouter(deps);
  seed.use(seedRoutes.routes(), seedRoutes.allowedMethods({ throw: true }));
  const gpuSeed = gpuSeedRouter(deps);
  seed.use(gpuSeed.routes(), gpuSeed.allowedMethods({ throw: true }));
  routers.push(v1, seed, healthRouter(deps));
  return routers;
}

/**
 * The Koa app: the request id outermost (every response carries it), then metrics (so they see the final status), then
 * the error mapper, then the Host and Origin checks (browserGuard: before any route reads a body), then the routers,
 * the console's last. With `deps.proxy.trust` (KILN_TRUST_PROXY) Koa reads the client's address and scheme from
 * X-Forwarded-For / X-Forwarded-Proto (`app.proxy`, `maxIpsCount` = KILN_PROXY_HOPS); else it ignores them.
 */
export function createApp(deps: ApiDeps): Koa {
  const app = new Koa();
  // Behind a trusted proxy ctx.ip (the failure budget's key) and ctx.secure (the session cookie) come from its headers.
  if (deps.proxy?.trust) {
    app.proxy = true;
    app.maxIpsCount = deps.proxy.hops;
  }
  app.context.accessGate = createAccessGate(deps);
  const log = deps.log ?? rootLogger();
  app.use(requestId(log));
  app.use(httpMetrics(deps.metrics));
  app.use(errorHandler(log));
  app.use(browserGuard(deps.browser));
  for (const router of apiRouters(deps)) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: true }));
  }
  // The web console and /docs: after the API's routers, outside /api, so an unknown /api path stays a JSON 404.
  app.use(consoleRouter().routes());
  app.use(notFoundHandler());

  // What the error mapper cannot catch (a response stream failing after its headers went out) Koa reports here.
  app.on('error', koaErrorLogger(log));
  return app;
}

import Router from '@koa/router';
import Koa from 'koa';
import { ApiDeps } from './context';
import { errorHandler, notFoundHandler } from './middleware/error-handler';
import { httpMetrics } from './middleware/http-metrics';
import { openApiDocument } from './openapi';
import { algorithmsRouter } from './routes/algorithms';
import { artifactsRouter } from './routes/artifacts';
import { clusteringRouter } from './routes/clustering';
import { datasetsRouter } from './routes/datasets';
import { gpuSeedRouter, gpusRouter } from './routes/gpus';
import { healthRouter } from './routes/health';
import { jobsRouter } from './routes/jobs';
import { modelsRouter } from './routes/models';
import { pipelinesRouter } from './routes/pipelines';
import { predictRouter } from './routes/predict';
import { trainingRouter } from './routes/training';
import { seedCompatRouter } from './routes/seed-compat';

/** The Koa app: metrics outermost (so they see the final status), then the error mapper, then the routers. */
export function createApp(deps: ApiDeps): Koa {
  const app = new Koa();
  app.use(httpMetrics(deps.metrics));
  app.use(errorHandler());

  const v1 = new Router({ prefix: '/api/v1' });
  for (const router of [
    datasetsRouter(deps),
    clusteringRouter(deps),
    trainingRouter(deps),
    pipelinesRouter(deps),
    jobsRouter(deps),
    artifactsRouter(deps),
    modelsRouter(deps),
    predictRouter(deps),
    algorithmsRouter(),
    gpusRouter(deps),
  ]) {
    v1.use(router.routes(), router.allowedMethods({ throw: true }));
  }
  v1.get('/openapi.json', (ctx) => {
    ctx.body = openApiDocument(deps.limits);
  });
  const seed = new Router({ prefix: '/api' });
  const seedRoutes = seedCompatRouter(deps);
  seed.use(seedRoutes.routes(), seedRoutes.allowedMethods({ throw: true }));
  const gpuSeed = gpuSeedRouter(deps);
  seed.use(gpuSeed.routes(), gpuSeed.allowedMethods({ throw: true }));
  const health = healthRouter(deps);

  for (const router of [v1, seed, health]) {
    app.use(router.routes());
    app.use(router.allowedMethods({ throw: true }));
  }
  app.use(notFoundHandler());

  app.on('error', (err: Error, ctx?: Koa.Context) => {
    console.error(`[kiln] api error${ctx ? ` on ${ctx.method} ${ctx.path}` : ''}:`, err);
  });
  return app;
}

import Router from '@koa/router';
import { z } from 'zod';
import { ALGORITHMS, CLUSTERING_LIMITS } from '../schemas/clustering';
import { requires } from '../auth/access';

/** Each algorithm with the JSON Schema of its params: the same zod schema the API validates requests with. */
export function algorithmCatalog() {
  return Object.entries(ALGORITHMS).map(([name, algorithm]) => ({
    name,
    kind: 'clustering',
    description: algorithm.description,
    assignsNewPoints: algorithm.assignsNewPoints,
    params: z.toJSONSchema(algorithm.params, { io: 'input' }),
    limits: {
      maxK: CLUSTERING_LIMITS.maxK,
      maxIterations: CLUSTERING_LIMITS.maxIterations,
      inlineLabels: CLUSTERING_LIMITS.inlineLabels,
      ...(algorithm.limits ? { points: algorithm.limits } : {}),
    },
  }));
}

export function algorithmsRouter(): Router {
  const router = new Router();
  router.get('/algorithms', requires('public'), (ctx) => {
    ctx.body = { algorithms: algorithmCatalog() };
  });
  return router;
}

import { z } from 'zod';

/** POST /api/cluster/:algorithm: the seed services' body, rows and the algorithm's params. */
export const seedClusterRequest = z.looseObject({
  data: z.array(z.unknown()),
  params: z.record(z.string(), z.unknown()).default({}),
});

/** `?wait=` seconds the seed alias holds the connection for the result before answering 202 (default 30). */
export const seedWaitQuery = z.object({ wait: z.coerce.number().min(0).max(60).default(30) });

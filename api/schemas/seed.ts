import { z } from 'zod';

/** POST /api/cluster/:algorithm: the seed services' body, rows and the algorithm's params (other fields ignored). */
export const seedClusterRequest = z.looseObject({
  data: z.array(z.unknown()),
  params: z.record(z.string(), z.unknown()).default({}),
});

/** The seed body's fields besides `data` (which streams into a table: parseJsonEnvelope). */
export const seedClusterFields = seedClusterRequest.omit({ data: true });

/** `?wait=` seconds the seed alias holds the connection for the result before answering 202 (default 30). */
export const seedWaitQuery = z.object({ wait: z.coerce.number().min(0).max(60).default(30) });

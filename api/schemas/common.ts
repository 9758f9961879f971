import { z } from 'zod';
import { JOB_PRIORITIES } from '../services/job-priority';

/** Registered model names: what MLflow users write, safe in URLs and logs. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export const modelName = z
  .string()
  .regex(
    MODEL_NAME_PATTERN,
    'must be 1-128 characters of letters, digits, ".", "_" or "-", starting with a letter or digit',
  )
  .meta({ description: 'Registered model name' });

export const uuid = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a UUID');

export const resources = z
  .strictObject({
    accelerator: z.enum(['cpu', 'gpu', 'any']).default('any'),
    gpuClass: z
      .string()
      .regex(/^[a-z0-9-]{1,32}$/)
      .optional(),
    gpuMemoryMb: z.number().int().min(1).max(1_048_576).optional(),
    memoryMb: z.number().int().min(1).max(1_048_576).optional(),
  })
  .meta({
    description: 'Where the job may run. `any` prefers a GPU pool and may fall back to CPU; `gpu` waits for one.',
  });

export const errorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    field: z.string().optional(),
    dependency: z
      .enum(['postgres', 'temporal'])
      .optional()
      .meta({ description: 'On a 503 `dependency_unavailable`: the dependency that did not answer' }),
  }),
});

/**
 * A job's Temporal priority (services/job-priority.ts): `high` jobs leave a busy queue before `normal` ones, `normal`
 * before `low`; absent = `normal`. Fair sharing between tenants applies within one priority.
 */
export const jobPriority = z.enum(JOB_PRIORITIES).meta({
  description:
    'Temporal priority: `high` jobs start before queued `normal` ones, `normal` before `low` (default `normal`); ' +
    "within one priority, tenants' queued jobs take turns",
});

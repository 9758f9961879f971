import Router from '@koa/router';
import { randomUUID } from 'node:crypto';
import { NotFoundError, ValidationError } from '../../common/errors';
import { TrainingJobInput } from '../../common/jobs';
import { DEFAULT_TENANT } from '../../common/tenant';
import { loadDatasetTable } from '../../db/datasets';
import { trainingMemoryNeedMb } from '../../ml/training/memory-need';
import { TrainingOptions, TrainingSpec, validateTrainingRequest } from '../../ml/training/spec';
import { readJsonBody } from '../body';
import { ApiDeps } from '../context';
import { trainingRequest } from '../schemas/training';
import { parseWith } from '../schemas/validate';
import { placeCompute } from '../services/compute-placement';
import { jobLinks } from './clustering';

/** POST /api/v1/training: validate against the dataset, then start a durable training job. */
export function trainingRouter(deps: ApiDeps): Router {
  const router = new Router();

  router.post('/training', async (ctx) => {
    const request = parseWith(trainingRequest, await readJsonBody(ctx, 1024 * 1024));
    // The columns, their types and the target's classes decide whether the request can train: checked here, so a
    // bad request is a 4xx naming the field instead of a failed job.
    const loaded = await loadDatasetTable(deps.pool, DEFAULT_TENANT, request.datasetId);
    if (!loaded) throw new NotFoundError('dataset', request.datasetId, 'datasetId');
    const verdict = validateTrainingRequest(
      loaded.table,
      request.target,
      request.features,
      request.spec as TrainingSpec,
      request.training as TrainingOptions,
    );
    if (!verdict.ok) {
      const [first] = verdict.problems;
      throw new ValidationError(`${first.field}: ${first.message}`, first.field);
    }
    const features = verdict.features;
    // Where it runs and the device memory it needs (requested, else the MLP estimate on this table), recorded with the job.
    const placement = await placeCompute(deps, request.resources, () =>
      trainingMemoryNeedMb(loaded.table, {
        target: request.target,
        features,
        spec: request.spec,
        training: request.training as TrainingJobInput['training'],
      }),
    );
    const taskQueue = placement.taskQueue;
    const jobId = `training-${randomUUID()}`;
    const input: TrainingJobInput = {
      tenantId: DEFAULT_TENANT,
      datasetId: request.datasetId,
      target: request.target,
      features: verdict.features,
      model: request.model,
      spec: request.spec,
      training: request.training as TrainingJobInput['training'],
      ...(placement.route ? { route: placement.route } : {}),
      gpuMemoryMb: placement.gpuMemoryMb,
    };
    await deps.jobs.startTraining(jobId, input, taskQueue, {
      kind: 'training',
      model: request.model.name,
      task: request.spec.task,
      dataset: { id: loaded.meta.id, name: loaded.meta.name, rows: loaded.meta.rows },
      target: request.target,
      features: verdict.features.length,
      epochs: request.training.epochs,
      resources: placement.memo,
    });
    deps.metrics.jobsStarted.inc({ kind: 'training', algorithm: request.spec.task });
    ctx.status = 202;
    ctx.set('Location', `/api/v1/jobs/${jobId}`);
    ctx.body = {
      jobId,
      kind: 'training',
      status: 'RUNNING',
      datasetId: request.datasetId,
      taskQueue,
      computeQueue: placement.computeQueue,
      links: { ...jobLinks(jobId), stop: `/api/v1/jobs/${jobId}/stop` },
    };
  });

  return router;
}

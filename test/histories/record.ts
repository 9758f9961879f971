import * as fs from 'node:fs';
import * as path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { repoRoot } from '../../common/paths';
import { upsertDevice } from '../../db/gpus';
import { gpuClassQueue } from '../../gpu/gpu-class';
import { makeBlobs } from '../support/blobs';
import { decisionUpdate } from '../../common/messages/pipeline';
import { blobRows, pipelineEnd, trainingBody, upload } from '../support/pipeline-data';
import { bearer } from '../support/auth';
import { eventually, TestApi } from '../support/test-api';
import { request, startTestApi } from '../support/test-api';
import { getTestStack, stopTestStack, TestStack } from '../support/test-stack';
import { createTestWorker, withWorker } from '../support/with-worker';

/**
 * Records the histories that the replay tests feed back to the current workflow code:
 * `npm run build && node dist/test/histories/record.js` (missing ones; `--force` for all). Re-record only on purpose: a history recorded by released
 * code is the contract that running workflows rely on, and a change that fails to replay it breaks them.
 */
export const HISTORIES_DIR = path.join(repoRoot, 'test', 'histories');

/** A GPU worker for the declared class 'replay' (its class queue only). */
function replayGpuWorker(stack: TestStack) {
  return createTestWorker(stack, {
    workerPool: 'gpu',
    taskQueue: gpuClassQueue('replay'),
    device: { id: 'replay-gpu', name: 'replay', gpuClass: 'replay', source: 'declared' },
  });
}

async function record(): Promise<void> {
  const stack = await getTestStack();
  // Every case computes as an activity (the bound at 0) unless marked `local`: those go through `localApi`, where
  // small jobs compute as a local activity (KILN_LOCAL_COMPUTE_MAX_CELLS's default).
  const api = await startTestApi(stack, {}, {}, { gpuFallbackSeconds: 1, localComputeMaxCells: 0 });
  const localApi = await startTestApi(stack, {}, {}, { gpuFallbackSeconds: 1 });
  const blobs = makeBlobs(30, [[0, 0], [6, 6]], 0.5, 3);
  const upload = await request(api, 'POST', '/api/v1/datasets', {
    data: blobs.points.map(([x, y], i) => ({ x, y, label: blobs.labels[i] === 0 ? 'a' : 'b' })),
  });
  const training = {
    datasetId: upload.body.id,
    target: 'label',
    model: { name: 'replay-mlp' },
    spec: { task: 'classification', layers: [{ units: 4, activation: 'relu' }] },
    training: { epochs: 3, batchSize: 8, learningRate: 0.05 },
  };
  // Cases marked `routed` run while a (declared, idle) GPU device is online: `any` routes the compute to kiln-gpu,
  // where no worker polls, so after gpuFallbackSeconds (KILN_GPU_FALLBACK_SECONDS) it falls back to kiln-cpu (both branches in one history).
  // `gpu` cases ask for a GPU class that an in-process GPU worker serves: the compute runs on its queue, the workflow and
  // the registration on kiln-cpu.
  const cases: Array<[string, string, unknown, { routed?: boolean; gpu?: boolean; local?: boolean }?]> = [
    ['clustering-kmeans.json', '/api/v1/clustering', { algorithm: 'kmeans', params: { k: 2, seed: 1 }, data: blobs.points }],
    ['clustering-kmeans-register.json', '/api/v1/clustering', { algorithm: 'kmeans', params: { k: 2 }, data: blobs.points, register: { name: 'replay-model' } }],
    ['training-classifier.json', '/api/v1/training', training],
    ['batch-predict.json', '/api/v1/models/replay-kmeans/batch-predict', { datasetId: upload.body.id }],
    ['clustering-any-fallback.json', '/api/v1/clustering', { algorithm: 'kmeans', params: { k: 2, seed: 1 }, data: blobs.points }, { routed: true }],
    ['training-any-fallback.json', '/api/v1/training', training, { routed: true }],
    ['batch-predict-any-fallback.json', '/api/v1/models/replay-kmeans/batch-predict', { datasetId: upload.body.id }, { routed: true }],
    [
      'clustering-gpu-register.json',
      '/api/v1/clustering',
      { algorithm: 'kmeans', params: { k: 2, seed: 1 }, data: blobs.points, register: { name: 'replay-gpu-model' }, resources: { accelerator: 'gpu', gpuClass: 'replay' } },
      { gpu: true },
    ],
    ['clustering-kmeans-local.json', '/api/v1/clustering', { algorithm: 'kmeans', params: { k: 2, seed: 1 }, data: blobs.points }, { local: true }],
    [
      'clustering-kmeans-register-local.json',
      '/api/v1/clustering',
      { algorithm: 'kmeans', params: { k: 2 }, data: blobs.points, register: { name: 'replay-local-model' } },
      { local: true },
    ],
  ];
  // Existing histories are the contract with running workflows: only missing ones are recorded (--force: all).
  const force = process.argv.includes('--force');
  try {
    await withWorker(stack, async () => {
      // The model the batch-predict history uses; its own job is not a recorded case.
      const setup = await request(api, 'POST', '/api/v1/clustering', {
        algorithm: 'kmeans', params: { k: 2 }, datasetId: upload.body.id, labelsColumn: 'label', register: { name: 'replay-kmeans' },
      });
      await request(api, 'GET', `/api/v1/jobs/${setup.body.jobId}/result?wait=30`);
      for (const [file, route, body, options] of cases) {
        if (!force && fs.existsSync(path.join(HISTORIES_DIR, file))) continue;
        await stack.pool.query(`UPDATE gpu_devices SET state = 'offline'`);
        if (options?.routed || options?.gpu) {
          await upsertDevice(stack.pool, {
            id: 'replay-gpu', workerId: 'replay', pool: 'gpu', host: 'replay', deviceIndex: 0, name: 'replay', gpuClass: 'replay',
            memoryTotalMb: 81920, source: 'declared',
          });
        }
        const started = await request(options?.local ? localApi : api, 'POST', route, body);
        if (started.status !== 202) throw new Error(`start failed: ${JSON.stringify(started.body)}`);
        const finish = () => request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=30`);
        const result = options?.gpu ? await (await replayGpuWorker(stack)).runUntil(finish) : await finish();
        if (result.status !== 200) throw new Error(`job failed: ${JSON.stringify(result.body)}`);
        const history = await stack.env.client.workflow.getHandle(started.body.jobId).fetchHistory();
        // The JSON form the Temporal CLI and UI export, so a history downloaded from production can be dropped in here.
        fs.writeFileSync(path.join(HISTORIES_DIR, file), JSON.stringify(JSON.parse(historyToJSON(history)), null, 1) + '\n');
        console.log(`recorded ${file} (${history.events?.length} events)`);
      }
      await recordPipelines(stack, api, force);
      await recordSeries(stack, api, force, blobs.points.map(([x, y], i) => ({ x, y, label: blobs.labels[i] === 0 ? 'a' : 'b' })));
    });
  } finally {
    await api.close();
    await localApi.close();
    await stopTestStack();
  }
}

/** Writes a workflow's history in the JSON form the Temporal CLI and UI export. */
async function save(stack: TestStack, file: string, workflowId: string): Promise<void> {
  const history = await stack.env.client.workflow.getHandle(workflowId).fetchHistory();
  fs.writeFileSync(path.join(HISTORIES_DIR, file), JSON.stringify(JSON.parse(historyToJSON(history)), null, 1) + '\n');
  console.log(`recorded ${file} (${history.events?.length} events)`);
}

/**
 * One history per branch of the pipeline workflows. Each case runs whole; `before` sets up what it needs (a champion
 * for the gate cases) whether or not its own history is recorded this time.
 */
async function recordPipelines(stack: TestStack, api: TestApi, force: boolean): Promise<void> {
  const clean = await upload(api, 'replay-blobs', blobRows(13));
  const drifted = await upload(api, 'replay-blobs-shifted', blobRows(15, 5));
  const full = (model: string, extra: Record<string, unknown> = {}) => ({
    model: { name: model },
    datasetId: clean,
    holdout: { fraction: 0.25, seed: 1 },
    training: trainingBody('label', true, { training: { epochs: 5, batchSize: 16, learningRate: 0.05, seed: 1 } }),
    gate: { thresholds: [{ metric: 'accuracy', threshold: 0.5 }], noChampion: 'absolute-only' },
    promote: { alias: 'champion' },
    ...extra,
  });
  const approval = (onTimeout: string, timeout = '1h') => ({ approval: { required: true, timeout, onTimeout } });
  const clusteringPipeline = (k: number, noChampion: string) => ({
    model: { name: 'replay-clusters' },
    datasetId: clean,
    holdout: { fraction: 0.25, seed: 1 },
    clustering: { algorithm: 'kmeans', params: { k, seed: 1 }, labelsColumn: 'label' },
    gate: { thresholds: [{ metric: 'silhouette', threshold: 0.2, minAbsoluteChange: 0.05 }], noChampion },
    promote: { alias: 'champion' },
  });
  const start = async (kind: string, body: unknown): Promise<string> => {
    const res = await request(api, 'POST', `/api/v1/pipelines/${kind}`, body);
    if (res.status !== 202) throw new Error(`start failed: ${JSON.stringify(res.body)}`);
    return res.body.pipelineId as string;
  };
  const waitFor = (id: string, status: string) =>
    eventually(() => request(api, 'GET', `/api/v1/pipelines/${id}`), (r) => r.body.status === status, 120_000);
  const decide = async (id: string, decision: string) => {
    await waitFor(id, 'AWAITING_APPROVAL');
    await request(api, 'POST', `/api/v1/pipelines/${id}/decision`, { decision }, bearer(api.reviewerKey!));
  };
  const cases: Array<[string, () => Promise<string>]> = [
    ['pipeline-validation-pass.json', () => start('validation', { datasetId: clean, referenceDatasetId: clean, target: 'label' })],
    ['pipeline-validation-fail.json', () => start('validation', { datasetId: drifted, referenceDatasetId: clean })],
    ['pipeline-full-no-champion.json', () => start('full', full('replay-pipe'))],
    [
      'pipeline-full-pass.json',
      () => start('full', full('replay-pipe', { gate: { thresholds: [{ metric: 'accuracy', minAbsoluteChange: 0 }], noChampion: 'fail' } })),
    ],
    [
      'pipeline-full-gate-fail.json',
      () =>
        start(
          'full',
          full('replay-pipe', {
            training: trainingBody('label', false),
            gate: { thresholds: [{ metric: 'accuracy', minAbsoluteChange: 0 }], noChampion: 'fail' },
          }),
        ),
    ],
    ['pipeline-full-data-fail.json', () => start('full', full('replay-drift', { datasetId: drifted, referenceDatasetId: clean }))],
    [
      'pipeline-full-approve.json',
      async () => {
        const id = await start('full', full('replay-approve', approval('reject')));
        await decide(id, 'approve');
        return id;
      },
    ],
    [
      'pipeline-full-reject.json',
      async () => {
        const id = await start('full', full('replay-reject', approval('approve')));
        await decide(id, 'reject');
        return id;
      },
    ],
    ['pipeline-full-timeout.json', () => start('full', full('replay-timeout', approval('reject', '2s')))],
    // Clustering candidates: the first (k = 3) becomes champion, the second (k = 2) is worse on the holdout.
    ['pipeline-full-clustering.json', () => start('full', clusteringPipeline(3, 'absolute-only'))],
    ['pipeline-full-clustering-gate-fail.json', () => start('full', clusteringPipeline(2, 'fail'))],
    [
      // The decision twice: an Update from a client whose answer was lost, then the same decision through the API.
      'pipeline-full-approve-repeat.json',
      async () => {
        const id = await start('full', full('replay-repeat', approval('reject')));
        await waitFor(id, 'AWAITING_APPROVAL');
        const handle = stack.env.client.workflow.getHandle(id);
        await Promise.all([
          handle.executeUpdate(decisionUpdate, { args: [{ decision: 'approve' }], updateId: 'lost-answer' }),
          request(api, 'POST', `/api/v1/pipelines/${id}/decision`, { decision: 'approve' }, bearer(api.reviewerKey!)),
        ]);
        return id;
      },
    ],
    [
      // Approved after the alias moved: promotion refused (AliasMoved), the decision answered FAILED, the run fails.
      'pipeline-full-alias-moved.json',
      async () => {
        await pipelineEnd(api, await start('full', full('replay-moved', { promote: { alias: 'other' } })), 180_000);
        const id = await start('full', full('replay-moved', approval('reject')));
        await waitFor(id, 'AWAITING_APPROVAL');
        await request(api, 'PUT', '/api/v1/models/replay-moved/aliases/champion', { version: 1 });
        await request(api, 'POST', `/api/v1/pipelines/${id}/decision`, { decision: 'approve' }, bearer(api.reviewerKey!));
        return id;
      },
    ],
    [
      'pipeline-full-cancel.json',
      async () => {
        const id = await start(
          'full',
          full('replay-cancel', {
            training: trainingBody('label', true, { training: { epochs: 10_000, batchSize: 4, learningRate: 0.05 } }),
          }),
        );
        const training = await eventually(
          () => request(api, 'GET', `/api/v1/pipelines/${id}`),
          (r) => typeof r.body.trainingJobId === 'string',
          120_000,
        );
        await eventually(
          () => request(api, 'GET', `/api/v1/jobs/${training.body.trainingJobId}`),
          (r) => (r.body.progress?.epoch ?? 0) >= 1,
          120_000,
        );
        await request(api, 'POST', `/api/v1/jobs/${id}/cancel`);
        return id;
      },
    ],
  ];
  // The no-champion and pass cases set up the champion the gate cases compare with: always run them.
  const setup = new Set(['pipeline-full-no-champion.json', 'pipeline-full-pass.json', 'pipeline-full-clustering.json']);
  for (const [file, run] of cases) {
    const exists = fs.existsSync(path.join(HISTORIES_DIR, file));
    if (!force && exists && !setup.has(file)) continue;
    const id = await run();
    const view = await pipelineEnd(api, id, 180_000);
    console.log(`${file}: ${view.status}`);
    if (force || !exists) await save(stack, file, id);
  }
}

/**
 * Jobs that name their dataset by series (a first activity resolves it), started by their routes and by a schedule
 * (its runs carry TemporalScheduledStartTime; a backfill before the series existed fails its run).
 */
async function recordSeries(stack: TestStack, api: TestApi, force: boolean, rows: unknown[]): Promise<void> {
  const series = 'replay-series';
  await upload(api, series, rows);
  await upload(api, 'replay-pipe-series', blobRows(13));
  const dataset = { name: series };
  const finish = async (jobId: string) => {
    await eventually(
      () => request(api, 'GET', `/api/v1/jobs/${jobId}`),
      (r) => r.body.status !== 'RUNNING' && r.body.status !== 'AWAITING_APPROVAL',
      180_000,
    );
    return jobId;
  };
  const start = async (route: string, body: unknown) => {
    const res = await request(api, 'POST', route, body);
    if (res.status !== 202) throw new Error(`start failed: ${JSON.stringify(res.body)}`);
    return finish((res.body.jobId ?? res.body.pipelineId) as string);
  };
  const schedule = async (then: (id: string) => Promise<string>) => {
    const created = await request(api, 'POST', '/api/v1/schedules', {
      action: { kind: 'clustering', request: { algorithm: 'kmeans', params: { k: 2, seed: 1 }, labelsColumn: 'label', dataset } },
      spec: { cron: ['0 3 1 1 *'], timezone: 'Europe/Berlin' },
      paused: true,
    });
    if (created.status !== 201) throw new Error(`schedule failed: ${JSON.stringify(created.body)}`);
    try {
      return await then(created.body.scheduleId as string);
    } finally {
      await request(api, 'DELETE', `/api/v1/schedules/${created.body.scheduleId}`);
    }
  };
  const cases: Array<[string, () => Promise<string>]> = [
    ['clustering-series.json', () => start('/api/v1/clustering', { algorithm: 'kmeans', params: { k: 2, seed: 1 }, labelsColumn: 'label', dataset })],
    [
      'training-series.json',
      () =>
        start('/api/v1/training', {
          dataset: { name: series, version: 1 },
          target: 'label',
          model: { name: 'replay-series-mlp' },
          spec: { task: 'classification', layers: [{ units: 4, activation: 'relu' }] },
          training: { epochs: 2, batchSize: 8, learningRate: 0.05 },
        }),
    ],
    ['batch-predict-series.json', () => start('/api/v1/models/replay-kmeans/batch-predict', { dataset })],
    [
      'pipeline-validation-series.json',
      () => start('/api/v1/pipelines/validation', { dataset: { name: 'replay-pipe-series' }, target: 'label' }),
    ],
    [
      'pipeline-full-series.json',
      () =>
        start('/api/v1/pipelines/full', {
          model: { name: 'replay-pipe-series' },
          dataset: { name: 'replay-pipe-series', version: { asOf: new Date().toISOString() } },
          holdout: { fraction: 0.25, seed: 1 },
          training: trainingBody('label', true, { training: { epochs: 3, batchSize: 16, learningRate: 0.05, seed: 1 } }),
          gate: { thresholds: [{ metric: 'accuracy', threshold: 0.5 }], noChampion: 'absolute-only' },
          promote: { alias: 'champion' },
        }),
    ],
    [
      'clustering-scheduled-series.json',
      () =>
        schedule(async (id) => {
          const triggered = await request(api, 'POST', `/api/v1/schedules/${id}/trigger`);
          if (!triggered.body.jobId) throw new Error(`trigger failed: ${JSON.stringify(triggered.body)}`);
          return finish(triggered.body.jobId as string);
        }),
    ],
    [
      'clustering-scheduled-series-missing.json',
      () =>
        schedule(async (id) => {
          await request(api, 'POST', `/api/v1/schedules/${id}/backfill`, {
            start: '2001-01-01T00:00:00Z',
            end: '2001-01-02T00:00:00Z',
          });
          const runs = await eventually(
            () => request(api, 'GET', `/api/v1/schedules/${id}`),
            (r) => r.body.recentRuns?.length === 1,
            30_000,
          );
          return finish(runs.body.recentRuns[0].jobId as string);
        }),
    ],
  ];
  for (const [file, run] of cases) {
    if (!force && fs.existsSync(path.join(HISTORIES_DIR, file))) continue;
    await save(stack, file, await run());
  }
}

if (require.main === module) {
  record().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

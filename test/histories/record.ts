import * as fs from 'node:fs';
import * as path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { repoRoot } from '../../common/paths';
import { upsertDevice } from '../../db/gpus';
import { gpuClassQueue } from '../../gpu/gpu-class';
import { makeBlobs } from '../support/blobs';
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
  const api = await startTestApi(stack, {}, {}, { gpuFallbackSeconds: 1 });
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
  const cases: Array<[string, string, unknown, { routed?: boolean; gpu?: boolean }?]> = [
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
        const started = await request(api, 'POST', route, body);
        if (started.status !== 202) throw new Error(`start failed: ${JSON.stringify(started.body)}`);
        const finish = () => request(api, 'GET', `/api/v1/jobs/${started.body.jobId}/result?wait=30`);
        const result = options?.gpu ? await (await replayGpuWorker(stack)).runUntil(finish) : await finish();
        if (result.status !== 200) throw new Error(`job failed: ${JSON.stringify(result.body)}`);
        const history = await stack.env.client.workflow.getHandle(started.body.jobId).fetchHistory();
        // The JSON form the Temporal CLI and UI export, so a history downloaded from production can be dropped in here.
        fs.writeFileSync(path.join(HISTORIES_DIR, file), JSON.stringify(JSON.parse(historyToJSON(history)), null, 1) + '\n');
        console.log(`recorded ${file} (${history.events?.length} events)`);
      }
    });
  } finally {
    await api.close();
    await stopTestStack();
  }
}

if (require.main === module) {
  record().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

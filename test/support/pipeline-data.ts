import { makeBlobs } from './blobs';
import { request, eventually, TestApi } from './test-api';

/**
 * Data for the pipeline tests: three Gaussian blobs in (x, y) labelled a, b, c (a dense network separates them), a
 * second sample of the same distribution, and a copy with one column shifted (drift in x only).
 */
export function blobRows(seed: number, shiftX = 0): Array<{ x: number; y: number; label: string }> {
  const blobs = makeBlobs(
    60,
    [
      [0, 0],
      [6, 6],
      [-6, 6],
    ],
    0.9,
    seed,
  );
  return blobs.points.map(([x, y], i) => ({ x: x + shiftX, y, label: ['a', 'b', 'c'][blobs.labels[i]] }));
}

/** Uploads rows as a dataset and returns its id. */
export async function upload(api: TestApi, name: string, rows: unknown[]): Promise<string> {
  const res = await request(api, 'POST', '/api/v1/datasets', { name, data: rows });
  if (res.status !== 201 && res.status !== 200) throw new Error(`upload failed: ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

/** A small classifier's training body: `strong` learns the blobs, weak barely moves from its initial weights. */
export function trainingBody(target: string, strong: boolean, extra: Record<string, unknown> = {}) {
  return {
    target,
    features: ['x', 'y'],
    spec: { task: 'classification', layers: [{ units: strong ? 16 : 2, activation: 'relu' }] },
    training: strong
      ? { epochs: 15, batchSize: 16, learningRate: 0.05, seed: 1 }
      : { epochs: 1, batchSize: 64, learningRate: 0.0001, seed: 3 },
    ...extra,
  };
}

/** Waits until the pipeline is no longer running (or waiting), and returns its view. */
export async function pipelineEnd(api: TestApi, pipelineId: string, timeoutMs = 120_000) {
  const res = await eventually(
    () => request(api, 'GET', `/api/v1/pipelines/${pipelineId}`),
    (r) => r.status !== 200 || !['RUNNING', 'AWAITING_APPROVAL'].includes(r.body.status),
    timeoutMs,
  );
  if (res.status !== 200) throw new Error(`pipeline ${pipelineId}: ${JSON.stringify(res.body)}`);
  return res.body;
}

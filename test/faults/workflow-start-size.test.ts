import { expect } from 'chai';
import { MAX_COLUMN_NAMES_BYTES } from '../../common/dataset-limits';
import { PayloadTooLargeError } from '../../common/errors';
import { ClusteringJobInput, ClusteringJobResult, CLUSTERING_ALGORITHMS } from '../../common/jobs';
import { TASK_QUEUES } from '../../common/task-queues';
import { DEFAULT_TENANT } from '../../common/tenant';
import { checkWorkflowStartSize, MAX_WORKFLOW_START_BYTES } from '../../api/services/jobs';
import { MAX_PROFILE_QUANTILES } from '../../api/services/submit-pipeline';
import { CLUSTERING_LIMITS } from '../../api/schemas/clustering';
import { putArtifact } from '../../db/artifacts';
import { getDataset } from '../../db/datasets';
import { registerModelVersion } from '../../db/registry';
import { TRAINING_LIMITS } from '../../ml/training/spec';
import { DEFAULT_SEVERITIES, VALIDATION_DEFAULTS } from '../../ml/validation/options';
import { clusteringWorkflow } from '../../workflows/clustering';
import { eventually, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { withWorker } from '../support/with-worker';

/**
 * Fault class: request fields that grow with user input were copied into the workflow start. k-means `init` of
 * 2048 × 64 centroids (inside the documented limits) answered 500 after ~40 s (the gRPC message passed 4 MiB); any
 * column list or override could grow the same way. Now the centroids travel as an artifact, every field that grows
 * with the request has a documented bound (column names: 64 KiB as JSON per table; profileQuantiles: 101), and
 * JobService refuses a start over 256 KiB with a clear 413. This walks every start path with its maximal input.
 */

/** 1,024 column names (the column limit) whose JSON takes exactly MAX_COLUMN_NAMES_BYTES, escapes included. */
function maximalNames(count: number): string[] {
  const names = Array.from({ length: count }, (_, i) => `c${i}"\\é`);
  const size = () => Buffer.byteLength(JSON.stringify(names), 'utf8');
  // Grow names one character at a time, round robin, while the whole stays within the limit.
  for (let i = 0; size() < MAX_COLUMN_NAMES_BYTES; i = (i + 1) % count) {
    names[i] += 'x';
    if (size() > MAX_COLUMN_NAMES_BYTES) {
      names[i] = names[i].slice(0, -1);
      break;
    }
  }
  return names;
}

/** Bytes of the workflow start Temporal recorded: input payloads plus memo fields. */
async function recordedStartBytes(stack: TestStack, workflowId: string): Promise<number> {
  const history = await stack.env.client.workflow.getHandle(workflowId).fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  const input = (started?.input?.payloads ?? []).reduce((sum, p) => sum + (p.data?.length ?? 0), 0);
  const memo = Object.values(started?.memo?.fields ?? {}).reduce((sum, p) => sum + (p.data?.length ?? 0), 0);
  return input + memo;
}

describe('faults: workflow starts stay small whatever the request (item 4)', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let api: TestApi;
  const started: string[] = [];

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    api = await startTestApi(stack);
  });
  /** No job started here may be left for a worker on kiln-cpu (this suite's or a later one's) to run. */
  const terminateStarted = async () => {
    for (const id of started.splice(0)) {
      await stack.env.client.workflow
        .getHandle(id)
        .terminate('test cleanup')
        .catch(() => undefined);
    }
  };
  after(async () => {
    await terminateStarted();
    await api?.close();
  });

  describe('the guard', () => {
    it('refuses a start over MAX_WORKFLOW_START_BYTES with a 413 saying how large it is', () => {
      const big = { names: ['x'.repeat(MAX_WORKFLOW_START_BYTES)] };
      expect(() => checkWorkflowStartSize('training', big, {}))
        .to.throw(PayloadTooLargeError)
        .with.property('message')
        .that.matches(/training job's workflow input and memo take .* more than the 262,144 bytes \(256 KiB\)/);
      expect(() =>
        checkWorkflowStartSize('clustering', { a: 1 }, { memo: 'x'.repeat(MAX_WORKFLOW_START_BYTES) }),
      ).to.throw(PayloadTooLargeError);
      expect(() => checkWorkflowStartSize('clustering', { a: 'x'.repeat(200_000) }, { b: 1 })).to.not.throw();
    });

    it('refuses an upload whose column names take more than 64 KiB as JSON (413), and takes one at the limit', async () => {
      const names = maximalNames(1024);
      expect(Buffer.byteLength(JSON.stringify(names))).to.equal(MAX_COLUMN_NAMES_BYTES);
      const over = [...names];
      over[0] += 'y';
      const refused = await request(api, 'POST', '/api/v1/datasets', {
        data: [Object.fromEntries(over.map((n) => [n, 1]))],
      });
      expect(refused.status, JSON.stringify(refused.body).slice(0, 300)).to.equal(413);
      expect(refused.body.error.message).to.match(/column names take 65,537 bytes as JSON/);
    });
  });

  describe('every start path with its maximal input (inside the documented limits)', () => {
    const names = maximalNames(1024);
    const rows = 40; // a 25 % holdout of them is 10 rows, the pipelines' minimum
    let wide: string; // 40 rows × 1,024 numeric columns, names at the limit
    let tall: string; // 2,048 rows × 64 columns: room for k = 2,048 initial centroids
    const modelName = `m${'x'.repeat(127)}`;

    const sizes: Record<string, number> = {};
    const expectStarted = async (res: { status: number; body: any }, what: string, idField = 'jobId') => {
      expect(res.status, `${what}: ${JSON.stringify(res.body).slice(0, 400)}`).to.equal(202);
      const id = res.body[idField] as string;
      started.push(id);
      const bytes = await recordedStartBytes(stack, id);
      sizes[what] = bytes;
      expect(bytes, what).to.be.at.most(MAX_WORKFLOW_START_BYTES);
      return bytes;
    };

    after(async () => {
      console.log(`      workflow start bytes (input + memo): ${JSON.stringify(sizes)}`);
      await terminateStarted();
    });

    before(async function () {
      this.timeout(120_000);
      const wideRows = Array.from({ length: rows }, (_, r) =>
        Object.fromEntries(names.map((n, j) => [n, ((r * 7 + j * 13) % 31) + r * 0.5])),
      );
      const a = await request(api, 'POST', '/api/v1/datasets', { name: 'max-names', data: wideRows });
      expect(a.status, JSON.stringify(a.body).slice(0, 300)).to.be.oneOf([200, 201]);
      wide = a.body.id;
      const tallRows = Array.from({ length: 2048 }, (_, r) => Array.from({ length: 64 }, (_, j) => (r * 31 + j) % 97));
      const b = await request(api, 'POST', '/api/v1/datasets', { name: 'init-room', data: tallRows });
      expect(b.status).to.be.oneOf([200, 201]);
      tall = b.body.id;
    });

    it('k-means with explicit init of 2,048 × 64 centroids starts at once (was a 500 after ~40 s)', async () => {
      const init = Array.from({ length: 2048 }, (_, i) => Array.from({ length: 64 }, (_, j) => (i * 64 + j) / 7));
      const t0 = Date.now();
      const res = await request(api, 'POST', '/api/v1/clustering', {
        algorithm: 'kmeans',
        params: { k: 2048, init, seed: 1 },
        datasetId: tall,
        register: { name: modelName },
      });
      const bytes = await expectStarted(res, 'kmeans init');
      expect(Date.now() - t0).to.be.below(15_000);
      expect(bytes).to.be.below(16 * 1024); // the centroids are an artifact, not in the start
      const job = await request(api, 'GET', `/api/v1/jobs/${res.body.jobId}`);
      expect(job.body.memo.params.init).to.have.keys(['artifactId', 'k', 'd']);
      expect(job.body.memo.params.init).to.deep.include({ k: 2048, d: 64 });
    });

    const maximalParams: Record<string, Record<string, unknown>> = {
      kmeans: {
        k: 2,
        init: 'k-means++',
        nInit: 100,
        maxIterations: CLUSTERING_LIMITS.maxIterations,
        seed: 2 ** 32 - 1,
      },
      'minibatch-kmeans': { k: 2, batchSize: 1_000_000, maxNoImprovement: 10_000, nInit: 100 },
      dbscan: { eps: 1e12, minPoints: 100_000, metric: 'cosine' },
      hierarchical: { k: 2, linkage: 'average' },
      som: { rows: 100, cols: 100, iterations: CLUSTERING_LIMITS.maxIterations, sigma: 1000 },
      spectral: { k: 2, affinity: 'nearest-neighbors', nNeighbors: 1000, nInit: 100 },
      gmm: { k: 2, covarianceType: 'diag', nInit: 100, maxIterations: CLUSTERING_LIMITS.maxIterations },
    };
    const registrable = new Set(['kmeans', 'minibatch-kmeans', 'som', 'gmm']);

    for (const algorithm of CLUSTERING_ALGORITHMS) {
      it(`${algorithm}: every column named (64 KiB of names), labelsColumn, register, resources`, async () => {
        const res = await request(api, 'POST', '/api/v1/clustering', {
          algorithm,
          params: maximalParams[algorithm],
          datasetId: wide,
          columns: names,
          labelsColumn: names[0],
          resources: { accelerator: 'cpu', gpuClass: 'g'.repeat(32), gpuMemoryMb: 1_048_576, memoryMb: 1_048_576 },
          ...(registrable.has(algorithm) ? { register: { name: modelName } } : {}),
        });
        const bytes = await expectStarted(res, algorithm);
        expect(bytes, 'the column list is in the start').to.be.above(MAX_COLUMN_NAMES_BYTES);
      });
    }

    const training = () => ({
      target: names[0],
      features: names.slice(1),
      spec: {
        task: 'regression',
        layers: Array.from({ length: TRAINING_LIMITS.maxLayers }, () => ({
          units: TRAINING_LIMITS.maxUnits,
          activation: 'relu',
          dropout: 0.5,
        })),
      },
      training: {
        epochs: TRAINING_LIMITS.maxEpochs,
        batchSize: TRAINING_LIMITS.maxBatchSize,
        learningRate: 0.001,
        optimizer: 'rmsprop',
        validationSplit: 0.25,
        seed: 2 ** 32 - 1,
        checkpointEvery: TRAINING_LIMITS.maxEpochs,
        earlyStopping: { patience: TRAINING_LIMITS.maxPatience, minDelta: 0.5 },
      },
      resources: { accelerator: 'cpu' },
    });

    it('training: target and 1,023 features of maximal names, 20 layers', async () => {
      const res = await request(api, 'POST', '/api/v1/training', {
        datasetId: wide,
        model: { name: modelName },
        ...training(),
      });
      const bytes = await expectStarted(res, 'training');
      expect(bytes).to.be.above(MAX_COLUMN_NAMES_BYTES);
    });

    it('batch predict: a model over all 1,024 maximal columns', async () => {
      const dataset = (await getDataset(stack.pool, DEFAULT_TENANT, wide))!;
      const artifact = await putArtifact(stack.pool, {
        tenantId: DEFAULT_TENANT,
        kind: 'model',
        mediaType: 'application/vnd.kiln.kmeans+json',
        content: Buffer.from(
          JSON.stringify({ flavor: 'kmeans', centroids: [names.map(() => 0), names.map(() => 1)], columns: names }),
        ),
      });
      await registerModelVersion(stack.pool, {
        tenantId: DEFAULT_TENANT,
        modelName,
        flavor: 'kmeans',
        params: { k: 2 },
        metrics: {},
        artifactId: artifact.id,
        datasetId: wide,
        datasetSha256: dataset.sha256,
        sourceWorkflowId: 'clustering-00000000-0000-4000-8000-0000000000b4',
        sourceRunId: 'run-1',
        backend: 'cpu',
        actor: 'test',
      });
      const res = await request(api, 'POST', `/api/v1/models/${modelName}/batch-predict`, {
        datasetId: wide,
        resources: { accelerator: 'cpu', gpuClass: 'g'.repeat(32) },
      });
      await expectStarted(res, 'batch predict');
    });

    const checks = () => ({
      ...Object.fromEntries(
        Object.entries(VALIDATION_DEFAULTS).filter(([k]) => k !== 'profileQuantiles' && k !== 'severities'),
      ),
      profileQuantiles: Array.from({ length: MAX_PROFILE_QUANTILES }, (_, i) => i / (MAX_PROFILE_QUANTILES - 1)),
      severities: Object.fromEntries(Object.keys(DEFAULT_SEVERITIES).map((name) => [name, 'warn'])),
    });

    it('validation pipeline: a maximal target name and every check overridden', async () => {
      const res = await request(api, 'POST', '/api/v1/pipelines/validation', {
        datasetId: wide,
        referenceDatasetId: wide,
        target: names[1023],
        checks: checks(),
        priority: 5,
      });
      await expectStarted(res, 'validation pipeline', 'pipelineId');
    });

    it('full pipeline: the maximal training body, every check, a threshold on every metric, approval, a 55-character alias', async () => {
      const metrics = ['mse', 'rmse', 'mae', 'r2'];
      const res = await request(api, 'POST', '/api/v1/pipelines/full', {
        model: { name: modelName },
        datasetId: wide,
        holdout: { fraction: 0.25, seed: 2 ** 32 - 1 },
        referenceDatasetId: wide,
        checks: checks(),
        training: training(),
        gate: {
          // One threshold per metric (a second on the same metric is a 400), each with every criterion.
          thresholds: metrics.map((metric) => ({
            metric,
            threshold: metric === 'r2' ? -1e300 : 1e300,
            minAbsoluteChange: 1,
            minRelativeChange: 1,
          })),
          noChampion: 'absolute-only',
        },
        approval: { required: true, timeout: '30d', onTimeout: 'approve' },
        promote: { alias: `a${'b'.repeat(54)}` },
        priority: 1,
      });
      const bytes = await expectStarted(res, 'full pipeline', 'pipelineId');
      expect(bytes).to.be.above(MAX_COLUMN_NAMES_BYTES);
    });

    it('the seed route: inline rows with maximal names and inline init', async () => {
      const data = Array.from({ length: rows }, (_, r) => Object.fromEntries(names.map((n, j) => [n, r * 3 + j])));
      const res = await request(api, 'POST', '/api/cluster/kmeans?wait=0', {
        data,
        params: { k: 2, init: [names.map(() => 0), names.map(() => 100)] },
      });
      await expectStarted(res, 'seed kmeans');
    });
  });

  describe('the activity', () => {
    it('runs init from its artifact, and an old job with init inline (its history replays) the same way', async () => {
      const upload = await request(api, 'POST', '/api/v1/datasets', {
        name: 'init-four',
        data: [[0], [1], [10], [11]],
      });
      const datasetId = upload.body.id as string;
      const init = [[11], [0]];
      await withWorker(stack, async () => {
        const viaApi = await request(api, 'POST', '/api/v1/clustering', {
          algorithm: 'kmeans',
          params: { k: 2, init, maxIterations: 1 },
          datasetId,
          resources: { accelerator: 'cpu' },
        });
        expect(viaApi.status, JSON.stringify(viaApi.body)).to.equal(202);
        started.push(viaApi.body.jobId);
        const input: ClusteringJobInput = {
          tenantId: DEFAULT_TENANT,
          datasetId,
          algorithm: 'kmeans',
          params: { k: 2, init, nInit: 1, maxIterations: 1, tolerance: 1e-4, seed: 0 },
        };
        const old = await stack.env.client.workflow.execute(clusteringWorkflow, {
          workflowId: `clustering-${'0'.repeat(8)}-0000-4000-8000-${Date.now().toString(16).padStart(12, '0')}`,
          taskQueue: TASK_QUEUES.cpu,
          args: [input],
        });
        const result = await eventually(
          () => request(api, 'GET', `/api/v1/jobs/${viaApi.body.jobId}/result?wait=30`),
          (r) => r.status !== 409,
          90_000,
        );
        expect(result.status, JSON.stringify(result.body)).to.equal(200);
        // Centroid 0 starts at 11: the points near 10 are cluster 0 in both jobs.
        expect(result.body.labels).to.deep.equal([1, 1, 0, 0]);
        const oldView = await request(api, 'GET', `/api/v1/artifacts/${(old as ClusteringJobResult).resultArtifactId}`);
        expect(oldView.body.labels).to.deep.equal(result.body.labels);
        expect(result.body.params.init).to.deep.include({ k: 2, d: 1 });
      });
    });
  });
});

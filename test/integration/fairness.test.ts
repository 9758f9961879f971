import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Worker } from '@temporalio/worker';
import type { ClusteringJobInput } from '../../common/jobs';
import { JobService, StartableJob } from '../../api/services/jobs';
import { PRIORITY_KEYS } from '../../api/services/job-priority';
import type { FullPipelineInput } from '../../common/pipelines';
import {
  ActivityRecorder,
  mockActivities,
  trainingInput,
  uniqueQueue,
  workflowWorker,
} from '../support/mock-activities';
import { getTestTemporal, TestTemporal } from '../support/test-temporal';
import { eventually, request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { bearer, createTestKey, createTestTenant } from '../support/auth';

/**
 * Fair sharing and priority on a busy task queue, through Kiln's own start (JobService.startJob, so startOptions'
 * priority and fairness key are what is tested) and the dev server's matcher as launcher/temporal-dynamic-config.ts
 * sets it. The jobs are clustering workflows with mocked activities; one worker with one slot of each kind takes
 * them one at a time, so the order their compute runs in is the order the queue handed them out.
 */
describe('priority and fair sharing between tenants on one task queue', function () {
  this.timeout(180_000);
  let temporal: TestTemporal;
  let jobs: JobService;

  before(async function () {
    temporal = await getTestTemporal();
    jobs = new JobService(temporal.env.client);
  });

  /** A clustering job of `tenantId` on `taskQueue` at `priorityKey`, its compute routed to `computeQueue` if given. */
  const job = (tenantId: string, taskQueue: string, priorityKey?: number, computeQueue?: string): StartableJob => {
    const input: ClusteringJobInput = {
      tenantId,
      datasetId: `ds-${tenantId}`,
      algorithm: 'kmeans',
      params: { k: 2, seed: 1 },
      ...(computeQueue ? { route: { taskQueue: computeQueue } } : {}),
    };
    return {
      workflowType: 'clusteringWorkflow',
      input,
      taskQueue,
      memo: { kind: 'clustering' },
      attributes: { kind: 'clustering', tenantId },
      ...(priorityKey !== undefined ? { priorityKey } : {}),
    };
  };

  /** Starts the jobs one after another (their tasks enter the queue in this order); their ids. */
  const startAll = async (list: StartableJob[]): Promise<string[]> => {
    const ids: string[] = [];
    for (const j of list) {
      const id = `clustering-${randomUUID()}`;
      await jobs.startJob(id, j);
      ids.push(id);
    }
    return ids;
  };

  /**
   * A worker with one workflow slot and one activity slot (and one poller each): it takes one task at a time, so the
   * queue's dispatch order decides which job goes first. `workflows: false` makes an activity-only worker.
   */
  const singleSlotWorker = (taskQueue: string, recorder: ActivityRecorder, workflows = true) =>
    Worker.create({
      connection: temporal.env.nativeConnection,
      namespace: temporal.env.namespace ?? 'default',
      taskQueue,
      // No workflow cache: the SDK needs two pollers for sticky queues, and one is the point here.
      ...(workflows
        ? { workflowBundle: temporal.workflowBundle, maxConcurrentWorkflowTaskExecutions: 1, maxCachedWorkflows: 0 }
        : {}),
      activities: mockActivities(recorder),
      maxConcurrentActivityTaskExecutions: 1,
      maxConcurrentLocalActivityExecutions: 1,
    });

  /** The tenants (or input markers) of runClustering calls, in the order they ran. */
  const computeOrder = (recorder: ActivityRecorder) =>
    recorder.calls.filter((c) => c.activity === 'runClustering').map((c) => (c.input as ClusteringJobInput).tenantId);

  /** Runs the worker until every job has closed; the jobs' tenants in compute order. */
  const drain = async (worker: Worker, ids: string[], recorder: ActivityRecorder) => {
    await worker.runUntil(async () => {
      for (const id of ids) await temporal.env.client.workflow.getHandle(id).result();
    });
    return computeOrder(recorder);
  };

  it("tenant B's one job starts long before tenant A's 40 queued jobs drain", async () => {
    const queue = uniqueQueue('fair');
    const recorder = new ActivityRecorder();
    const ids = await startAll([...Array.from({ length: 40 }, () => job('tenant-a', queue)), job('tenant-b', queue)]);
    const order = await drain(await singleSlotWorker(queue, recorder), ids, recorder);
    expect(order).to.have.length(41);
    // First in, first out would run it 41st; fair sharing alternates the two tenants' backlogs.
    expect(order.indexOf('tenant-b'), order.join(' ')).to.be.lessThan(5);
  });

  it('a high-priority job starts before the normal ones queued ahead of it', async () => {
    const queue = uniqueQueue('priority');
    const recorder = new ActivityRecorder();
    const ids = await startAll([
      ...Array.from({ length: 8 }, () => job('tenant-n', queue, PRIORITY_KEYS.normal)),
      job('tenant-h', queue, PRIORITY_KEYS.high),
    ]);
    const order = await drain(await singleSlotWorker(queue, recorder), ids, recorder);
    expect(order).to.have.length(9);
    expect(order.indexOf('tenant-h'), order.join(' ')).to.equal(0);
  });

  it("activities inherit their workflow's fairness key and priority (a compute queue's backlog)", async () => {
    // The workflows run at once on a worker with room for all; their compute waits on a queue of its own until a
    // single-slot activity worker polls it, so the order there is the activity tasks' own dispatch order.
    const queue = uniqueQueue('orchestrate');
    const computeQueue = uniqueQueue('compute');
    const recorder = new ActivityRecorder();
    const ids = await startAll([
      ...Array.from({ length: 20 }, () => job('tenant-a', queue, undefined, computeQueue)),
      job('tenant-b', queue, undefined, computeQueue),
      ...Array.from({ length: 10 }, () => job('tenant-c', queue, PRIORITY_KEYS.low, computeQueue)),
      job('tenant-h', queue, PRIORITY_KEYS.high, computeQueue),
    ]);
    const orchestrator = await Worker.create({
      connection: temporal.env.nativeConnection,
      namespace: temporal.env.namespace ?? 'default',
      taskQueue: queue,
      workflowBundle: temporal.workflowBundle,
      activities: mockActivities(recorder),
    });
    await orchestrator.runUntil(async () => {
      // Every job's compute is scheduled before anything polls the compute queue.
      await eventually(
        async () => {
          const pending = await Promise.all(
            ids.map(async (id) => (await temporal.env.client.workflow.getHandle(id).describe()).raw.pendingActivities),
          );
          return pending.filter((p) => (p?.length ?? 0) > 0).length;
        },
        (n) => n === ids.length,
      );
      const order = await drain(await singleSlotWorker(computeQueue, recorder, false), ids, recorder);
      expect(order).to.have.length(ids.length);
      expect(order[0], order.join(' ')).to.equal('tenant-h');
      expect(order.indexOf('tenant-b'), order.join(' ')).to.be.lessThan(5);
      // Low priority waits for every normal job.
      expect(order.slice(-10), order.join(' ')).to.deep.equal(Array(10).fill('tenant-c'));
    });
  });

  it("a pipeline's child workflow inherits the pipeline's priority and fairness key", async () => {
    const queue = uniqueQueue('pipeline-priority');
    const input: FullPipelineInput = {
      tenantId: 'tenant-p',
      modelName: 'churn-mlp',
      datasetId: 'ds-full',
      holdout: { fraction: 0.2, seed: 7 },
      training: trainingInput({ tenantId: 'tenant-p', datasetId: 'ds-full' }),
      gate: {
        thresholds: [{ metric: 'accuracy', threshold: 0.8, greaterIsBetter: true }],
        noChampion: 'absolute-only',
      },
      promote: { alias: 'champion' },
    };
    const id = `pipeline-full-${randomUUID()}`;
    await jobs.startJob(id, {
      workflowType: 'fullPipelineWorkflow',
      input,
      taskQueue: queue,
      memo: { kind: 'pipeline' },
      attributes: { kind: 'pipeline', tenantId: 'tenant-p' },
      priorityKey: PRIORITY_KEYS.high,
    });
    const handle = temporal.env.client.workflow.getHandle(id);
    const worker = await workflowWorker(temporal, queue, mockActivities(new ActivityRecorder()));
    await worker.runUntil(handle.result());
    const history = await handle.fetchHistory();
    const childId = history.events
      ?.map((e) => e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId)
      .find((w) => w);
    expect(childId, 'the training child').to.be.a('string');
    // Kiln's pipeline starts its child without a priority: the server merges in the parent's.
    const child = await temporal.env.client.workflow.getHandle(childId!).describe();
    const priority = child.raw.workflowExecutionInfo?.priority;
    expect({ priorityKey: priority?.priorityKey, fairnessKey: priority?.fairnessKey }).to.deep.equal({
      priorityKey: PRIORITY_KEYS.high,
      fairnessKey: 'tenant-p',
    });
  });
});

describe('a per-tenant cap on running jobs', function () {
  this.timeout(180_000);
  // Until the tenancy work lands the API starts every job for tenant 'default', whatever the key's tenant: the cap is
  // tested there, relative to the default tenant's jobs other tests left running, and restored after.
  const TENANT = 'default';
  let stack: TestStack;
  let api: TestApi;
  let jobs: JobService;
  let headers: Record<string, string>;
  const started: string[] = [];

  before(async function () {
    stack = await getTestStack();
    api = await startTestApi(stack);
    jobs = new JobService(stack.env.client);
    headers = bearer(await createTestKey(stack.pool, { tenantId: TENANT, role: 'editor' }));
  });
  after(async () => {
    await stack?.pool.query('UPDATE tenants SET max_running_jobs = NULL WHERE id = $1', [TENANT]);
    // No worker polls the jobs' queue here: they would run for ever.
    for (const id of started) {
      await stack.env.client.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => undefined);
    }
    await api?.close();
  });

  const POINTS = [
    [0, 0],
    [0, 1],
    [5, 5],
    [5, 6],
  ];
  const submit = () =>
    request(api, 'POST', '/api/v1/clustering', { algorithm: 'kmeans', params: { k: 2 }, data: POINTS }, headers);

  it('a burst of 12 concurrent starts into one API process under a cap of 3: exactly 3 start, 9 are 429 tenant_job_limit', async () => {
    const tenant = await createTestTenant(stack.pool, `burst-${randomUUID().slice(0, 8)}`);
    await stack.pool.query('UPDATE tenants SET max_running_jobs = 3 WHERE id = $1', [tenant]);
    const key = bearer(await createTestKey(stack.pool, { tenantId: tenant, role: 'editor' }));
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        request(api, 'POST', '/api/v1/clustering', { algorithm: 'kmeans', params: { k: 2 }, data: POINTS }, key),
      ),
    );
    for (const r of results) if (r.status === 202) started.push(r.body.jobId);
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 202).length, statuses.join(',')).to.equal(3);
    const refused = results.filter((r) => r.status !== 202);
    expect(refused.map((r) => `${r.status} ${r.body.error?.code}`)).to.deep.equal(
      Array(9).fill('429 tenant_job_limit'),
    );
    // Visibility, once it has caught up, agrees: the tenant runs 3.
    await eventually(
      () => jobs.countRunning(tenant),
      (n) => n === 3,
    );
    // Once visibility lists them, the reservations stop counting twice: still exactly full, not over-full.
    const more = await request(
      api,
      'POST',
      '/api/v1/clustering',
      { algorithm: 'kmeans', params: { k: 2 }, data: POINTS },
      key,
    );
    expect(more.status, JSON.stringify(more.body)).to.equal(429);
    expect(more.body.error.message).to.contain('runs 3 jobs');
    await stack.env.client.workflow.getHandle(started[started.length - 1]).terminate('make room');
    await eventually(
      () => jobs.countRunning(tenant),
      (n) => n === 2,
    );
    const again = await request(
      api,
      'POST',
      '/api/v1/clustering',
      { algorithm: 'kmeans', params: { k: 2 }, data: POINTS },
      key,
    );
    expect(again.status, JSON.stringify(again.body)).to.equal(202);
    started.push(again.body.jobId);
  });

  it('refuses a job past tenants.max_running_jobs with 429 tenant_job_limit and Retry-After, and starts it once one ends', async () => {
    // Visibility has settled on whatever ran before (it lags about a second).
    const before = await eventually(
      async () => [await jobs.countRunning(TENANT), await jobs.countRunning(TENANT)],
      ([a, b]) => a === b,
    );
    const baseline = before[0];
    await stack.pool.query('UPDATE tenants SET max_running_jobs = $2 WHERE id = $1', [TENANT, baseline + 1]);

    const first = await submit();
    expect(first.status, JSON.stringify(first.body)).to.equal(202);
    started.push(first.body.jobId);
    await eventually(
      () => jobs.countRunning(TENANT),
      (n) => n === baseline + 1,
    );

    const refused = await submit();
    expect(refused.status, JSON.stringify(refused.body)).to.equal(429);
    expect(refused.body.error.code).to.equal('tenant_job_limit');
    expect(Number(refused.headers.get('retry-after'))).to.be.greaterThan(0);

    await stack.env.client.workflow.getHandle(first.body.jobId).terminate('make room');
    await eventually(
      () => jobs.countRunning(TENANT),
      (n) => n === baseline,
    );
    const again = await submit();
    expect(again.status, JSON.stringify(again.body)).to.equal(202);
    started.push(again.body.jobId);
  });
});

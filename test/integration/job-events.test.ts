import { expect } from 'chai';
import { ChildProcess, spawn } from 'node:child_process';
import { getEventListeners } from 'node:events';
import * as path from 'node:path';
import { JobService } from '../../api/services/jobs';
import { repoRoot } from '../../common/paths';
import { makeBlobs } from '../support/blobs';
import { blobRows, pipelineEnd, trainingBody, upload } from '../support/pipeline-data';
import { eventsOf, openSse, SseStream } from '../support/sse-client';
import { eventually, request, startTestApi, TestApi, withAuth } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';
import { withWorker } from '../support/with-worker';

type JobEvent = ReturnType<typeof eventsOf>[number];

/** A well-formed job id no job has. */
const UNKNOWN_JOB = 'training-00000000-0000-4000-8000-000000000000';

/** Every event of a job as the JSON form pages them (after=0, then `next`), until `done`. */
async function allEvents(api: TestApi, jobId: string): Promise<JobEvent[]> {
  const events: JobEvent[] = [];
  for (let after = 0; ;) {
    const page = await request(api, 'GET', `/api/v1/jobs/${jobId}/events?after=${after}&limit=7`);
    expect(page.status, JSON.stringify(page.body)).to.equal(200);
    events.push(...page.body.events);
    after = page.body.next;
    if (page.body.done) return events;
    if (page.body.events.length === 0) throw new Error(`job ${jobId}: no more events but not done`);
  }
}

/** The checks every complete stream passes: ids are seqs 1..n in order, event names are types, `end` is last. */
function expectWellFormed(stream: SseStream): JobEvent[] {
  const events = eventsOf(stream.messages);
  expect(stream.messages.map((m) => m.id)).to.deep.equal(events.map((e) => String(e.seq)));
  expect(stream.messages.map((m) => m.event)).to.deep.equal(events.map((e) => e.type));
  expect(events.map((e) => e.seq)).to.deep.equal(events.map((_, i) => i + 1));
  expect(events.filter((e) => e.type === 'end')).to.have.length(1);
  expect(events.at(-1)!.type).to.equal('end');
  return events;
}

function epochsOf(events: JobEvent[]): number[] {
  return events.filter((e) => e.type === 'progress').map((e) => e.data.epoch as number);
}

describe('job event streams (SSE, JSON pages, metric series)', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let api: TestApi;
  let datasetId: string;

  before(async () => {
    stack = await getTestStack();
    // Small clustering jobs run as local activities, which write no progress events (README: Small jobs); these
    // tests follow clustering's progress phases, so every job here takes the activity path.
    api = await startTestApi(stack, {}, {}, { sseKeepAliveMs: 300, localComputeMaxCells: 0 });
    const blobs = makeBlobs(
      60,
      [
        [0, 0],
        [6, 6],
        [-6, 6],
      ],
      0.8,
      21,
    );
    const rows = blobs.points.map(([x, y], i) => ({ x, y, species: ['a', 'b', 'c'][blobs.labels[i]] }));
    datasetId = await upload(api, 'events-species', rows);
  });
  after(async () => api?.close());

  const train = async (model: string, training: Record<string, unknown> = {}) => {
    const res = await request(api, 'POST', '/api/v1/training', {
      datasetId,
      target: 'species',
      features: ['x', 'y'],
      model: { name: model },
      spec: { task: 'classification', layers: [{ units: 8, activation: 'relu' }] },
      training: { epochs: 8, batchSize: 16, learningRate: 0.05, seed: 1, validationSplit: 0.2, ...training },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return res.body.jobId as string;
  };
  const streamUrl = (jobId: string, query = '') => `${api.baseUrl}/api/v1/jobs/${jobId}/events${query}`;
  const metric = async (name: string) => {
    const text = (await request(api, 'GET', '/metrics')).body as string;
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) : NaN;
  };

  it('a client connected before a training job starts receives every epoch in order, then `end`, and the stream closes', async () => {
    // No worker polls yet: the job is queued while the client connects.
    const jobId = await train('events-mlp');
    const stream = await openSse(streamUrl(jobId), withAuth(api));
    expect(stream.status).to.equal(200);
    expect(stream.headers.get('content-type')).to.match(/^text\/event-stream/);
    await withWorker(stack, () => stream.closed);

    const events = expectWellFormed(stream);
    expect(stream.retryMs).to.equal(2000);
    expect(events[0]).to.include({ type: 'status', jobId });
    expect(events[0].data).to.deep.equal({ status: 'running' });
    // Two activities ran (train, register): the job is announced once.
    expect(events.filter((e) => e.type === 'status')).to.have.length(1);
    expect(epochsOf(events)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const progress of events.filter((e) => e.type === 'progress')) {
      expect(progress.data).to.include({ phase: 'training', epochs: 8, total: 8 });
      expect(progress.data.loss).to.be.a('number');
      expect(progress.data.valLoss).to.be.a('number');
      expect(progress.data.metrics).to.have.keys('accuracy', 'valAccuracy');
    }
    expect(events.at(-1)!.data).to.deep.equal({ status: 'completed' });
    expect(new Date(events.at(-1)!.at).getTime()).to.be.at.least(new Date(events[0].at).getTime());
    // The stream is the log: the JSON pages hold the same events.
    expect(await allEvents(api, jobId)).to.deep.equal(events);

    // A finished job replays everything and closes; ?lastEventId= resumes as the header does.
    const again = await openSse(streamUrl(jobId), withAuth(api));
    await again.closed;
    expect(eventsOf(again.messages)).to.deep.equal(events);
    const tail = await openSse(streamUrl(jobId, '?lastEventId=5'), withAuth(api));
    await tail.closed;
    expect(eventsOf(tail.messages)).to.deep.equal(events.slice(5));

    // Series: per epoch, from the same events; the registered version serves the same curves.
    const metrics = await request(api, 'GET', `/api/v1/jobs/${jobId}/metrics?keys=loss,valLoss`);
    expect(metrics.status, JSON.stringify(metrics.body)).to.equal(200);
    expect(Object.keys(metrics.body.series)).to.deep.equal(['loss', 'valLoss']);
    expect(metrics.body.series.loss).to.deep.equal(
      events.filter((e) => e.type === 'progress').map((e) => ({ epoch: e.data.epoch, value: e.data.loss })),
    );
    const all = await request(api, 'GET', `/api/v1/jobs/${jobId}/metrics`);
    expect(Object.keys(all.body.series).sort()).to.deep.equal(['accuracy', 'loss', 'valAccuracy', 'valLoss']);
    const version = await request(api, 'GET', '/api/v1/models/events-mlp/versions/1');
    expect(version.body.links.metrics).to.equal('/api/v1/models/events-mlp/versions/1/metrics');
    const versionMetrics = await request(api, 'GET', `${version.body.links.metrics}?keys=loss,valLoss`);
    expect(versionMetrics.status, JSON.stringify(versionMetrics.body)).to.equal(200);
    expect(versionMetrics.body).to.deep.include({ modelName: 'events-mlp', version: 1, jobId, source: 'events' });
    expect(versionMetrics.body.series).to.deep.equal(metrics.body.series);
  });

  it('two versions of a model serve their own curves, for comparison', async () => {
    await withWorker(stack, async () => {
      for (const seed of [1, 2]) {
        const jobId = await train('events-compare-mlp', { seed, epochs: 4 });
        const result = await request(api, 'GET', `/api/v1/jobs/${jobId}/result?wait=60`);
        expect(result.status, JSON.stringify(result.body)).to.equal(200);
      }
    });
    const [v1, v2] = await Promise.all(
      [1, 2].map((v) => request(api, 'GET', `/api/v1/models/events-compare-mlp/versions/${v}/metrics?keys=loss`)),
    );
    expect(v1.body.series.loss.map((p: any) => p.epoch)).to.deep.equal([1, 2, 3, 4]);
    expect(v2.body.series.loss.map((p: any) => p.epoch)).to.deep.equal([1, 2, 3, 4]);
    expect(v1.body.jobId).to.not.equal(v2.body.jobId);
    expect(v1.body.series.loss).to.not.deep.equal(v2.body.series.loss);
  });

  it('a client that reconnects with Last-Event-ID misses nothing and receives nothing twice', async () => {
    const jobId = await train('events-reconnect-mlp', { epochs: 40, batchSize: 2 });
    const received: JobEvent[] = [];
    await withWorker(stack, async () => {
      const first = await openSse(streamUrl(jobId), withAuth(api));
      await first.waitFor((m) => eventsOf(m).filter((e) => e.type === 'progress').length >= 3, 120_000);
      first.abort();
      received.push(...eventsOf(first.messages));
      // Events go on while the client is away.
      await eventually(
        () => request(api, 'GET', `/api/v1/jobs/${jobId}/events?after=${received.at(-1)!.seq}`),
        (r) => r.body.events.length >= 3,
        60_000,
      );
      const second = await openSse(streamUrl(jobId), withAuth(api, { 'Last-Event-ID': first.messages.at(-1)!.id! }));
      await second.closed;
      received.push(...eventsOf(second.messages));
    });
    const seqs = received.map((e) => e.seq);
    expect(seqs).to.deep.equal(seqs.map((_, i) => i + 1));
    expect(received).to.deep.equal(await allEvents(api, jobId));
    expect(epochsOf(received)).to.deep.equal(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('100 concurrent clients on one job all receive the same sequence; Prometheus counts clients and events sent', async () => {
    const jobId = await train('events-fanout-mlp', { epochs: 6 });
    const sentBefore = await metric('kiln_sse_events_sent_total');
    const clientsBefore = await metric('kiln_sse_clients');
    const streams = await Promise.all(Array.from({ length: 100 }, () => openSse(streamUrl(jobId), withAuth(api))));
    expect(streams.map((s) => s.status)).to.deep.equal(streams.map(() => 200));
    await eventually(
      () => metric('kiln_sse_clients'),
      (n) => n === clientsBefore + 100,
      10_000,
    );
    await withWorker(stack, () => Promise.all(streams.map((s) => s.closed)));
    const reference = expectWellFormed(streams[0]);
    for (const stream of streams) expect(eventsOf(stream.messages)).to.deep.equal(reference);
    expect(epochsOf(reference)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(await metric('kiln_sse_events_sent_total')).to.equal(sentBefore + 100 * reference.length);
    await eventually(
      () => metric('kiln_sse_clients'),
      (n) => n === clientsBefore,
      10_000,
    );
  });

  it('keep-alive comments flow while nothing happens; a terminated job ends its stream with `end` terminated', async () => {
    const jobId = await train('events-idle-mlp');
    const stream = await openSse(streamUrl(jobId), withAuth(api));
    await eventually(
      async () => stream.comments,
      (n) => n >= 3,
      10_000,
    );
    expect(stream.messages).to.deep.equal([]);
    // HEAD on a running job's stream: the headers at once, no stream, no client counted (the test waits otherwise).
    const clients = await metric('kiln_sse_clients');
    const head = await fetch(streamUrl(jobId), {
      method: 'HEAD',
      headers: withAuth(api, { accept: 'text/event-stream' }),
    });
    expect(head.status).to.equal(200);
    expect(head.headers.get('content-type')).to.match(/^text\/event-stream/);
    expect(await head.text()).to.equal('');
    expect(await metric('kiln_sse_clients')).to.equal(clients);
    const terminate = await stack.env.client.workflow.getHandle(jobId).describe();
    await stack.env.client.workflow.getHandle(jobId).terminate('test: ends a job no worker ran');
    await stream.closed;
    const events = expectWellFormed(stream);
    expect(events).to.have.length(1);
    expect(events[0].data.status).to.equal('terminated');
    expect(events[0].data.error.message).to.be.a('string');
    // `at` is when Temporal closed the job, not when the API noticed.
    const closeTime = (await stack.env.client.workflow.getHandle(jobId).describe()).closeTime;
    expect(terminate.closeTime).to.equal(undefined);
    expect(events[0].at).to.equal(closeTime!.toISOString());

    // A client that has had `end` (Last-Event-ID at or past it) is told there is nothing more: 204, no stream.
    const endSeq = String(events[0].seq);
    for (const [query, headers] of [
      ['', { 'last-event-id': endSeq }],
      [`?lastEventId=${endSeq}`, {}],
      ['', { 'last-event-id': String(events[0].seq + 5) }],
    ] as Array<[string, Record<string, string>]>) {
      const again = await fetch(streamUrl(jobId, query), {
        headers: withAuth(api, { accept: 'text/event-stream', ...headers }),
      });
      expect(again.status, `${query} ${JSON.stringify(headers)}`).to.equal(204);
      expect(await again.text()).to.equal('');
    }
  });

  it('waiting for a job to close leaves no abort listener behind, however many history events wake the wait', async () => {
    const jobId = await train('events-listeners-mlp');
    const handle = stack.env.client.workflow.getHandle(jobId);
    const signal = new AbortController().signal;
    // Each signal adds history events, which wake the long poll; it is asked again until its deadline.
    const waiting = new JobService(stack.env.client).waitForClose(jobId, 2000, signal);
    for (let i = 0; i < 12; i++) await handle.signal('kiln-test-nudge');
    await waiting;
    expect(getEventListeners(signal, 'abort')).to.have.length(0);
    await handle.terminate('test: ends a job no worker ran');
  });

  it('past KILN_MAX_SSE_CLIENTS streams in a process, 503 with Retry-After; a slot frees when a client leaves', async () => {
    const capped = await startTestApi(stack, {}, {}, { sseKeepAliveMs: 300, maxSseClients: 2 });
    try {
      const jobId = await train('events-cap-mlp');
      const url = `${capped.baseUrl}/api/v1/jobs/${jobId}/events`;
      const [a, b] = [await openSse(url, withAuth(capped)), await openSse(url, withAuth(capped))];
      const refused = await request(capped, 'GET', `/api/v1/jobs/${jobId}/events`, undefined, {
        accept: 'text/event-stream',
      });
      expect(refused.status, JSON.stringify(refused.body)).to.equal(503);
      expect(refused.body.error.code).to.equal('busy');
      expect(refused.headers.get('retry-after')).to.match(/^[1-9][0-9]*$/);
      a.abort();
      const c = await eventually(
        () => fetch(url, { headers: withAuth(capped, { accept: 'text/event-stream' }) }),
        (res) => res.status === 200,
        10_000,
      );
      void c.body?.cancel();
      b.abort();
      await stack.env.client.workflow.getHandle(jobId).terminate('test: ends a job no worker ran');
    } finally {
      await capped.close();
    }
  });

  it('a failed job ends with `end` failed and its error; the JSON form pages with next and done', async () => {
    // Targets in the hundreds under sgd at the largest learning rate: the loss turns non-finite and the job fails
    // TrainingDiverged, unretried (test/faults/training-divergence.test.ts).
    const rows = Array.from({ length: 40 }, (_, i) => ({ a: i % 10, b: (i * 7) % 10, y: 30 * (i % 10) + 100 }));
    const hundreds = await upload(api, 'events-hundreds', rows);
    const res = await request(api, 'POST', '/api/v1/training', {
      datasetId: hundreds,
      target: 'y',
      model: { name: 'events-failing-mlp' },
      spec: { task: 'regression', layers: [{ units: 8, activation: 'relu' }] },
      training: { epochs: 20, batchSize: 8, learningRate: 10, optimizer: 'sgd', seed: 1 },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    const jobId = res.body.jobId as string;
    await withWorker(stack, () =>
      eventually(
        () => request(api, 'GET', `/api/v1/jobs/${jobId}`),
        (r) => r.body.status !== 'RUNNING',
        120_000,
      ),
    );
    const whole = await request(api, 'GET', `/api/v1/jobs/${jobId}/events`, undefined, { accept: 'application/json' });
    expect(whole.status).to.equal(200);
    expect(whole.body).to.include({ jobId, done: true });
    const end = whole.body.events.at(-1);
    expect(end).to.deep.include({ type: 'end' });
    expect(end.data.status).to.equal('failed');
    expect(end.data.error).to.include({ type: 'TrainingDiverged' });
    expect(whole.body.next).to.equal(end.seq);

    const first = await request(api, 'GET', `/api/v1/jobs/${jobId}/events?after=0&limit=1`);
    expect(first.body).to.deep.equal({ jobId, events: whole.body.events.slice(0, 1), next: 1, done: false });
    const past = await request(api, 'GET', `/api/v1/jobs/${jobId}/events?after=${end.seq + 10}`);
    expect(past.body).to.deep.equal({ jobId, events: [], next: end.seq + 10, done: true });
  });

  it('refuses what it cannot serve: 404 for unknown jobs, 400 naming after, Last-Event-ID, limit and keys', async () => {
    // %00: a NUL byte, which Postgres refuses in text; the id's shape is checked before any query.
    for (const id of [UNKNOWN_JOB, 'not-a-job', '%00', `${UNKNOWN_JOB}%00`]) {
      const sse = await request(api, 'GET', `/api/v1/jobs/${id}/events`, undefined, { accept: 'text/event-stream' });
      expect(sse.status).to.equal(404);
      expect(sse.headers.get('content-type')).to.match(/^application\/json/);
      expect(sse.body.error).to.include({ code: 'not_found', field: 'jobId' });
      expect((await request(api, 'GET', `/api/v1/jobs/${id}/events?after=0`)).status).to.equal(404);
      expect((await request(api, 'GET', `/api/v1/jobs/${id}/metrics`)).status).to.equal(404);
    }
    for (const bad of ['-1', 'abc', '1.5', '1e3', '', '99999999999999999']) {
      const res = await request(api, 'GET', `/api/v1/jobs/${UNKNOWN_JOB}/events?after=${bad}`);
      expect(res.status, `after=${bad}: ${JSON.stringify(res.body)}`).to.equal(400);
      expect(res.body.error.field).to.equal('query.after');
    }
    for (const bad of ['0', '0x10', '1e2', '-1', '1001', '2.5', '']) {
      const limit = await request(api, 'GET', `/api/v1/jobs/${UNKNOWN_JOB}/events?after=0&limit=${bad}`);
      expect(limit.status, `limit=${bad}`).to.equal(400);
      expect(limit.body.error.field).to.equal('query.limit');
    }
    const lastId = await request(api, 'GET', `/api/v1/jobs/${UNKNOWN_JOB}/events`, undefined, {
      accept: 'text/event-stream',
      'last-event-id': 'x7',
    });
    expect(lastId.status).to.equal(400);
    expect(lastId.body.error.field).to.equal('Last-Event-ID');
    const keys = await request(api, 'GET', `/api/v1/jobs/${UNKNOWN_JOB}/metrics?keys=loss,colour`);
    expect(keys.status).to.equal(400);
    expect(keys.body.error.field).to.equal('query.keys');
    expect(keys.body.error.message).to.contain('colour');
    const versionKeys = await request(api, 'GET', '/api/v1/models/no-such-model/versions/1/metrics?keys=bogus');
    expect(versionKeys.body.error.field).to.equal('query.keys');
    expect((await request(api, 'GET', '/api/v1/models/no-such-model/versions/1/metrics')).status).to.equal(404);
  });

  it('a full pipeline reports its stages in order, its gate, and its child training job', async () => {
    const blobsId = await upload(api, 'events-pipeline-blobs', blobRows(31));
    const res = await request(api, 'POST', '/api/v1/pipelines/full', {
      model: { name: 'events-pipeline-mlp' },
      datasetId: blobsId,
      holdout: { fraction: 0.25, seed: 2 },
      training: trainingBody('label', true, { training: { epochs: 3, batchSize: 16, learningRate: 0.05, seed: 1 } }),
      gate: { thresholds: [{ metric: 'accuracy', threshold: 0.5 }], noChampion: 'absolute-only' },
      promote: { alias: 'champion' },
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    const pipelineId = res.body.pipelineId as string;
    const stream = await openSse(streamUrl(pipelineId), withAuth(api));
    await withWorker(stack, async () => {
      await pipelineEnd(api, pipelineId);
      await stream.closed;
    });
    const events = expectWellFormed(stream);
    const stages = events.filter((e) => e.type === 'stage').map((e) => e.data.stage);
    expect(stages).to.deep.equal([
      'validating',
      'training',
      'evaluating',
      'gating',
      'registering',
      'promoting',
      'completed',
    ]);
    const completed = events.find((e) => e.type === 'stage' && e.data.stage === 'completed')!;
    expect(completed.data).to.deep.equal({ stage: 'completed', state: 'completed', status: 'PROMOTED' });
    const gate = events.find((e) => e.type === 'gate')!;
    expect(gate.data.passed).to.equal(true);
    expect(gate.data.results.map((r: any) => r.metric)).to.deep.equal(['accuracy']);
    expect(events.findIndex((e) => e.type === 'gate')).to.be.greaterThan(stages.indexOf('gating'));
    expect(events.at(-1)!.data).to.deep.equal({ status: 'completed' });

    // The candidate trained in its own job, with its own stream; the version's curves come from it.
    const trainingJobId = events.find((e) => e.data.stage === 'training')!.data.trainingJobId as string;
    expect(trainingJobId).to.match(/^training-/);
    expect(epochsOf(await allEvents(api, trainingJobId))).to.deep.equal([1, 2, 3]);
    const curves = await request(api, 'GET', '/api/v1/models/events-pipeline-mlp/versions/1/metrics?keys=loss');
    expect(curves.body).to.deep.include({ jobId: trainingJobId, source: 'events' });
    expect(curves.body.series.loss.map((p: any) => p.epoch)).to.deep.equal([1, 2, 3]);
  });

  it("a schedule's run says which schedule started it; clustering reports its progress phases", async () => {
    const created = await request(api, 'POST', '/api/v1/schedules', {
      action: {
        kind: 'clustering',
        request: { algorithm: 'kmeans', params: { k: 3, seed: 1 }, datasetId, columns: ['x', 'y'] },
      },
      spec: { cron: ['0 3 * * *'], timezone: 'UTC' },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const scheduleId = created.body.scheduleId as string;
    try {
      const triggered = await request(api, 'POST', `/api/v1/schedules/${scheduleId}/trigger`);
      expect(triggered.status, JSON.stringify(triggered.body)).to.equal(202);
      const jobId = triggered.body.jobId as string;
      const stream = await openSse(streamUrl(jobId), withAuth(api));
      await withWorker(stack, () => stream.closed);
      const events = expectWellFormed(stream);
      expect(events.map((e) => e.type).slice(0, 2)).to.deep.equal(['schedule-run', 'status']);
      expect(events[0].data.scheduleId).to.equal(scheduleId);
      expect(Date.parse(events[0].data.scheduledTime)).to.be.a('number').and.not.NaN;
      const phases = events.filter((e) => e.type === 'progress').map((e) => e.data.phase);
      expect(phases[0]).to.equal('clustering');
      expect(phases.at(-1)).to.equal('scoring');
      expect(events.find((e) => e.data.phase === 'scoring')!.data).to.include({ algorithm: 'kmeans', clusters: 3 });
      // Each progress event says which attempt reported it (a retry's progress starts over).
      expect(events.filter((e) => e.type === 'progress').every((e) => e.data.attempt === 1)).to.equal(true);
      expect(events.at(-1)!.data).to.deep.equal({ status: 'completed' });
    } finally {
      await request(api, 'DELETE', `/api/v1/schedules/${scheduleId}`);
    }
  });

  describe('killed and resumed', () => {
    const running: ChildProcess[] = [];
    const worker = (): ChildProcess => {
      const child = spawn(process.execPath, [path.join(repoRoot, 'dist', 'workers', 'main.js'), '--pool', 'cpu'], {
        env: { ...process.env, DATABASE_URL: stack.databaseUrl, TEMPORAL_ADDRESS: stack.env.address, KILN_POOL: 'cpu' },
        stdio: 'ignore',
      });
      running.push(child);
      return child;
    };
    afterEach(() => {
      for (const child of running.splice(0)) child.kill('SIGKILL');
    });

    it("a killed-and-resumed training job's stream shows `resumed` between the epochs, each epoch once", async () => {
      const jobId = await train('events-crash-mlp', { epochs: 60, batchSize: 2, checkpointEvery: 1 });
      const stream = await openSse(streamUrl(jobId), withAuth(api));
      const first = worker();
      await eventually(
        () => request(api, 'GET', `/api/v1/jobs/${jobId}`),
        (r) => (r.body.progress?.checkpointEpoch ?? 0) >= 2,
        90_000,
      );
      first.kill('SIGKILL');
      worker();
      await stream.closed;

      const events = expectWellFormed(stream);
      expect(events.at(-1)!.data).to.deep.equal({ status: 'completed' });
      const resumed = events.filter((e) => e.type === 'resumed');
      expect(resumed).to.have.length(1);
      expect(resumed[0].data.epoch).to.be.at.least(2);
      expect(resumed[0].data.attempt).to.be.at.least(2);
      // Epochs 1..60 once each, in order: the resumed attempt re-runs epochs after its checkpoint, which add nothing.
      expect(epochsOf(events)).to.deep.equal(Array.from({ length: 60 }, (_, i) => i + 1));
      const at = events.indexOf(resumed[0]);
      expect(epochsOf(events.slice(0, at))).to.include(resumed[0].data.epoch);
    });
  });

  it('an event an activity retries is stored once, and nothing is appended after `end`', async () => {
    // The log's own guarantees, straight against Postgres (the activities' keys rely on them).
    const jobId = 'training-11111111-1111-4111-8111-111111111111';
    const append = (type: string, key: string, data: unknown = {}) =>
      stack.pool
        .query('SELECT seq::int, inserted FROM kiln_append_job_event($1, $2, $3, $4)', [
          jobId,
          type,
          JSON.stringify(data),
          key,
        ])
        .then((r) => r.rows);
    await stack.pool.query('DELETE FROM job_events WHERE job_id = $1', [jobId]);
    expect(await append('progress', 'progress:epoch:1', { epoch: 1, loss: 0.5 })).to.deep.equal([
      { seq: 1, inserted: true },
    ]);
    expect(await append('progress', 'progress:epoch:1', { epoch: 1, loss: 0.4 })).to.deep.equal([
      { seq: 1, inserted: false },
    ]);
    // Concurrent appends get consecutive seqs, none lost.
    await Promise.all(Array.from({ length: 20 }, (_, i) => append('progress', `progress:epoch:${i + 2}`)));
    expect(await append('end', 'end', { status: 'completed' })).to.deep.equal([{ seq: 22, inserted: true }]);
    expect(await append('warning', 'late', { message: 'after the end' })).to.deep.equal([]);
    const { rows } = await stack.pool.query('SELECT seq::int FROM job_events WHERE job_id = $1 ORDER BY seq', [jobId]);
    expect(rows.map((r) => r.seq)).to.deep.equal(Array.from({ length: 22 }, (_, i) => i + 1));
    await stack.pool.query('DELETE FROM job_events WHERE job_id = $1', [jobId]);
  });
});

import { expect } from 'chai';
import { CREDENTIAL_RECHECK_MS } from '../../api/auth/credential-watch';
import { KEY_CACHE_MS } from '../../api/auth/gate';
import { SSE_UNAUTHORIZED_EVENT } from '../../api/routes/job-events';
import { bearer, createTestKey, createTestTenant } from '../support/auth';
import { makeBlobs } from '../support/blobs';
import { openSse, SseStream } from '../support/sse-client';
import { request, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';

/** The re-check interval these tests use in place of CREDENTIAL_RECHECK_MS. */
const RECHECK_MS = 200;
/** How long a stream may take to end after its credentials stop: the interval, plus another replica's key cache. */
const END_WITHIN_MS = RECHECK_MS + KEY_CACHE_MS;

const idOf = (key: string) => key.slice(5, 21);

/** Whether `stream` is still open after `ms` milliseconds. */
async function stillOpenAfter(stream: SseStream, ms: number): Promise<boolean> {
  const open = Symbol('open');
  const settled = await Promise.race([stream.closed, new Promise((resolve) => setTimeout(() => resolve(open), ms))]);
  return settled === open;
}

/** The stream's final `unauthorized` message, parsed: `{status, code, message}`. */
function refusalOf(stream: SseStream): { status: number; code: string; message: string } {
  const last = stream.messages.at(-1);
  expect(last?.event, JSON.stringify(stream.messages)).to.equal(SSE_UNAUTHORIZED_EVENT);
  expect(last).to.not.have.property('id');
  return JSON.parse(last!.data);
}

/**
 * An open job event stream outlives its first authentication: its credentials are checked again every
 * CREDENTIAL_RECHECK_MS (shortened here), and the stream ends with an `unauthorized` event once they fail.
 */
describe('job event streams re-check their credentials', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let api: TestApi;
  /** Queued jobs (no worker polls in this file): terminated at the end. */
  const jobIds: string[] = [];

  before(async () => {
    expect(CREDENTIAL_RECHECK_MS).to.equal(5_000);
    stack = await getTestStack();
    api = await startTestApi(stack, {}, {}, { sseKeepAliveMs: 100, sseRecheckMs: RECHECK_MS });
  });
  after(async () => {
    for (const jobId of jobIds) {
      await stack.env.client.workflow
        .getHandle(jobId)
        .terminate('test done')
        .catch(() => undefined);
    }
    await api?.close();
  });

  /** A training job of `tenantId` that stays queued (no worker here), submitted with `editorKey`. */
  const queuedJob = async (editorKey: string): Promise<string> => {
    const blobs = makeBlobs(
      20,
      [
        [0, 0],
        [6, 6],
      ],
      0.8,
      5,
    );
    const rows = blobs.points.map(([x, y], i) => ({ x, y, species: ['a', 'b'][blobs.labels[i]] }));
    const upload = await request(api, 'POST', '/api/v1/datasets', { name: 'sse-auth', data: rows }, bearer(editorKey));
    expect(upload.status, JSON.stringify(upload.body)).to.be.oneOf([200, 201]);
    const res = await request(
      api,
      'POST',
      '/api/v1/training',
      {
        datasetId: upload.body.id,
        target: 'species',
        features: ['x', 'y'],
        model: { name: 'sse-auth' },
        spec: { task: 'classification', layers: [{ units: 4, activation: 'relu' }] },
        training: { epochs: 2, batchSize: 16, learningRate: 0.05, seed: 1 },
      },
      bearer(editorKey),
    );
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    jobIds.push(res.body.jobId);
    return res.body.jobId as string;
  };
  const streamUrl = (jobId: string) => `${api.baseUrl}/api/v1/jobs/${jobId}/events`;
  const signIn = async (key: string): Promise<string> => {
    const res = await fetch(`${api.baseUrl}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ apiKey: key }),
    });
    expect(res.status).to.equal(200);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('kiln_session='));
    return cookie!.split(';')[0]!;
  };

  it('a stream opened with a key ends with `unauthorized` (401 key_revoked) once the key is revoked; one with a valid key keeps going', async () => {
    const tenantId = await createTestTenant(stack.pool, 'sse-keys');
    const admin = await createTestKey(stack.pool, { tenantId, role: 'admin' });
    const viewer = await createTestKey(stack.pool, { tenantId, role: 'viewer' });
    const jobId = await queuedJob(admin);

    const revoked = await openSse(streamUrl(jobId), bearer(viewer));
    const kept = await openSse(streamUrl(jobId), bearer(admin));
    expect([revoked.status, kept.status]).to.deep.equal([200, 200]);
    // Several re-checks pass while the key is good.
    expect(await stillOpenAfter(revoked, RECHECK_MS * 4)).to.equal(true);

    const deleted = await request(api, 'DELETE', `/api/v1/api-keys/${idOf(viewer)}`, undefined, bearer(admin));
    expect(deleted.status, JSON.stringify(deleted.body)).to.equal(204);
    const revokedAt = Date.now();
    expect(await stillOpenAfter(revoked, END_WITHIN_MS), 'the stream outlived its key').to.equal(false);
    expect(Date.now() - revokedAt).to.be.below(END_WITHIN_MS);
    expect(refusalOf(revoked)).to.include({ status: 401, code: 'key_revoked' });

    // EventSource reconnects after a close: the reconnect is refused, which stops it.
    const again = await openSse(streamUrl(jobId), bearer(viewer));
    expect(again.status).to.equal(401);

    // The stream whose key stays valid goes on past many re-checks, keep-alives flowing, no `unauthorized`.
    expect(await stillOpenAfter(kept, RECHECK_MS * 5)).to.equal(true);
    expect(kept.comments).to.be.above(0);
    expect(kept.messages.map((m) => m.event)).to.not.include(SSE_UNAUTHORIZED_EVENT);
    kept.abort();
  });

  it('streams opened with a key and with a session cookie end with `unauthorized` (403 tenant_disabled) when a platform admin disables the tenant', async () => {
    const tenantId = await createTestTenant(stack.pool, 'sse-off');
    const admin = await createTestKey(stack.pool, { tenantId, role: 'admin' });
    const jobId = await queuedJob(admin);
    const cookie = await signIn(admin);

    const byKey = await openSse(streamUrl(jobId), bearer(admin));
    const byCookie = await openSse(streamUrl(jobId), { cookie });
    expect([byKey.status, byCookie.status]).to.deep.equal([200, 200]);
    expect(await stillOpenAfter(byCookie, RECHECK_MS * 3)).to.equal(true);

    const off = await request(api, 'PATCH', `/api/v1/tenants/${tenantId}`, { disabled: true }, bearer(api.key));
    expect(off.status, JSON.stringify(off.body)).to.equal(200);
    try {
      for (const [what, stream] of Object.entries({ byKey, byCookie })) {
        expect(await stillOpenAfter(stream, END_WITHIN_MS), what).to.equal(false);
        const refusal = refusalOf(stream);
        expect(refusal, what).to.include({ status: 403, code: 'tenant_disabled' });
        expect(refusal.message, what).to.match(/disabled/);
      }
      expect((await openSse(streamUrl(jobId), { cookie })).status).to.equal(403);
      expect((await openSse(streamUrl(jobId), bearer(admin))).status).to.equal(403);
    } finally {
      await request(api, 'PATCH', `/api/v1/tenants/${tenantId}`, { disabled: false }, bearer(api.key));
    }
  });

  it('a long poll for a result (?wait=) made before its key is revoked answers 401 key_revoked, not the job', async () => {
    const tenantId = await createTestTenant(stack.pool, 'sse-poll');
    const admin = await createTestKey(stack.pool, { tenantId, role: 'admin' });
    const viewer = await createTestKey(stack.pool, { tenantId, role: 'viewer' });
    const jobId = await queuedJob(admin);

    const poll = request(api, 'GET', `/api/v1/jobs/${jobId}/result?wait=3`, undefined, bearer(viewer));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const deleted = await request(api, 'DELETE', `/api/v1/api-keys/${idOf(viewer)}`, undefined, bearer(admin));
    expect(deleted.status).to.equal(204);
    const res = await poll;
    expect(res.status, JSON.stringify(res.body)).to.equal(401);
    expect(res.body.error.code).to.equal('key_revoked');

    // The same long poll with a key that stays valid answers as before (the job is still queued).
    const valid = await request(api, 'GET', `/api/v1/jobs/${jobId}/result?wait=1`, undefined, bearer(admin));
    expect(valid.status, JSON.stringify(valid.body)).to.not.be.oneOf([401, 403]);
  });
});

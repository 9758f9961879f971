import * as http from 'node:http';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { startTestApi, TestApi, withAuth } from '../support/test-api';
import { getTestStack } from '../support/test-stack';

/**
 * Fault class: inline `data` on /api/v1/clustering (and the seed services' /api/cluster/:algorithm) was read whole
 * and JSON.parsed before any limit applied, so twelve 60 MB bodies took 4-31 s to get their 413 with the API at 2 GB
 * RSS. Now the body streams through the dataset parser and limits (datasets/parse-json.ts), so a body past a limit
 * is refused at the first row past it, after a fraction of the body was sent (bench/inline-body/run.ts measures it
 * under load).
 */

const BODY_BYTES = 60e6;

/** POSTs `head`, then rows of three numbers up to 60 MB, as a stream; the bytes the client had sent when answered. */
function streamRows(
  api: TestApi,
  path: string,
  head: string,
): Promise<{ status: number; body: any; sentBytes: number }> {
  const url = new URL(path, api.baseUrl);
  let sent = 0;
  let closed = false;
  const chunk = '[1.25,2.5,3.75],'.repeat(4096);
  const body = new Readable({
    read() {
      if (closed) return this.push(null);
      const text = sent === 0 ? head : sent + chunk.length < BODY_BYTES ? chunk : '[0,0,0]]}';
      if (text.endsWith('}')) closed = true;
      sent += text.length;
      this.push(text);
    },
  });
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path,
        headers: withAuth(api, { 'content-type': 'application/json' }),
      },
      (res) => {
        const sentBytes = sent;
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString()), sentBytes });
        });
      },
    );
    req.on('error', (err) => (sent > 0 ? undefined : reject(err)));
    body.pipe(req);
  });
}

describe('faults: inline data streams through the dataset limits (item 12)', function () {
  this.timeout(120_000);
  let api: TestApi;

  before(async function () {
    this.timeout(300_000);
    // A small row limit so the test is quick; the default byte limit (64 MiB) would let the whole 60 MB in.
    api = await startTestApi(await getTestStack(), { maxRows: 1000 });
  });
  after(async () => api?.close());

  for (const [path, head] of [
    ['/api/v1/clustering', '{"algorithm":"kmeans","params":{"k":2},"data":['],
    ['/api/cluster/kmeans?wait=0', '{"params":{"k":2},"data":['],
  ]) {
    it(`${path.split('?')[0]}: 413 at row 1,001, long before the 60 MB body is sent`, async () => {
      const res = await streamRows(api, path, head);
      expect(res.status, JSON.stringify(res.body)).to.equal(413);
      expect(res.body.error).to.include({ code: 'payload_too_large', field: 'data' });
      expect(res.body.error.message).to.match(/more than the limit of 1,000 rows/);
      // 1,001 rows are 16 KB; socket buffers account for the rest.
      expect(res.sentBytes, `${(res.sentBytes / 1e6).toFixed(1)} MB sent`).to.be.below(8e6);
    });
  }

  it('inline rows keep their errors: a bad cell names data[i][j], text where numbers are needed is a 400', async () => {
    const post = (body: string) =>
      fetch(`${api.baseUrl}/api/v1/clustering`, {
        method: 'POST',
        headers: withAuth(api, { 'content-type': 'application/json' }),
        body,
      }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { error: { field?: string; code: string } },
      }));
    const nul = await post('{"algorithm":"kmeans","params":{"k":2},"data":[[1,2],[3,null]]}');
    expect([nul.status, nul.body.error.field]).to.deep.equal([400, 'data[1][1]']);
    const text = await post('{"algorithm":"kmeans","params":{"k":2},"data":[[1,"a"],[3,"b"]]}');
    expect(text.status).to.equal(400);
    const notJson = await post('{"algorithm":"kmeans","data":[[1,2],[3,null]');
    expect([notJson.status, notJson.body.error.code]).to.deep.equal([400, 'invalid_json']);
  });
});

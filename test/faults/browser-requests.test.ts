import * as http from 'node:http';
import { expect } from 'chai';
import { loadConfig } from '../../common/config';
import { request, startTestApi, TestApi, withAuth } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';

/**
 * Fault class: requests a browser makes on a web page's behalf. There was no Host check (a page whose DNS name was
 * rebound to 127.0.0.1 could call a local Kiln as if same-origin) and a `text/csv` POST needs no CORS preflight (any
 * page could upload to a local Kiln). Now the Host must be an allowed name (KILN_ALLOWED_HOSTS) and a cross-origin
 * request that changes state must come from an allowed origin (KILN_CORS_ORIGINS, none by default): 403 otherwise.
 */

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

/** A request with exactly these headers and the API's key (fetch will not send another Host). */
function raw(api: TestApi, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Raw> {
  const url = new URL(api.baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method, path, headers: withAuth(api, headers) },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString();
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const csv = (name: string) => `a,b\n${name.length},2\n3,4\n`;

describe('faults: browser-borne requests (item 13)', function () {
  this.timeout(120_000);
  let stack: TestStack;
  let api: TestApi; // the defaults: loopback hosts, no CORS origin
  let open: TestApi; // one allowed origin
  let port: string;

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    api = await startTestApi(stack);
    port = new URL(api.baseUrl).port;
    const defaults = loadConfig({}).api.browser;
    open = await startTestApi(stack, {}, {}, { browser: { ...defaults, corsOrigins: ['https://ui.example.com'] } });
  });
  after(async () => {
    await api?.close();
    await open?.close();
  });

  it('a DNS-rebound Host is refused with 403 before anything runs; loopback names pass', async () => {
    for (const host of ['rebind.attacker.example', `rebind.attacker.example:${port}`, '10.0.0.7', 'localhost.evil']) {
      const res = await raw(
        api,
        'POST',
        '/api/v1/datasets?name=rebound',
        { host, 'content-type': 'text/csv' },
        csv(host),
      );
      expect(res.status, host).to.equal(403);
      expect(res.body.error).to.include({ code: 'host_not_allowed', field: 'host' });
      const get = await raw(api, 'GET', '/api/v1/datasets', { host });
      expect(get.status, host).to.equal(403);
    }
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'LOCALHOST', 'localhost.']) {
      const res = await raw(api, 'GET', '/health', { host });
      expect(res.status, host).to.equal(200);
    }
  });

  it('a cross-origin text/csv upload (no preflight needed) is refused with 403 and stores nothing', async () => {
    const name = `csrf-${Date.now()}`;
    const res = await raw(
      api,
      'POST',
      `/api/v1/datasets?name=${name}`,
      { host: `127.0.0.1:${port}`, origin: 'https://evil.example', 'content-type': 'text/csv' },
      csv(name),
    );
    expect(res.status).to.equal(403);
    expect(res.body.error).to.include({ code: 'origin_not_allowed', field: 'origin' });
    expect(res.headers['access-control-allow-origin']).to.equal(undefined);
    const list = await request(api, 'GET', '/api/v1/datasets?limit=500');
    expect(list.body.datasets.map((d: { name: string }) => d.name)).to.not.include(name);
    // A null origin (sandboxed frames, file:) is cross-origin too.
    const nul = await raw(
      api,
      'POST',
      `/api/v1/datasets?name=${name}`,
      { host: `127.0.0.1:${port}`, origin: 'null', 'content-type': 'text/csv' },
      csv(name),
    );
    expect(nul.status).to.equal(403);
  });

  it('cross-origin reads get no CORS headers; preflights from other origins are refused', async () => {
    const read = await raw(api, 'GET', '/api/v1/algorithms', {
      host: `127.0.0.1:${port}`,
      origin: 'https://evil.example',
    });
    expect(read.status).to.equal(200);
    expect(read.headers['access-control-allow-origin']).to.equal(undefined);
    const preflight = await raw(api, 'OPTIONS', '/api/v1/clustering', {
      host: `127.0.0.1:${port}`,
      origin: 'https://evil.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    });
    expect(preflight.status).to.equal(403);
    expect(preflight.headers['access-control-allow-origin']).to.equal(undefined);
  });

  it('same-origin requests pass (the page was served by this API)', async () => {
    const res = await raw(
      api,
      'POST',
      `/api/v1/datasets?name=same-origin-${Date.now()}`,
      { host: `localhost:${port}`, origin: `http://localhost:${port}`, 'content-type': 'text/csv' },
      csv('same'),
    );
    expect(res.status, JSON.stringify(res.body)).to.be.oneOf([200, 201]);
  });

  it('an allowed origin (KILN_CORS_ORIGINS) gets its preflight answered and may upload', async () => {
    const openPort = new URL(open.baseUrl).port;
    const preflight = await raw(open, 'OPTIONS', '/api/v1/datasets', {
      host: `127.0.0.1:${openPort}`,
      origin: 'https://ui.example.com',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type, idempotency-key',
    });
    expect(preflight.status).to.equal(204);
    expect(preflight.headers['access-control-allow-origin']).to.equal('https://ui.example.com');
    expect(preflight.headers['access-control-allow-methods']).to.contain('POST');
    expect(preflight.headers['access-control-allow-headers']).to.match(/Idempotency-Key/i);
    expect(preflight.headers.vary).to.match(/Origin/);
    const upload = await raw(
      open,
      'POST',
      `/api/v1/datasets?name=cors-${Date.now()}`,
      { host: `127.0.0.1:${openPort}`, origin: 'https://ui.example.com', 'content-type': 'text/csv' },
      csv('cors'),
    );
    expect(upload.status, JSON.stringify(upload.body)).to.be.oneOf([200, 201]);
    expect(upload.headers['access-control-allow-origin']).to.equal('https://ui.example.com');
    expect(upload.headers['access-control-expose-headers']).to.match(/Location/);
    const other = await raw(
      open,
      'POST',
      '/api/v1/datasets?name=x',
      { host: `127.0.0.1:${openPort}`, origin: 'https://ui.example.com.evil.example', 'content-type': 'text/csv' },
      csv('x'),
    );
    expect(other.status).to.equal(403);
  });
});

import { expect } from 'chai';
import { randomInt } from 'node:crypto';
import { bearer, createTestKey } from '../support/auth';
import { freshLoopback, rawRequest } from '../support/raw-request';
import { JsonResponse, startTestApi, TestApi } from '../support/test-api';
import { getTestStack, TestStack } from '../support/test-stack';

function expectError(res: JsonResponse, status: number, code: string, what = ''): void {
  expect(res.status, `${what} ${JSON.stringify(res.body)}`).to.equal(status);
  expect(res.body.error.code, `${what} ${JSON.stringify(res.body)}`).to.equal(code);
}

/** An address in 10/8 no other test names: as X-Forwarded-For, a failure budget of its own. */
const forwardedIp = (): string => `10.${randomInt(0, 256)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;

/** The session cookie's attributes (lower-case) from a sign-in's answer; undefined when it set none. */
function sessionCookieAttributes(res: JsonResponse): string[] | undefined {
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('kiln_session='));
  return cookie?.split(/;\s*/).map((a) => a.toLowerCase());
}

describe('KILN_TRUST_PROXY: whose X-Forwarded-For and X-Forwarded-Proto the API believes', function () {
  this.timeout(60_000);
  const BUDGET = 3;
  let stack: TestStack;
  /** The default: no proxy trusted. */
  let direct: TestApi;
  /** KILN_TRUST_PROXY=true, one hop. */
  let proxied: TestApi;
  let good: string;
  let wrong: string;

  before(async function () {
    this.timeout(300_000);
    stack = await getTestStack();
    const rateLimits = { authFailures: { points: BUDGET, durationSeconds: 60 } };
    direct = await startTestApi(stack, {}, {}, { rateLimits });
    proxied = await startTestApi(stack, {}, {}, { rateLimits, proxy: { trust: true, hops: 1 } });
    good = await createTestKey(stack.pool, { role: 'viewer' });
    // The same key id with another secret: a key that does not verify (401 invalid_credentials, one failure).
    wrong = `${good.slice(0, 22)}${'A'.repeat(good.length - 22)}`;
  });
  after(async () => {
    await direct?.close();
    await proxied?.close();
  });

  it('off (the default): a client naming another X-Forwarded-For on every guess still spends its one budget', async () => {
    const ip = freshLoopback();
    const get = (key: string) =>
      rawRequest(
        direct,
        'GET',
        '/api/v1/models',
        { ...bearer(key), 'x-forwarded-for': forwardedIp() },
        {
          localAddress: ip,
        },
      );
    for (let i = 0; i < BUDGET; i++) expectError(await get(wrong), 401, 'invalid_credentials', `guess ${i}`);
    expectError(await get(wrong), 429, 'rate_limited', 'past the budget');
    expectError(await get(good), 429, 'rate_limited', 'a good key from the blocked connection');
    // Another connection address is another client.
    const other = await rawRequest(direct, 'GET', '/api/v1/models', bearer(good), { localAddress: freshLoopback() });
    expect(other.status, JSON.stringify(other.body)).to.equal(200);
  });

  it('on: each forwarded address has a budget of its own, read from the last hop only', async () => {
    const [a, b] = [forwardedIp(), forwardedIp()];
    // One connection address for all: only the header tells the clients apart.
    const ip = freshLoopback();
    const get = (key: string, forwardedFor: string) =>
      rawRequest(
        proxied,
        'GET',
        '/api/v1/models',
        { ...bearer(key), 'x-forwarded-for': forwardedFor },
        {
          localAddress: ip,
        },
      );
    for (let i = 0; i < BUDGET; i++) expectError(await get(wrong, a), 401, 'invalid_credentials', `a's guess ${i}`);
    expectError(await get(wrong, a), 429, 'rate_limited', 'a past its budget');
    // b, behind the same proxy connection, is not blocked and spends its own budget.
    expect((await get(good, b)).status).to.equal(200);
    expectError(await get(wrong, b), 401, 'invalid_credentials', "b's first guess");
    // With one hop, an entry a's client prepended itself is not read: a is still a.
    expectError(await get(good, `${forwardedIp()}, ${a}`), 429, 'rate_limited', 'a with a spoofed first entry');
    // Without the header the connection's address counts, with its own budget.
    expect((await rawRequest(proxied, 'GET', '/api/v1/models', bearer(good), { localAddress: ip })).status).to.equal(
      200,
    );
  });

  it('on: sign-in over X-Forwarded-Proto https sets the session cookie Secure; plain http, or trust off, does not', async () => {
    const signIn = (api: TestApi, proto?: string) =>
      rawRequest(
        api,
        'POST',
        '/api/v1/session',
        { 'content-type': 'application/json', ...(proto ? { 'x-forwarded-proto': proto } : {}) },
        { body: JSON.stringify({ apiKey: good }), localAddress: freshLoopback() },
      );
    const cases: Array<[string, TestApi, string | undefined, boolean]> = [
      ['trusted, https', proxied, 'https', true],
      ['trusted, no header', proxied, undefined, false],
      ['trusted, http', proxied, 'http', false],
      ['not trusted, https', direct, 'https', false],
    ];
    for (const [what, api, proto, secure] of cases) {
      const res = await signIn(api, proto);
      expect(res.status, `${what}: ${JSON.stringify(res.body)}`).to.equal(200);
      const attributes = sessionCookieAttributes(res);
      expect(attributes, what).to.include.members(['httponly', 'samesite=strict']);
      if (secure) expect(attributes, what).to.include('secure');
      else expect(attributes, what).not.to.include('secure');
    }
  });
});

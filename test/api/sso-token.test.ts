import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CryptoKey, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createSsoTokenVerifier, IDP_RETRY_AFTER_SECONDS } from '../../api/auth/sso-token';
import { ServiceUnavailableError, UnauthorizedError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { expectRejects } from '../support/expect-rejects';

/** Listens on a free loopback port; answers it. */
async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('api/auth/sso-token: the JWKS cannot be fetched', function () {
  this.timeout(20_000);
  const warnings: string[] = [];
  const log = { warn: (_obj: unknown, message: string) => warnings.push(message) } as unknown as Logger;
  let privateKey: CryptoKey;
  let jwks: string;
  let jwt: string;
  const servers: http.Server[] = [];

  before(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k', alg: 'ES256' }] });
    jwt = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k' })
      .setSubject('s')
      .setIssuer('iss')
      .setAudience('aud')
      .setExpirationTime('5m')
      .sign(privateKey);
  });
  beforeEach(() => (warnings.length = 0));
  after(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  // The verifier's clock for its Retry-After window: it moves only when a test moves it.
  let clockMs = 0;
  const clock = { now: () => clockMs };
  beforeEach(() => (clockMs = Date.now()));

  const verifierAt = (port: number, cooldownMs?: number) =>
    createSsoTokenVerifier(
      // A query that might carry a secret: the message names the host only.
      {
        jwksUrl: `http://127.0.0.1:${port}/jwks.json?secret=s3cr3t`,
        issuer: 'iss',
        audience: 'aud',
        algorithms: ['ES256'],
      },
      log,
      { ...clock, ...(cooldownMs === undefined ? {} : { cooldownMs }) },
    );

  /** A JWKS server answering with `handler`, and a verifier over it. */
  async function idp(handler: http.RequestListener) {
    const server = http.createServer(handler);
    servers.push(server);
    return verifierAt(await listen(server));
  }

  /** The verification fails with 503 identity_provider_unavailable saying `why`, logged once. */
  async function expectUnavailable(verification: Promise<string>, port: number | undefined, why: RegExp) {
    await expectRejects(verification, (err) => {
      expect(err).to.be.instanceOf(ServiceUnavailableError);
      const unavailable = err as ServiceUnavailableError;
      expect(unavailable.code).to.equal('identity_provider_unavailable');
      expect(unavailable.retryAfterSeconds).to.equal(IDP_RETRY_AFTER_SECONDS);
      expect(err.message).to.match(new RegExp(`identity provider at 127\\.0\\.0\\.1:${port ?? '\\d+'} is unavailable`));
      expect(err.message).to.match(why);
      expect(err.message).not.to.contain('s3cr3t');
    });
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/KILN_JWT_JWKS_URL/);
  }

  it('nothing listens: 503 identity_provider_unavailable naming the host, logged once', async () => {
    // A port that was free a moment ago: nothing answers there.
    const server = http.createServer();
    const port = await listen(server);
    await new Promise((resolve) => server.close(resolve));
    await expectUnavailable(verifierAt(port)(jwt), port, /could not be reached/);
  });

  it('a status other than 200, a body that is not JSON or not a JWK Set: 503', async () => {
    const cases: Array<[http.RequestListener, RegExp]> = [
      [(_req, res) => res.writeHead(500).end('oops'), /HTTP status other than 200/],
      [(_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>'), /not JSON/],
      [(_req, res) => res.writeHead(200).end('{"keys": "none"}'), /not a JWK Set/],
    ];
    for (const [handler, why] of cases) {
      warnings.length = 0;
      await expectUnavailable((await idp(handler))(jwt), undefined, why);
    }
  });

  it("jose's timeout (JWKSTimeout, 5 s) is a 503 too", async () => {
    // Accepts the request and never answers.
    await expectUnavailable((await idp(() => undefined))(jwt), undefined, /did not answer in time/);
  });

  it('the same token verifies once the JWKS answers; a bad token against a good JWKS stays 401', async () => {
    let up = false;
    const verify = await idp((_req, res) => {
      if (up) res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
      else res.writeHead(503).end();
    });
    await expectUnavailable(verify(jwt), undefined, /other than 200/);
    up = true;
    // Retry-After seconds later (the outage window: no fetch before then).
    clockMs += IDP_RETRY_AFTER_SECONDS * 1000;
    expect(await verify(jwt)).to.equal('iss|s');
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k' })
      .setSubject('s')
      .setIssuer('iss')
      .setAudience('aud')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(privateKey);
    await expectRejects(verify(expired), (err) => {
      expect(err).to.be.instanceOf(UnauthorizedError);
      expect((err as UnauthorizedError).code).to.equal('invalid_token');
    });
  });

  /** A JWKS server that counts its fetches and answers `jwks` while `up`, else 500. */
  async function countingIdp(cooldownMs?: number) {
    const state = { up: false, fetches: 0 };
    const server = http.createServer((_req, res) => {
      state.fetches++;
      if (state.up) res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
      else res.writeHead(500).end('down');
    });
    servers.push(server);
    return { state, verify: verifierAt(await listen(server), cooldownMs) };
  }

  /** A token signed with the right key but naming `kid`, with these claims (defaults: the accepted ones). */
  const tokenWith = (kid: string, claims: { iss?: string; aud?: string } = {}) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid })
      .setSubject('s')
      .setIssuer(claims.iss ?? 'iss')
      .setAudience(claims.aud ?? 'aud')
      .setExpirationTime('5m')
      .sign(privateKey);

  const expect503 = (verification: Promise<string>) =>
    expectRejects(verification, (err) => {
      expect(err).to.be.instanceOf(ServiceUnavailableError);
      expect((err as ServiceUnavailableError).code).to.equal('identity_provider_unavailable');
    });
  const expect401 = (verification: Promise<string>, why: RegExp) =>
    expectRejects(verification, (err) => {
      expect(err).to.be.instanceOf(UnauthorizedError);
      expect((err as UnauthorizedError).code).to.equal('invalid_token');
      expect(err.message).to.match(why);
    });

  it('while the JWKS fails, 20 tokens with random kids cost one fetch, not 20; one more after Retry-After', async () => {
    const { state, verify } = await countingIdp();
    const tokens = await Promise.all(Array.from({ length: 20 }, () => tokenWith(randomUUID())));
    // 10 at once (sharing one fetch), then 10 one after the other (answered at once, no fetch of their own).
    await Promise.all(tokens.slice(0, 10).map((token) => expect503(verify(token))));
    for (const token of tokens.slice(10)) {
      const started = Date.now();
      await expect503(verify(token));
      expect(Date.now() - started).to.be.below(1000);
    }
    expect(state.fetches).to.equal(1);
    expect(warnings).to.have.length(1);
    clockMs += IDP_RETRY_AFTER_SECONDS * 1000 - 1;
    await expect503(verify(tokens[0]!));
    expect(state.fetches).to.equal(1);
    clockMs += 1;
    await expect503(verify(tokens[0]!));
    expect(state.fetches).to.equal(2);
    state.up = true;
    clockMs += IDP_RETRY_AFTER_SECONDS * 1000;
    expect(await verify(jwt)).to.equal('iss|s');
    expect(state.fetches).to.equal(3);
  });

  it('a token from another issuer, for another audience or with another alg is a 401 with no fetch at all', async () => {
    const { state, verify } = await countingIdp();
    const encode = (obj: object) => Buffer.from(JSON.stringify(obj)).toString('base64url');
    const future = Math.floor(Date.now() / 1000) + 300;
    // Forged: unsigned (a made-up signature), a made-up kid.
    const forged = (header: object, claims: object) =>
      `${encode({ alg: 'ES256', kid: randomUUID(), ...header })}.${encode({ sub: 's', exp: future, iss: 'iss', aud: 'aud', ...claims })}.${encode({ sig: 1 })}`;
    await expect401(verify(forged({}, { iss: 'https://wrong-issuer.example/' })), /another issuer/);
    await expect401(verify(forged({}, { aud: ['other'] })), /another audience/);
    await expect401(verify(forged({ alg: 'RS256' }, {})), /algorithm is not accepted/);
    await expect401(verify(forged({ alg: 'none' }, {})), /algorithm is not accepted/);
    await expect401(verify(await tokenWith(randomUUID(), { iss: 'other' })), /another issuer/);
    await expect401(verify('not.a-jwt'), /malformed/);
    expect(state.fetches).to.equal(0);
    // The same forged token with the right claims does need the keys: a fetch, and the 503.
    await expect503(verify(forged({}, {})));
    expect(state.fetches).to.equal(1);
  });

  it('a key of the cached fresh set keeps verifying during the outage; unknown kids get the 503 at once', async () => {
    // No cooldown after a successful fetch, so an unknown kid needs a fetch right away.
    const { state, verify } = await countingIdp(0);
    state.up = true;
    expect(await verify(jwt)).to.equal('iss|s');
    expect(state.fetches).to.equal(1);
    state.up = false;
    await expect503(verify(await tokenWith('unknown-1')));
    expect(state.fetches).to.equal(2);
    for (let i = 0; i < 5; i++) {
      expect(await verify(jwt)).to.equal('iss|s');
      await expect503(verify(await tokenWith(randomUUID())));
    }
    expect(state.fetches).to.equal(2);
  });
});

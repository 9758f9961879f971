import { expect } from 'chai';
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

  const verifierAt = (port: number) =>
    createSsoTokenVerifier(
      // A query that might carry a secret: the message names the host only.
      {
        jwksUrl: `http://127.0.0.1:${port}/jwks.json?secret=s3cr3t`,
        issuer: 'iss',
        audience: 'aud',
        algorithms: ['ES256'],
      },
      log,
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
});

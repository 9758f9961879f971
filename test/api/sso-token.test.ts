import { expect } from 'chai';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPair, SignJWT } from 'jose';
import { createSsoTokenVerifier } from '../../api/auth/sso-token';
import { UnauthorizedError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { expectRejects } from '../support/expect-rejects';

describe('api/auth/sso-token: the JWKS cannot be fetched', () => {
  it('refuses the token with 401 invalid_token and logs why', async () => {
    // A port that was free a moment ago: nothing answers there.
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const warnings: string[] = [];
    const log = { warn: (_obj: unknown, message: string) => warnings.push(message) } as unknown as Logger;
    const verify = createSsoTokenVerifier(
      { jwksUrl: `http://127.0.0.1:${port}/jwks.json`, issuer: 'iss', audience: 'aud', algorithms: ['ES256'] },
      log,
    );
    const { privateKey } = await generateKeyPair('ES256');
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k' })
      .setSubject('s')
      .setIssuer('iss')
      .setAudience('aud')
      .setExpirationTime('5m')
      .sign(privateKey);
    await expectRejects(verify(jwt), (err) => {
      expect(err).to.be.instanceOf(UnauthorizedError);
      expect((err as UnauthorizedError).code).to.equal('invalid_token');
      expect(err.message).to.match(/signing keys could not be fetched/);
    });
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/KILN_JWT_JWKS_URL/);
  });
});

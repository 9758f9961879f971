import { createRemoteJWKSet, errors as joseErrors, JWTPayload, jwtVerify } from 'jose';
import { ServiceUnavailableError, UnauthorizedError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { SsoConfig } from '../../common/sso-config';

/** Verifies an SSO token's signature and claims; answers its subject `<issuer>|<sub>`. */
export type SsoTokenVerifier = (token: string) => Promise<string>;

/**
 * Why a token was refused, for the 401's message: the class of problem, never the token or its claims. For another
 * audience it names the one expected (KILN_JWT_AUDIENCE, no secret; only a token the identity provider signed gets
 * this far): the usual mistake is sending an ID token, whose `aud` is the client id, instead of an access token.
 */
function refusal(err: unknown, audience: string): string | undefined {
  if (err instanceof joseErrors.JWTExpired) return 'the token has expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') {
      return (
        `the token is for another audience: send an access token whose "aud" includes "${audience}" ` +
        '(an ID token works only if its "aud" is that value)'
      );
    }
    if (err.claim === 'iss') return 'the token is from another issuer';
    if (err.claim === 'nbf') return 'the token is not valid yet';
    return `the token's "${err.claim}" claim is missing or invalid`;
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return "the token's signing algorithm is not accepted";
  if (err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys) {
    return "the token's signing key is not among the identity provider's keys";
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return "the token's signature does not verify";
  if (
    err instanceof joseErrors.JWSInvalid ||
    err instanceof joseErrors.JWTInvalid ||
    err instanceof joseErrors.JOSENotSupported
  ) {
    return 'the token is malformed';
  }
  return undefined;
}

/** Seconds a client is told to wait (Retry-After) when the identity provider's JWKS cannot be fetched. */
export const IDP_RETRY_AFTER_SECONDS = 5;

/**
 * Why the JWKS could not be had, in a few words for the 503's message and the log: jose's JWKSTimeout (its 5 s
 * default), an answer other than 200, a body that is no JWK Set (not JSON, or JSON of another shape), or no answer at
 * all (fetch's TypeError: connection refused, DNS, TLS).
 */
function unavailability(err: unknown): string {
  if (err instanceof joseErrors.JWKSTimeout) return 'it did not answer in time';
  if (err instanceof joseErrors.JWKSInvalid) return 'its answer is not a JWK Set';
  if (err instanceof joseErrors.JOSEError && /Expected 200 OK/.test(err.message)) {
    return 'it answered with an HTTP status other than 200';
  }
  if (err instanceof joseErrors.JOSEError && /parse/.test(err.message)) return 'its answer is not JSON';
  return 'it could not be reached';
}

/**
 * The verifier over the identity provider's JWKS (fetched on first use, cached, refetched when a token names a key
 * it lacks; jose's createRemoteJWKSet). A token must be signed with one of `config.algorithms` by a key of the JWKS,
 * carry `iss` equal to the issuer, the audience in `aud`, a `sub`, and an `exp` not past (one without `exp` would
 * never expire). Throws UnauthorizedError `invalid_token` saying which check failed. When the JWKS cannot be fetched
 * (no answer, a timeout, a status other than 200, a body that is no JWK Set) no token can be verified, and that is no
 * fault of the caller: ServiceUnavailableError `identity_provider_unavailable` (503, Retry-After
 * IDP_RETRY_AFTER_SECONDS) naming the JWKS URL's host only (its path or query may carry a secret), logged at warn.
 */
export function createSsoTokenVerifier(config: SsoConfig, log?: Logger): SsoTokenVerifier {
  const jwksUrl = new URL(config.jwksUrl);
  const keys = createRemoteJWKSet(jwksUrl);
  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: config.algorithms,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (err) {
      const reason = refusal(err, config.audience);
      if (reason) throw new UnauthorizedError(`invalid token: ${reason}`, 'invalid_token');
      const message =
        `the identity provider at ${jwksUrl.host} is unavailable: its signing keys (KILN_JWT_JWKS_URL) could not ` +
        `be fetched, ${unavailability(err)}; retry later`;
      log?.warn({ err, jwksHost: jwksUrl.host }, `SSO: ${message}`);
      throw new ServiceUnavailableError(message, IDP_RETRY_AFTER_SECONDS, 'identity_provider_unavailable');
    }
    return `${payload.iss}|${payload.sub}`;
  };
}

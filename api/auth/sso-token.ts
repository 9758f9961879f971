import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  JWTPayload,
  jwtVerify,
} from 'jose';
import { ServiceUnavailableError, UnauthorizedError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { SsoConfig } from '../../common/sso-config';

/** Verifies an SSO token's signature and claims; answers its subject `<issuer>|<sub>`. */
export type SsoTokenVerifier = (token: string) => Promise<string>;

/**
 * Why a token was refused, for the 401's message: the class of problem, never the token or its claims. For another
 * audience it names the one expected (KILN_JWT_AUDIENCE, no secret: any caller may learn it, as an unsigned token's
 * claims are checked before its signature, preclaimsRefusal): the usual mistake is sending an ID token, whose `aud` is
 * the client id, instead of an access token.
 */
function audienceRefusal(audience: string): string {
  return (
    `the token is for another audience: send an access token whose "aud" includes "${audience}" ` +
    '(an ID token works only if its "aud" is that value)'
  );
}

/** refusal's reason for `err` from jwtVerify; undefined for an error that is no fault of the token. */
function refusal(err: unknown, audience: string): string | undefined {
  if (err instanceof joseErrors.JWTExpired) return 'the token has expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return audienceRefusal(audience);
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
 * Why a token is refused on its unverified header and claims alone (jose's decodeProtectedHeader, decodeJwt), before
 * any key is looked up: a token from another issuer, for another audience or with an algorithm not accepted could
 * never verify, and must not make the API fetch the JWKS (a forged token with a made-up `kid` would otherwise cost a
 * fetch from the identity provider each). Undefined when these checks pass; jwtVerify repeats them on the signed
 * claims.
 */
function preclaimsRefusal(token: string, config: SsoConfig): string | undefined {
  let header: JWSHeaderParameters;
  let claims: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    claims = decodeJwt(token);
  } catch {
    // decodeProtectedHeader throws a plain TypeError for a malformed header, decodeJwt JWTInvalid.
    return 'the token is malformed';
  }
  const { alg } = header;
  const { iss, aud } = claims;
  if (typeof alg !== 'string' || !(config.algorithms as readonly string[]).includes(alg)) {
    return "the token's signing algorithm is not accepted";
  }
  if (iss !== config.issuer) return 'the token is from another issuer';
  if (!(Array.isArray(aud) ? aud.includes(config.audience) : aud === config.audience)) {
    return audienceRefusal(config.audience);
  }
  return undefined;
}

/** The JWKS could not be fetched just now (`cause`: jose's or fetch's error, for unavailability). */
class JwksUnavailable extends Error {
  constructor(override readonly cause: unknown) {
    super('the JWKS could not be fetched');
  }
}

/**
 * Test knobs of createSsoTokenVerifier: `now` (epoch ms, default Date.now) times the Retry-After window after a failed
 * fetch; `cooldownMs` replaces jose's 30 s cooldown after a successful fetch (jose's own cache ages follow Date.now).
 */
export interface VerifierClock {
  now?: () => number;
  cooldownMs?: number;
}

/**
 * A key resolver for jwtVerify over jose's createRemoteJWKSet (its fetch, timeout and cache) that fetches at most
 * once per IDP_RETRY_AFTER_SECONDS while the identity provider is down: after a failed fetch, until Retry-After has
 * passed, a token that would need a fetch (no fresh set cached, or a `kid` the cached set lacks outside jose's 30 s
 * cooldown) fails at once with JwksUnavailable instead of holding its request up to jose's 5 s timeout on a fetch of
 * its own; a token whose key is in the cached fresh set still resolves. jose's resolver itself would fetch for every
 * such token (a failed fetch starts no cooldown). `onFetchFailed` hears each failed fetch once (for the log).
 */
function outageAwareKeys(jwksUrl: URL, clock: VerifierClock, onFetchFailed: (err: unknown) => void) {
  const now = clock.now ?? Date.now;
  const remote = createRemoteJWKSet(
    jwksUrl,
    clock.cooldownMs === undefined ? {} : { cooldownDuration: clock.cooldownMs },
  );
  let local: ReturnType<typeof createLocalJWKSet> | undefined;
  let failure: { until: number; cause: unknown } | undefined;
  const fetchKeys = async () => {
    if (failure && now() < failure.until) throw new JwksUnavailable(failure.cause);
    try {
      await remote.reload();
    } catch (err) {
      // Concurrent callers share jose's one pending fetch: the first to see its failure opens the window.
      if (!failure || now() >= failure.until) {
        failure = { until: now() + IDP_RETRY_AFTER_SECONDS * 1000, cause: err };
        onFetchFailed(err);
      }
      throw new JwksUnavailable(err);
    }
    failure = undefined;
    local = createLocalJWKSet(remote.jwks()!);
  };
  return async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    if (!local || !remote.fresh) await fetchKeys();
    try {
      return await local!(header, token);
    } catch (err) {
      // jose's rule: an unknown kid fetches again, but not within its cooldown after a successful fetch.
      if (!(err instanceof joseErrors.JWKSNoMatchingKey) || remote.coolingDown) throw err;
      await fetchKeys();
      return local!(header, token);
    }
  };
}

/**
 * The verifier over the identity provider's JWKS (fetched on first use, cached, refetched when a token names a key
 * it lacks; jose's createRemoteJWKSet). A token must be signed with one of `config.algorithms` by a key of the JWKS,
 * carry `iss` equal to the issuer, the audience in `aud`, a `sub`, and an `exp` not past (one without `exp` would
 * never expire). Throws UnauthorizedError `invalid_token` saying which check failed. When the JWKS cannot be fetched
 * (no answer, a timeout, a status other than 200, a body that is no JWK Set) no token can be verified, and that is no
 * fault of the caller: ServiceUnavailableError `identity_provider_unavailable` (503, Retry-After
 * IDP_RETRY_AFTER_SECONDS) naming the JWKS URL's host only (its path or query may carry a secret), each failed fetch
 * logged at warn. A token whose unverified `iss`, `aud` or `alg` is wrong is refused before any key is looked up
 * (preclaimsRefusal), and after a failed fetch, for IDP_RETRY_AFTER_SECONDS, a token needing a fetch is answered the
 * 503 at once without one (outageAwareKeys): tokens cannot make the API hammer a struggling identity provider. `clock`
 * is for tests (VerifierClock).
 */
export function createSsoTokenVerifier(config: SsoConfig, log?: Logger, clock: VerifierClock = {}): SsoTokenVerifier {
  const jwksUrl = new URL(config.jwksUrl);
  const messageFor = (cause: unknown) =>
    `the identity provider at ${jwksUrl.host} is unavailable: its signing keys (KILN_JWT_JWKS_URL) could not ` +
    `be fetched, ${unavailability(cause)}; retry later`;
  const keys = outageAwareKeys(jwksUrl, clock, (err) =>
    log?.warn({ err, jwksHost: jwksUrl.host }, `SSO: ${messageFor(err)}`),
  );
  return async (token) => {
    let payload: JWTPayload;
    try {
      const early = preclaimsRefusal(token, config);
      if (early) throw new UnauthorizedError(`invalid token: ${early}`, 'invalid_token');
      ({ payload } = await jwtVerify(token, keys, {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: config.algorithms,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (err) {
      if (err instanceof UnauthorizedError) throw err;
      const reason = refusal(err, config.audience);
      if (reason) throw new UnauthorizedError(`invalid token: ${reason}`, 'invalid_token');
      // Fetch failures were logged as they happened; anything else is unexpected and logged here.
      if (!(err instanceof JwksUnavailable))
        log?.warn({ err, jwksHost: jwksUrl.host }, 'SSO: token verification failed');
      const cause = err instanceof JwksUnavailable ? err.cause : err;
      throw new ServiceUnavailableError(messageFor(cause), IDP_RETRY_AFTER_SECONDS, 'identity_provider_unavailable');
    }
    return `${payload.iss}|${payload.sub}`;
  };
}

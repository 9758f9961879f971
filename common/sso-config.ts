import { z } from 'zod';

/**
 * The JWS algorithms an SSO token may be signed with: asymmetric ones only. A JWKS publishes public keys, so an HMAC
 * (`HS*`) "key" from it would be public and anyone could sign with it; `none` signs nothing.
 */
export const JWT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** KILN_JWT_ALGORITHMS when unset: what most identity providers sign with (RSA, then P-256). */
export const DEFAULT_JWT_ALGORITHMS = 'RS256,ES256';

/**
 * How the API verifies SSO tokens (README: SSO (JWT)); present only when KILN_JWT_JWKS_URL is set, and then with its
 * issuer and audience (the configuration refuses one without the other).
 */
export interface SsoConfig {
  /** KILN_JWT_JWKS_URL: where the identity provider publishes its public signing keys (a JWK Set). */
  jwksUrl: string;
  /** KILN_JWT_ISSUER: the `iss` every token must carry, exactly. */
  issuer: string;
  /** KILN_JWT_AUDIENCE: a value the token's `aud` must carry (this API). */
  audience: string;
  /** KILN_JWT_ALGORITHMS: the `alg` values accepted (never `none` nor `HS*`). */
  algorithms: JwtAlgorithm[];
}

/**
 * A comma-separated list of JWT_ALGORITHMS (case as the JOSE registry spells them), at least one, no repeats. The
 * message for `none` or `HS256` says why it is refused rather than only listing what is allowed.
 */
export function jwtAlgorithmList() {
  return z.string().transform((raw, ctx) => {
    const names = raw
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name.length > 0);
    const refused = names.filter((name) => !(JWT_ALGORITHMS as readonly string[]).includes(name));
    if (names.length === 0 || refused.length > 0) {
      const symmetric = refused.filter((name) => /^(none|HS\d+)$/i.test(name));
      const why = symmetric.length
        ? `${symmetric.join(', ')} cannot be verified with the public keys of a JWKS; `
        : refused.length
          ? `unknown ${refused.join(', ')}; `
          : '';
      ctx.addIssue({
        code: 'custom',
        message: `must list algorithms among ${JWT_ALGORITHMS.join(', ')} (${why}comma-separated)`,
      });
      return z.NEVER;
    }
    return [...new Set(names)] as JwtAlgorithm[];
  });
}

import type { Pool } from 'pg';
import type { Principal } from '../../common/auth/principal';
import { TenantDisabledError, UnauthorizedError, withField } from '../../common/errors';
import { createSession, deleteSession, findSessionForAuth, isSessionId, SessionOwner } from '../../db/sessions';
import { membershipsOf } from '../../db/tenant-members';

/** How long a console session lasts: 12 hours, in milliseconds (an SSO token's own expiry ends it sooner). */
export const SESSION_TTL_MS = 12 * 3600 * 1000;

/** The cookie a refusal of a session names (its `field`): the request sent no Authorization header. */
const SESSION_FIELD = 'kiln_session';

/** The same refusal about the session cookie (its field), the message as it was (it names no field to replace). */
function aboutCookie(err: UnauthorizedError): UnauthorizedError {
  const copy = withField(err, SESSION_FIELD);
  copy.message = err.message;
  return copy;
}

/** The refusal of a session cookie that names no live session (unknown, signed out, expired or malformed). */
function sessionExpired(
  message = 'the session has ended (signed out, expired, or ended by an admin: its key revoked or its membership removed): sign in again',
): UnauthorizedError {
  return aboutCookie(new UnauthorizedError(message, 'session_expired'));
}

/** What a session row records of its principal (a key's id, or an SSO subject and role). */
function ownerOf(principal: Principal): SessionOwner {
  if (principal.keyId !== undefined) return { kind: 'key', keyId: principal.keyId };
  if (principal.subject !== undefined) return { kind: 'sso', subject: principal.subject, role: principal.role };
  throw new Error(`principal ${principal.id} is neither an API key nor an SSO subject`);
}

/**
 * Opens a server-side session for a principal the caller has just authenticated, for SESSION_TTL_MS or until
 * `notAfter` (an SSO token's exp), whichever is sooner. Answers the session id (the cookie's value: the only copy) and
 * when it expires. A key-backed session stores only the key's id; an SSO one the subject and its role.
 */
export async function openSession(
  pool: Pick<Pool, 'query'>,
  principal: Principal,
  notAfter?: Date,
): Promise<{ sessionId: string; expiresAt: Date }> {
  const owner = ownerOf(principal);
  let expiresAt = new Date(Date.now() + SESSION_TTL_MS);
  if (notAfter && notAfter < expiresAt) expiresAt = notAfter;
  const { sessionId } = await createSession(pool, { tenantId: principal.tenantId, owner, expiresAt });
  return { sessionId, expiresAt };
}

/** Ends a session (signing out): its row is deleted, so the cookie's value opens nothing any more. */
export async function closeSession(pool: Pick<Pool, 'query'>, sessionId: string): Promise<void> {
  if (!isSessionId(sessionId)) return;
  const session = await findSessionForAuth(pool, sessionId);
  if (session) await deleteSession(pool, session.tenantId, sessionId);
}

/** Resolves session cookies to principals (api/auth/gate.ts, for a request without Authorization or X-API-Key). */
export interface SessionResolver {
  /**
   * The principal a session acts for. Throws UnauthorizedError `session_expired` for an id that is malformed, unknown,
   * signed out or past its expiry, and for an SSO session whose subject is no longer a member of its tenant; for a
   * key-backed session, whatever the key's check throws (`key_revoked`, `key_expired`, `invalid_credentials` once the
   * key is gone). Each with field `kiln_session`. TenantDisabledError (403 `tenant_disabled`) while the session's
   * tenant is disabled (the session itself stays: enabling the tenant again restores it).
   */
  resolve(sessionId: string): Promise<Principal>;
}

/**
 * A resolver reading the session's row on every request (one primary-key lookup: signing out ends the session in
 * every process at once). A key-backed session's principal is the key's, checked by `keys` on every request (the
 * gate's KeyVerifier, whose cache revoking through this process clears): revoking the key ends its sessions. An SSO
 * session's role is its subject's membership of the session's tenant, read on every request too (one more primary-key
 * lookup): a changed role applies to the next request, and a removed member's session is refused (401
 * `session_expired`). Every refusal names the `kiln_session` cookie as its field.
 */
export function createSessionResolver(deps: {
  pool: Pick<Pool, 'query'>;
  keys: { verifyKeyId(keyId: string): Promise<Principal> };
}): SessionResolver {
  const resolve = async (sessionId: string): Promise<Principal> => {
    if (!isSessionId(sessionId)) throw sessionExpired();
    const session = await findSessionForAuth(deps.pool, sessionId);
    if (!session || session.expired) throw sessionExpired();
    const { owner } = session;
    if (owner.kind === 'sso') {
      // The role stored at sign-in is history: the membership as it is now decides (removed: no session).
      const [membership] = await membershipsOf(deps.pool, owner.subject, session.tenantId);
      if (!membership) {
        throw sessionExpired(
          `the session has ended: "${owner.subject}" is no longer a member of tenant "${session.tenantId}" ` +
            '(an admin of the tenant removed it)',
        );
      }
      if (membership.tenantDisabled) throw new TenantDisabledError(session.tenantId);
      return {
        id: `sso:${owner.subject}`,
        tenantId: session.tenantId,
        role: membership.role,
        platformAdmin: false,
        subject: owner.subject,
      };
    }
    const principal = await deps.keys.verifyKeyId(owner.keyId);
    // A key never changes tenant; a row saying otherwise opens nothing rather than another tenant.
    if (principal.tenantId !== session.tenantId) throw sessionExpired();
    return principal;
  };
  return {
    async resolve(sessionId) {
      try {
        return await resolve(sessionId);
      } catch (err) {
        // The key's own refusals (key_revoked, key_expired) are about the cookie that stands for it here.
        if (err instanceof UnauthorizedError && err.field !== SESSION_FIELD) throw aboutCookie(err);
        throw err;
      }
    },
  };
}

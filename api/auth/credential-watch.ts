import type { Context } from 'koa';
import { ForbiddenError, UnauthorizedError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { type Access, reauthorize } from './access';

/**
 * Milliseconds between checks of an open event stream's credentials (README: Live job events). A stream outlives the
 * request's first check: each check authenticates its key, token or session cookie again (api/auth/gate.ts), so a
 * revoked or expired key, an ended session, a removed SSO member, a disabled tenant or a role that no longer reads
 * ends the stream within this interval, plus the gate's KEY_CACHE_MS on another replica (revoking through this
 * process clears its cache at once). Each check costs one or two primary-key lookups per open stream.
 */
export const CREDENTIAL_RECHECK_MS = 5_000;

/** Why a request's credentials no longer hold: the refusal's status and code, as a 401/403 body would carry them. */
export interface CredentialsRefused {
  status: 401 | 403;
  code: string;
  message: string;
}

/** A running watch; `stop()` clears its timer (idempotent: call it whenever the request closes). */
export interface CredentialWatch {
  stop(): void;
}

/**
 * Re-checks every `intervalMs` (default CREDENTIAL_RECHECK_MS) that the credentials of `ctx`, a request past
 * `requires(access)`, still authenticate and allow `access` in the tenant they had (access.ts: reauthorize). On the
 * first refusal calls `onRefused` once and stops. A check that fails otherwise (Postgres or the identity provider
 * unreachable: no verdict on the credentials) is logged and the next one decides. One check at a time: the next is
 * scheduled when the last one has answered.
 */
export function watchCredentials(
  ctx: Context,
  access: Access,
  options: { intervalMs?: number; log: Logger; onRefused: (refusal: CredentialsRefused) => void },
): CredentialWatch {
  const intervalMs = options.intervalMs ?? CREDENTIAL_RECHECK_MS;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const check = async () => {
    timer = undefined;
    let refusal: CredentialsRefused | undefined;
    try {
      await reauthorize(ctx, access);
    } catch (err) {
      if (err instanceof UnauthorizedError) refusal = { status: 401, code: err.code, message: err.message };
      else if (err instanceof ForbiddenError) refusal = { status: 403, code: err.code, message: err.message };
      else options.log.warn({ err }, 'could not re-check the credentials of an open request; trying again');
    }
    if (stopped) return;
    if (refusal) {
      stopped = true;
      options.onRefused(refusal);
      return;
    }
    schedule();
  };
  const schedule = () => {
    timer = setTimeout(() => void check(), intervalMs);
    // A watch never keeps the process alive by itself (the request's socket does while it is open).
    timer.unref();
  };

  schedule();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}

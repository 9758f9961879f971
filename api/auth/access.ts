import type { Context, Middleware, Next } from 'koa';
import type { Principal } from '../../common/auth/principal';
import type { Role } from '../../common/auth/roles';
import { ForbiddenError } from '../../common/errors';

/**
 * Rate-limit budgets, each counted per key (or SSO subject): starting jobs, online predict, reads, other writes.
 * Sizes per tenant: api/auth/rate-limits.ts.
 */
export type Budget = 'start' | 'predict' | 'read' | 'write';

/** What a route needs: a role in the caller's tenant, a platform admin (tenants), or nothing (`public`). */
export type Access = Role | 'platform-admin' | 'public';

/** Marks the middleware `requires` returns, so a test can check that every route declares its access. */
export const ACCESS = Symbol('kiln.access');

export interface AccessDeclaration {
  access: Access;
  /** Absent: `read` for GET and HEAD, `write` otherwise. */
  budget?: Budget;
}

/**
 * Authenticates and authorizes a request for a route: 401 without valid credentials, 403 without the role, 429 past
 * the caller's budget; afterwards `principalOf(ctx)` is the caller. Installed on the app by createApp.
 */
export interface AccessGate {
  authorize(ctx: Context, declaration: AccessDeclaration): Promise<void>;
  /** Forgets what this process cached about an API key (its revocation or change takes effect here at once). */
  forgetKey(keyId: string): void;
  /** Forgets what this process cached about a tenant's keys (disabling or enabling it takes effect here at once). */
  forgetTenant?(tenantId: string): void;
  /**
   * Checks again that the credentials a request carries (key, SSO token or session cookie) still authenticate and
   * allow `access`, for a request that outlives its first check (an open event stream, a long poll): the principal as
   * it is now. Throws as authorize does (UnauthorizedError; ForbiddenError, TenantDisabledError among them); charges
   * no rate-limit budget and no failure budget (the credentials were good once).
   */
  reauthorize(ctx: Context, access: Access): Promise<Principal>;
}

declare module 'koa' {
  interface DefaultContext {
    /** The app's access gate (createApp sets it). */
    accessGate?: AccessGate;
  }
}

export type AccessMiddleware = Middleware & { [ACCESS]: AccessDeclaration };

/**
 * The one place a route declares who may call it, as its first middleware:
 * `router.post('/models', requires('editor'), handler)`. A route without it fails test/api/route-access.test.ts.
 */
export function requires(access: Access, budget?: Budget): AccessMiddleware {
  const declaration: AccessDeclaration = budget ? { access, budget } : { access };
  const middleware = async (ctx: Context, next: Next) => {
    if (access !== 'public') {
      if (!ctx.accessGate) throw new Error('no access gate on this app (createApp installs one)');
      await ctx.accessGate.authorize(ctx, declaration);
    }
    await next();
  };
  return Object.assign(middleware, { [ACCESS]: declaration });
}

/** The authenticated caller of a request that passed `requires` (an Error, a bug, on a route without it). */
export function principalOf(ctx: Pick<Context, 'state'>): Principal {
  const principal = (ctx.state as { principal?: Principal }).principal;
  if (!principal) throw new Error('no principal: the route declares no requires() or is public');
  return principal;
}

/**
 * Checks again that the credentials of a request past `requires(access)` still authenticate and allow `access`, in the
 * tenant they acted in (an open event stream, a long poll before it answers): the principal as it is now. Throws as
 * `requires` does (UnauthorizedError; ForbiddenError, TenantDisabledError among them), and ForbiddenError
 * `not_a_member` when they now act in another tenant (an SSO subject removed from this one but a member of another).
 */
export async function reauthorize(ctx: Context, access: Access): Promise<Principal> {
  if (!ctx.accessGate) throw new Error('no access gate on this app (createApp installs one)');
  const before = principalOf(ctx);
  const now = await ctx.accessGate.reauthorize(ctx, access);
  if (now.tenantId !== before.tenantId) {
    throw new ForbiddenError(
      `the credentials no longer act in tenant "${before.tenantId}" (they now act in "${now.tenantId}")`,
      'not_a_member',
    );
  }
  return now;
}

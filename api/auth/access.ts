import type { Context, Middleware, Next } from 'koa';
import type { Principal } from '../../common/auth/principal';
import type { Role } from '../../common/auth/roles';

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

import Router from '@koa/router';
import { Context } from 'koa';
import { NotFoundError, ValidationError } from '../../common/errors';
import { inTransaction } from '../../db/pool';
import {
  callerStillAdmin,
  lastTenantAdminError,
  lockTenantAdmins,
  memberMayStopBeingAdmin,
} from '../../db/tenant-admins';
import { deleteTenantMember, listTenantMembers, putTenantMember, TenantMember } from '../../db/tenant-members';
import { principalOf, requires } from '../auth/access';
import { readJsonBody } from '../body';
import { ApiDeps } from '../context';
import { memberSubject, putMemberRequest } from '../schemas/members';
import { parseWith } from '../schemas/validate';

/** A membership body is `{"role": "..."}`: a few bytes are plenty. */
const MEMBER_BODY_MAX_BYTES = 4096;

const memberPath = (subject: string) => `/api/v1/members/${encodeURIComponent(subject)}`;

function memberView(m: TenantMember) {
  return {
    subject: m.subject,
    role: m.role,
    createdBy: m.createdBy,
    createdAt: m.createdAt,
    links: { self: memberPath(m.subject) },
  };
}

/** The route's `:subject`, decoded by the router, checked (400 naming `subject`). */
function subjectOf(ctx: Context): string {
  return parseWith(memberSubject, ctx.params.subject, 'subject');
}

/**
 * Refuses (400 naming `subject`) a new member whose issuer, the part before the first `|` (an issuer holds none:
 * SUBJECT_PATTERN; api/auth/sso.ts forms `<iss>|<sub>`), is not the one the API trusts (`ssoIssuer`,
 * KILN_JWT_ISSUER): such a member could never sign in. Without SSO (`ssoIssuer` undefined) any issuer is taken: a
 * member is no way in then, and members may be prepared before SSO is turned on.
 */
function checkIssuer(subject: string, ssoIssuer: string | undefined): void {
  if (ssoIssuer === undefined || subject.slice(0, subject.indexOf('|')) === ssoIssuer) return;
  throw new ValidationError(
    `subject: must be "<issuer>|<sub>" with the issuer this API trusts, "${ssoIssuer}" (KILN_JWT_ISSUER): a member of ` +
      'another issuer could never sign in',
    'subject',
  );
}

/**
 * SSO members of the caller's tenant (README: SSO (JWT)): who, by token subject `<iss>|<sub>`, may act in it with
 * which role. Admins of the tenant only; every query names the caller's tenant, so no other tenant's members are seen.
 * The last admin member is neither removed nor demoted while no usable admin key without an expiry remains (409
 * `last_tenant_admin`, db/tenant-admins.ts; checked and changed in one transaction under the tenant's admin lock).
 * Every change takes that lock first and then re-checks that the caller is still an admin (callerStillAdmin): a
 * request that authenticated just before its caller was removed or demoted does not act on the stale role. Where SSO
 * is configured, a new or changed member's subject must be of its issuer (400 `subject` otherwise).
 */
export function membersRouter(deps: ApiDeps): Router {
  const { pool } = deps;
  const ssoIssuer = deps.sso?.issuer;
  const router = new Router();

  router.get('/members', requires('admin'), async (ctx) => {
    const members = await listTenantMembers(pool, principalOf(ctx).tenantId);
    ctx.body = { members: members.map(memberView) };
  });

  router.put('/members/:subject', requires('admin'), async (ctx) => {
    const subject = subjectOf(ctx);
    checkIssuer(subject, ssoIssuer);
    const body = await readJsonBody(ctx, Math.min(deps.limits.maxBodyBytes, MEMBER_BODY_MAX_BYTES));
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new ValidationError('the body must be a JSON object', 'body');
    const { role } = parseWith(putMemberRequest, body);
    const principal = principalOf(ctx);
    const { member, created } = await inTransaction(pool, async (client) => {
      await lockTenantAdmins(client, principal.tenantId);
      await callerStillAdmin(client, principal);
      if (role !== 'admin' && !(await memberMayStopBeingAdmin(client, principal.tenantId, subject, ssoIssuer))) {
        throw lastTenantAdminError('role');
      }
      return putTenantMember(client, principal.tenantId, subject, role, principal.id);
    });
    ctx.status = created ? 201 : 200;
    if (created) ctx.set('Location', memberPath(member.subject));
    ctx.body = memberView(member);
  });

  router.delete('/members/:subject', requires('admin'), async (ctx) => {
    const subject = subjectOf(ctx);
    const principal = principalOf(ctx);
    const { tenantId } = principal;
    const deleted = await inTransaction(pool, async (client) => {
      await lockTenantAdmins(client, tenantId);
      await callerStillAdmin(client, principal);
      if (!(await memberMayStopBeingAdmin(client, tenantId, subject, ssoIssuer))) throw lastTenantAdminError('subject');
      return deleteTenantMember(client, tenantId, subject);
    });
    if (!deleted) throw new NotFoundError('member', subject, 'subject');
    ctx.status = 204;
  });

  return router;
}

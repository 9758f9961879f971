import type { Principal } from '../../common/auth/principal';
import { roleAllows } from '../../common/auth/roles';

/** What the caller's role lets it do, as the console shows or hides its controls (routes decide by requires()). */
export interface Capabilities {
  /** Start, stop and cancel jobs and pipelines, trigger schedules (operator). */
  start: boolean;
  /** Upload datasets, edit models, versions, aliases and schedules (editor). */
  edit: boolean;
  /** Decide pipelines awaiting approval, move protected aliases (approver). */
  approve: boolean;
  /** Manage the tenant's API keys and members (admin). */
  admin: boolean;
}

/** GET /api/v1/whoami's answer: the principal (never its secret) and its capabilities. */
export interface WhoamiView {
  id: string;
  tenantId: string;
  role: Principal['role'];
  platformAdmin: boolean;
  keyId?: string;
  subject?: string;
  can: Capabilities;
}

/** The caller as GET /api/v1/whoami and POST /api/v1/session answer it. */
export function whoamiView(principal: Principal): WhoamiView {
  const { role } = principal;
  return {
    id: principal.id,
    tenantId: principal.tenantId,
    role,
    platformAdmin: principal.platformAdmin,
    ...(principal.keyId !== undefined ? { keyId: principal.keyId } : {}),
    ...(principal.subject !== undefined ? { subject: principal.subject } : {}),
    can: {
      start: roleAllows(role, 'operator'),
      edit: roleAllows(role, 'editor'),
      approve: roleAllows(role, 'approver'),
      admin: roleAllows(role, 'admin'),
    },
  };
}

/**
 * A principal's role in its tenant, each allowing what the ones before it do and more:
 * - `viewer`: read everything of the tenant;
 * - `operator`: + start, stop and cancel jobs and pipelines, predict, trigger schedules;
 * - `editor`: + datasets, models, versions, aliases (not protected ones), schedules;
 * - `approver`: + decide pipelines awaiting approval (never one they started), move protected aliases;
 * - `admin`: + API keys and members of the tenant.
 */
export const ROLES = ['viewer', 'operator', 'editor', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** True when `have` allows what `need` does (roles are ordered, each including the ones before it). */
export function roleAllows(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/** Type guard for a role name from outside (a database row, a request body). */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

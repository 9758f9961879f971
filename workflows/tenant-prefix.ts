import { workflowInfo } from '@temporalio/workflow';

/**
 * The tenant prefix of this workflow's own id (`T.` for tenant T, common/job-tenant.ts), for the ids of the child jobs
 * it starts, so that a child is its tenant's job as the parent is. Empty for the default tenant, whose ids carry none:
 * children of default-tenant runs keep the ids they always had, and their histories replay unchanged. (Workflow code
 * cannot import common/job-tenant.ts; the rule is the same: the part up to the first '.'.)
 */
export function tenantPrefix(): string {
  const id = workflowInfo().workflowId;
  return id.includes('.') ? id.slice(0, id.indexOf('.') + 1) : '';
}

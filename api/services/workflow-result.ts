/**
 * The result of a completed job whose kind has no artifact-backed view (a pipeline, or a kind added later): the
 * workflow's own result as it is (small by design: ids and counts, common/jobs.ts), the job's link and, for a
 * pipeline, its report's. So GET /api/v1/jobs/:id/result answers for every kind, never a 500.
 */
export function workflowResultView(jobId: string, kind: string | undefined, result: unknown) {
  return {
    jobId,
    ...(kind !== undefined ? { kind } : {}),
    result: result ?? null,
    links: {
      job: `/api/v1/jobs/${jobId}`,
      ...(kind === 'pipeline' ? { pipeline: `/api/v1/pipelines/${jobId}` } : {}),
    },
  };
}

import { Pool } from 'pg';
import { TrainingJobResult } from '../../common/jobs';
import { getArtifactContent } from '../../db/artifacts';
import { withAllAttempts } from './training-attempts';

/**
 * A completed training job: the summary from history (every activity attempt listed) plus the per-epoch history from
 * its artifact.
 */
export async function trainingResultView(pool: Pool, tenantId: string, jobId: string, summary: TrainingJobResult) {
  const content = await getArtifactContent(pool, tenantId, summary.historyArtifactId);
  if (!content) throw new Error(`job ${jobId}: history artifact ${summary.historyArtifactId} is missing`);
  return {
    jobId,
    // Attempts that failed before their first heartbeat are listed too (they left no record in the summary).
    ...withAllAttempts(summary),
    history: JSON.parse(content.toString('utf8')) as unknown,
    links: {
      job: `/api/v1/jobs/${jobId}`,
      modelArtifact: `/api/v1/artifacts/${summary.modelArtifactId}`,
      ...(summary.registered
        ? { modelVersion: `/api/v1/models/${summary.registered.modelName}/versions/${summary.registered.version}` }
        : {}),
    },
  };
}

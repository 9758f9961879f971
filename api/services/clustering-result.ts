import { Pool } from 'pg';
import type { ClusteringResultDocument } from '../../activities/clustering';
import { ClusteringJobResult } from '../../common/jobs';
import { getArtifactContent } from '../../db/artifacts';
import { CLUSTERING_LIMITS } from '../schemas/clustering';

/**
 * The full result of a completed clustering job: the summary from workflow history plus labels and the algorithm's
 * own outputs (centroids, merge tree, codebook, probabilities...) from the result artifact, and where it ran (`ranOn`,
 * `fellBackToCpu`) as the job summary says. Labels come inline up to CLUSTERING_LIMITS.inlineLabels points; past that,
 * as an artifact link.
 */
export async function clusteringResultView(pool: Pool, tenantId: string, jobId: string, summary: ClusteringJobResult) {
  const content = await getArtifactContent(pool, tenantId, summary.resultArtifactId);
  if (!content) throw new Error(`job ${jobId}: result artifact ${summary.resultArtifactId} is missing`);
  const document = JSON.parse(content.toString('utf8')) as ClusteringResultDocument;
  const inline = document.n <= CLUSTERING_LIMITS.inlineLabels;
  const artifactLink = `/api/v1/artifacts/${summary.resultArtifactId}`;
  return {
    jobId,
    algorithm: summary.algorithm,
    params: document.params,
    datasetId: summary.datasetId,
    // The series version a job that named its dataset by series ran on ({name, version, datasetId, sha256, asOf}).
    ...(summary.dataset ? { dataset: summary.dataset } : {}),
    columns: document.columns,
    ...(document.labelsColumn ? { labelsColumn: document.labelsColumn } : {}),
    n: summary.n,
    d: summary.d,
    ...(summary.k !== undefined ? { k: summary.k } : {}),
    clusters: document.clusters,
    ...(inline
      ? { labels: document.labels }
      : {
          labels: null,
          labelsOmitted: `more than ${CLUSTERING_LIMITS.inlineLabels} points: download ${artifactLink}`,
        }),
    ...document.extras,
    clusterSizes: document.clusterSizes,
    noisePoints: document.noisePoints,
    ...(document.inertia !== undefined ? { inertia: document.inertia } : {}),
    ...(document.iterations !== undefined ? { iterations: document.iterations } : {}),
    ...(document.converged !== undefined ? { converged: document.converged } : {}),
    ...(document.method ? { method: document.method } : {}),
    quality: document.quality,
    backend: summary.backend,
    // Where it ran, as in the job's summary: the pool, queue and device, and whether an `any` job fell back to CPU.
    ranOn: summary.ranOn,
    fellBackToCpu: summary.fellBackToCpu === true,
    timings: summary.timings,
    ...(summary.registered ? { registered: summary.registered } : {}),
    links: {
      job: `/api/v1/jobs/${jobId}`,
      resultArtifact: artifactLink,
      ...(summary.modelArtifactId ? { modelArtifact: `/api/v1/artifacts/${summary.modelArtifactId}` } : {}),
      ...(summary.registered
        ? { modelVersion: `/api/v1/models/${summary.registered.modelName}/versions/${summary.registered.version}` }
        : {}),
    },
  };
}

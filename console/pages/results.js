// What a completed job produced: a clustering's scatter plot with its quality metrics, a training job's loss and
// accuracy (or mean absolute error) curves (live while it trains), final metrics and confusion matrix.
import { html } from 'htm/preact';
import { api } from '../lib/api.js';
import { ClusterScatter, ConfusionMatrix, LineChart, clusterColour } from '../lib/charts.js';
import { ErrorNote, Facts, Json, num } from '../lib/format.js';
import { useData } from '../lib/live.js';

const QUALITY_LABELS = {
  silhouette: 'Silhouette (−1…1, higher is better)',
  daviesBouldin: 'Davies–Bouldin (lower is better)',
  calinskiHarabasz: 'Calinski–Harabasz (higher is better)',
  ari: 'Adjusted Rand index vs. known labels',
  nmi: 'Normalised mutual information vs. known labels',
  excludedNoise: 'Noise points left out of the scores',
};

/** The per-epoch metric charted beside the loss, by task (common/epoch-metrics.ts): training and validation series. */
const EPOCH_METRICS = [
  { chart: 'accuracy', train: 'accuracy', val: 'valAccuracy', label: 'Accuracy', valLabel: 'validation accuracy' },
  { chart: 'mae', train: 'mae', val: 'valMae', label: 'Mean absolute error', valLabel: 'validation MAE' },
];

/** An epoch's value of a metric: in its `metrics` (the stored history, progress events) or beside the loss. */
function epochMetric(epoch, key) {
  const v = epoch.metrics?.[key] ?? epoch[key];
  return typeof v === 'number' ? v : undefined;
}

/** A completed clustering job: the points in 2-D coloured by cluster, centroids marked, noise grey; metrics beside. */
export function ClusteringResult({ job }) {
  const id = encodeURIComponent(job.jobId);
  const done = job.status === 'COMPLETED';
  const { data, error } = useData(
    async () =>
      done ? Promise.all([api(`/api/v1/jobs/${id}/result`), api(`/api/v1/jobs/${id}/projection`)]) : undefined,
    [job.jobId, done],
  );
  if (!done) return null;
  if (error) return html`<${ErrorNote} error=${error} />`;
  if (!data) return html`<p>Loading the result…</p>`;
  const [result, projection] = data;
  const quality = result.quality ?? {};
  const axisLabel = (a) =>
    a.varianceRatio !== undefined ? `${a.label} (${(a.varianceRatio * 100).toFixed(1)} % of variance)` : a.label;
  // Past the API's limit the plot is a sample, drawn per cluster so that each shows in proportion: say so.
  const shown =
    projection.sampled < projection.n
      ? `${num(projection.sampled)} of ${num(projection.n)} points, sampled per cluster,`
      : `All ${num(projection.n)} points`;
  const caption =
    projection.method === 'pca'
      ? `${shown} on the first two principal components of ${projection.d} columns`
      : `${shown} on the clustered columns`;
  return html`<section class="result" aria-labelledby="result-heading">
    <h2 id="result-heading">Result</h2>
    <div class="split">
      <div class="split-main">
        <${ClusterScatter}
          name="scatter"
          caption=${caption}
          x=${projection.points.x}
          y=${projection.points.y}
          label=${projection.points.label}
          centroids=${projection.centroids}
          axes=${projection.axes.map(axisLabel)}
        />
        <p class="muted">
          ${`Centroids (white, outlined): ${projection.centroidSource === 'model' ? "the algorithm's own" : 'the mean of each cluster'}.`}
          ${projection.points.label.some((l) => l < 0) ? ' Noise points in grey.' : ''}
        </p>
      </div>
      <aside class="split-side" aria-label="Quality metrics">
        <h3>Quality</h3>
        <${Facts}
          items=${[
            ['Clusters', result.clusters],
            ['Points', result.n],
            ['Dimensions', result.d],
            ['Noise points', result.noisePoints],
            ['Inertia', result.inertia],
            ['Iterations', result.iterations],
            ['Converged', result.converged === undefined ? undefined : String(result.converged)],
            ...Object.entries(QUALITY_LABELS).map(([k, label]) => [label, quality[k]]),
            ['Backend', result.backend],
          ]}
        />
        <h3>Cluster sizes</h3>
        <ul class="sizes">
          ${(result.clusterSizes ?? []).map(
            (size, c) =>
              html`<li>
                <span class="swatch" style=${`background:${clusterColour(c)}`} aria-hidden="true"></span
                >${`cluster ${c}: ${num(size)}`}
              </li>`,
          )}
        </ul>
      </aside>
    </div>
    <${Json} value=${result} summary="Full result (JSON)" />
  </section>`;
}

/**
 * A training job: loss and validation-loss curves (log scale on request), the task's metric by epoch (accuracy, or
 * mean absolute error) when the epochs carry it (the epochs seen live while it runs, the stored history once it
 * completed), the final metrics and, for classification, the confusion matrix.
 */
export function TrainingResult({ job, epochs }) {
  const id = encodeURIComponent(job.jobId);
  const done = job.status === 'COMPLETED';
  const { data: result, error } = useData(
    async () => (done ? api(`/api/v1/jobs/${id}/result`) : undefined),
    [job.jobId, done],
  );
  const history = Array.isArray(result?.history) && result.history.length ? result.history : epochs;
  const metrics = result?.finalMetrics;
  const span = `${history.length} epoch${history.length === 1 ? '' : 's'}${done ? '' : ', live'}`;
  const x = history.map((e) => e.epoch);
  return html`<section class="result" aria-labelledby="training-heading">
    <h2 id="training-heading">Training</h2>
    ${
      history.length
        ? html`<${LineChart}
            name="loss"
            caption=${`Loss by epoch (${span})`}
            x=${x}
            series=${[
              { label: 'loss', values: history.map((e) => e.loss) },
              ...(history.some((e) => typeof e.valLoss === 'number')
                ? [{ label: 'validation loss', values: history.map((e) => e.valLoss), dash: [6, 4] }]
                : []),
            ]}
            yLabel="loss"
            logToggle=${true}
          />`
        : html`<p class="muted">No epoch finished yet.</p>`
    }
    ${EPOCH_METRICS.filter(({ train }) => history.some((e) => typeof epochMetric(e, train) === 'number')).map(
      ({ chart, train, val, label, valLabel }) =>
        html`<${LineChart}
          name=${chart}
          caption=${`${label} by epoch (${span})`}
          x=${x}
          series=${[
            { label: train, values: history.map((e) => epochMetric(e, train)) },
            ...(history.some((e) => typeof epochMetric(e, val) === 'number')
              ? [{ label: valLabel, values: history.map((e) => epochMetric(e, val)), dash: [6, 4] }]
              : []),
          ]}
          yLabel=${train}
        />`,
    )}
    <${ErrorNote} error=${error} />
    ${
      metrics
        ? html`<div class="split">
            <div class="split-main">
              ${
                metrics.confusionMatrix
                  ? html`<${ConfusionMatrix} matrix=${metrics.confusionMatrix} classes=${metrics.classes} />`
                  : null
              }
            </div>
            <div class="split-side">
              <h3>Final metrics (${metrics.evaluatedOn} set, ${num(metrics.rows)} rows)</h3>
              <${Facts}
                items=${[
                  ['Accuracy', metrics.accuracy],
                  ['Precision (macro)', metrics.precision],
                  ['Recall (macro)', metrics.recall],
                  ['F1 (macro)', metrics.f1],
                  ['MSE', metrics.mse],
                  ['MAE', metrics.mae],
                  ['R²', metrics.r2],
                  ['Epochs run', result.epochsRun],
                  ['Stopped early', result.stoppedEarly ? (result.stoppedBy ?? 'yes') : undefined],
                  ['Backend', result.backend],
                ]}
              />
            </div>
          </div>`
        : null
    }
    ${result ? html`<${Json} value=${result} summary="Full result (JSON)" />` : null}
  </section>`;
}

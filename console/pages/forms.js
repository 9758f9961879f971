// Forms that start jobs: clustering and training on a stored dataset. Both answer with the job's page.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { ErrorNote } from '../lib/format.js';
import { useData } from '../lib/live.js';
import { href, navigate } from '../lib/route.js';
import { useCan } from '../lib/session.js';

/** The API's clustering algorithms (GET /api/v1/algorithms; README: Clustering), in the README's order. */
const ALGORITHMS = [
  ['kmeans', 'k-means'],
  ['minibatch-kmeans', 'mini-batch k-means'],
  ['dbscan', 'DBSCAN (density; finds noise)'],
  ['hierarchical', 'Hierarchical (agglomerative)'],
  ['som', 'Self-organising map (a grid of units)'],
  ['spectral', 'Spectral'],
  ['gmm', 'Gaussian mixture'],
];
/** Algorithms whose result assigns new points (`assignsNewPoints`), so it can be registered as a model version. */
const REGISTRABLE = new Set(['kmeans', 'minibatch-kmeans', 'som', 'gmm']);
const ACTIVATIONS = ['relu', 'tanh', 'sigmoid', 'linear', 'elu', 'selu', 'softplus'];

/** The dataset picker shared by both forms, and the chosen dataset's metadata (columns). */
function useDatasetChoice(initial) {
  const [datasetId, setDatasetId] = useState(initial ?? '');
  const list = useData(() => api('/api/v1/datasets?limit=100'), []);
  const chosen = datasetId || list.data?.datasets[0]?.id || '';
  const meta = useData(async () => (chosen ? api(`/api/v1/datasets/${chosen}`) : undefined), [chosen]);
  const picker = html`<label
    >Dataset
    <select name="datasetId" required value=${chosen} onChange=${(e) => setDatasetId(e.currentTarget.value)}>
      ${(list.data?.datasets ?? []).map(
        (d) => html`<option value=${d.id}>${d.name} (${d.rows} rows × ${d.columns} columns)</option>`,
      )}
    </select>
  </label>`;
  const empty = list.data && list.data.datasets.length === 0;
  return { chosen, meta: meta.data, picker, empty, error: list.error ?? meta.error };
}

function NoDatasets() {
  return html`<p>No datasets yet: <a href=${href('datasets')}>upload one</a> first.</p>`;
}

/** Checkboxes for columns (all checked at first). */
function ColumnChoice({ legend, name, columns, checked }) {
  return html`<fieldset class="columns-choice">
    <legend>${legend}</legend>
    ${columns.map(
      (c) =>
        html`<label class="check"
          ><input type="checkbox" name=${name} value=${c} checked=${checked?.(c) ?? true} />${c}</label
        >`,
    )}
  </fieldset>`;
}

const numberField = (form, name) => {
  const raw = form.elements.namedItem(name)?.value;
  return raw === undefined || raw === '' ? undefined : Number(raw);
};
const checkedValues = (form, name) =>
  [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((input) => input.value);

/**
 * The request's `params` from the form's fields for an algorithm (api/schemas/clustering.ts): the fields
 * AlgorithmParams shows for it; an empty optional field is left out, so the API's default applies.
 */
function paramsOf(algorithm, form) {
  const value = (name) => form.elements.namedItem(name)?.value;
  const defined = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  switch (algorithm) {
    case 'dbscan':
      return { eps: numberField(form, 'eps'), minPoints: numberField(form, 'minPoints'), metric: value('metric') };
    case 'hierarchical':
      return { k: numberField(form, 'k'), linkage: value('linkage') };
    case 'som':
      return defined({
        rows: numberField(form, 'rows'),
        cols: numberField(form, 'cols'),
        iterations: numberField(form, 'iterations'),
        learningRate: numberField(form, 'learningRate'),
        sigma: numberField(form, 'sigma'),
        seed: numberField(form, 'seed'),
      });
    default:
      return { k: numberField(form, 'k'), seed: numberField(form, 'seed') };
  }
}

/** The parameter fields of an algorithm (the required ones, and those a user most often sets). */
function AlgorithmParams({ algorithm }) {
  const seedField = html`<label>Seed <input type="number" name="seed" min="0" step="1" value="0" /></label>`;
  if (algorithm === 'dbscan')
    return html`<div class="row" key="dbscan">
      <label
        >eps (neighbourhood radius) <input type="number" name="eps" step="any" min="0" value="0.5" required
      /></label>
      <label>Min points <input type="number" name="minPoints" min="1" step="1" value="5" required /></label>
      <label
        >Metric
        <select name="metric">
          <option value="euclidean">euclidean</option>
          <option value="cosine">cosine</option>
        </select>
      </label>
    </div>`;
  if (algorithm === 'som')
    // Each unit of the rows × cols grid is a cluster (at most the API's SOM_MAX_UNITS of them).
    return html`<div class="row" key="som">
      <label>Grid rows <input type="number" name="rows" min="1" max="1000" step="1" value="3" required /></label>
      <label>Grid columns <input type="number" name="cols" min="1" max="1000" step="1" value="3" required /></label>
      <label
        >Iterations (epochs) <input type="number" name="iterations" min="1" max="10000" step="1" value="10"
      /></label>
      <label
        >Learning rate <input type="number" name="learningRate" min="0.0001" max="1" step="any" value="0.5"
      /></label>
      <label
        >Neighbourhood radius (sigma, optional)
        <input type="number" name="sigma" min="0.0001" step="any" placeholder="max(rows, cols) / 2"
      /></label>
      ${seedField}
    </div>`;
  return html`<div class="row" key="k">
    <label>Clusters (k) <input type="number" name="k" min="1" step="1" value="3" required /></label>
    ${
      algorithm === 'hierarchical'
        ? html`<label
            >Linkage
            <select name="linkage">
              ${['ward', 'complete', 'average', 'single'].map((l) => html`<option value=${l}>${l}</option>`)}
            </select>
          </label>`
        : seedField
    }
  </div>`;
}

/** The page in place of a start form, for a caller whose role cannot start jobs (the API would answer 403). */
function NeedsOperator({ title }) {
  return html`<section>
    <h1>${title}</h1>
    <p class="muted" id="start-needs-role">Starting jobs needs the operator role.</p>
  </section>`;
}

export function NewClusteringPage({ query }) {
  const can = useCan();
  const { chosen, meta, picker, empty, error } = useDatasetChoice(query.get('dataset'));
  const [algorithm, setAlgorithm] = useState('kmeans');
  const [submitError, setSubmitError] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const numeric = (meta?.columnSpecs ?? []).filter((c) => c.type === 'number').map((c) => c.name);
  const all = (meta?.columnSpecs ?? []).map((c) => c.name);

  const submit = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const labelsColumn = form.elements.namedItem('labelsColumn').value;
    const columns = checkedValues(form, 'columns').filter((c) => c !== labelsColumn);
    const params = paramsOf(algorithm, form);
    const register = form.elements.namedItem('register')?.value.trim();
    setBusy(true);
    setSubmitError(undefined);
    try {
      const job = await api('/api/v1/clustering', {
        method: 'POST',
        body: {
          algorithm,
          params,
          datasetId: chosen,
          ...(columns.length ? { columns } : {}),
          ...(labelsColumn ? { labelsColumn } : {}),
          ...(register && REGISTRABLE.has(algorithm) ? { register: { name: register } } : {}),
        },
      });
      navigate(href('jobs', job.jobId));
    } catch (err) {
      setSubmitError(err);
    } finally {
      setBusy(false);
    }
  };

  if (!can.start) return html`<${NeedsOperator} title="New clustering job" />`;
  return html`<section>
    <h1>New clustering job</h1>
    <${ErrorNote} error=${error} />
    ${
      empty
        ? html`<${NoDatasets} />`
        : html`<form class="card form" id="clustering-form" onSubmit=${submit}>
            ${picker}
            <label
              >Algorithm
              <select name="algorithm" value=${algorithm} onChange=${(e) => setAlgorithm(e.currentTarget.value)}>
                ${ALGORITHMS.map(([value, label]) => html`<option value=${value}>${label}</option>`)}
              </select>
            </label>
            <${AlgorithmParams} algorithm=${algorithm} />
            ${
              numeric.length
                ? html`<${ColumnChoice} legend="Columns to cluster on" name="columns" columns=${numeric} />`
                : null
            }
            <label
              >Known labels (optional: scored with ARI and NMI, not clustered on)
              <select name="labelsColumn">
                <option value="">none</option>
                ${all.map((c) => html`<option value=${c}>${c}</option>`)}
              </select>
            </label>
            ${
              REGISTRABLE.has(algorithm)
                ? html`<label
                    >Register as model (optional)
                    <input
                      type="text"
                      name="register"
                      pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{0,127}"
                      placeholder="e.g. blobs-kmeans"
                    />
                  </label>`
                : null
            }
            <button type="submit" disabled=${busy || !chosen}>${busy ? 'Starting…' : 'Start clustering'}</button>
            <${ErrorNote} error=${submitError} />
          </form>`
    }
  </section>`;
}

export function NewTrainingPage({ query }) {
  const can = useCan();
  const { chosen, meta, picker, empty, error } = useDatasetChoice(query.get('dataset'));
  const [target, setTarget] = useState('');
  const [submitError, setSubmitError] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const specs = meta?.columnSpecs ?? [];
  // The default target: the last text column (a class label), else the last column.
  const defaultTarget =
    [...specs].reverse().find((c) => c.type === 'string')?.name ?? specs[specs.length - 1]?.name ?? '';
  const chosenTarget = specs.some((c) => c.name === target) ? target : defaultTarget;
  const targetSpec = specs.find((c) => c.name === chosenTarget);
  const features = specs.filter((c) => c.type === 'number' && c.name !== chosenTarget).map((c) => c.name);

  const submit = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const units = String(form.elements.namedItem('units').value)
      .split(',')
      .map((s) => Number(s.trim()))
      .filter((n) => Number.isInteger(n) && n > 0);
    const activation = form.elements.namedItem('activation').value;
    const validationSplit = numberField(form, 'validationSplit');
    setBusy(true);
    setSubmitError(undefined);
    try {
      const job = await api('/api/v1/training', {
        method: 'POST',
        body: {
          datasetId: chosen,
          target: chosenTarget,
          features: checkedValues(form, 'features'),
          model: { name: form.elements.namedItem('model').value.trim() },
          spec: {
            task: form.elements.namedItem('task').value,
            layers: (units.length ? units : [16]).map((u) => ({ units: u, activation })),
          },
          training: {
            epochs: numberField(form, 'epochs'),
            batchSize: numberField(form, 'batchSize'),
            learningRate: numberField(form, 'learningRate'),
            ...(validationSplit ? { validationSplit } : {}),
            seed: numberField(form, 'seed'),
          },
        },
      });
      navigate(href('jobs', job.jobId));
    } catch (err) {
      setSubmitError(err);
    } finally {
      setBusy(false);
    }
  };

  if (!can.start) return html`<${NeedsOperator} title="New training job" />`;
  return html`<section>
    <h1>New training job</h1>
    <${ErrorNote} error=${error} />
    ${
      empty
        ? html`<${NoDatasets} />`
        : html`<form class="card form" id="training-form" onSubmit=${submit}>
            ${picker}
            <label
              >Model name (the version is registered under it)
              <input
                type="text"
                name="model"
                required
                pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{0,127}"
                placeholder="e.g. species-mlp"
              />
            </label>
            <div class="row">
              <label
                >Target column
                <select name="target" value=${chosenTarget} onChange=${(e) => setTarget(e.currentTarget.value)}>
                  ${specs.map((c) => html`<option value=${c.name}>${c.name} (${c.type})</option>`)}
                </select>
              </label>
              <label
                >Task
                <select name="task" key=${chosenTarget}>
                  <option value="classification" selected=${targetSpec?.type === 'string'}>classification</option>
                  <option value="regression" selected=${targetSpec?.type === 'number'}>regression</option>
                </select>
              </label>
            </div>
            ${
              features.length
                ? html`<${ColumnChoice}
                    legend="Feature columns"
                    name="features"
                    columns=${features}
                    key=${chosenTarget}
                  />`
                : null
            }
            <div class="row">
              <label>Hidden layer units (comma-separated) <input type="text" name="units" value="16" /></label>
              <label
                >Activation
                <select name="activation">
                  ${ACTIVATIONS.map((a) => html`<option value=${a}>${a}</option>`)}
                </select>
              </label>
            </div>
            <div class="row">
              <label>Epochs <input type="number" name="epochs" min="1" step="1" value="20" required /></label>
              <label>Batch size <input type="number" name="batchSize" min="1" step="1" value="16" required /></label>
              <label
                >Learning rate <input type="number" name="learningRate" min="0" step="any" value="0.05" required
              /></label>
              <label
                >Validation share <input type="number" name="validationSplit" min="0" max="0.5" step="any" value="0.2"
              /></label>
              <label>Seed <input type="number" name="seed" min="0" step="1" value="1" /></label>
            </div>
            <button type="submit" disabled=${busy || !chosen}>${busy ? 'Starting…' : 'Start training'}</button>
            <${ErrorNote} error=${submitError} />
          </form>`
    }
  </section>`;
}

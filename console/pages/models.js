// The model registry: models, one model's versions with their metrics side by side, aliases with their history
// (the audit trail), lineage, moving an alias, and two versions' loss curves overlaid.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { LineChart, PALETTE } from '../lib/charts.js';
import { ErrorNote, LoadingPage, Status, num, time } from '../lib/format.js';
import { ListTable } from '../lib/list.js';
import { useApiData, useData } from '../lib/live.js';
import { href } from '../lib/route.js';
import { useCan } from '../lib/session.js';

export function ModelsPage() {
  const { data, error } = useApiData('/api/v1/models?limit=100');
  return html`<section>
    <h1>Models</h1>
    <${ErrorNote} error=${error} />
    <${ListTable}
      rows=${data?.models}
      empty='No models yet: a training job (or a clustering job with "register") makes one.'
      columns=${[
        { label: 'Model', cell: (m) => html`<a href=${href('models', m.name)}>${m.name}</a>` },
        { label: 'Versions', cell: (m) => m.versionCount },
        { label: 'Latest', cell: (m) => m.latestVersion ?? '—' },
        {
          label: 'Aliases',
          cell: (m) => Object.entries(m.aliases).map(([a, v]) => html`<span class="chip">${a} → v${v}</span> `),
        },
        { label: 'Updated', cell: (m) => time(m.updatedAt) },
      ]}
    />
  </section>`;
}

/** Numeric metrics of a version, nested objects one level down as `outer.inner` (histories and matrices left out). */
function flatMetrics(metrics) {
  const out = {};
  for (const [k, v] of Object.entries(metrics ?? {})) {
    if (typeof v === 'number') out[k] = v;
    else if (v && typeof v === 'object' && !Array.isArray(v))
      for (const [k2, v2] of Object.entries(v)) if (typeof v2 === 'number') out[`${k}.${k2}`] = v2;
  }
  return out;
}

/** Metric columns first, in this order; any others follow alphabetically. */
const METRIC_ORDER = ['loss', 'valLoss', 'accuracy', 'precision', 'recall', 'f1'];

/** Metric names in a stable order: METRIC_ORDER's first, then the rest alphabetically (not as versions list them). */
export function orderMetrics(keys) {
  const rank = (k) => (METRIC_ORDER.includes(k) ? METRIC_ORDER.indexOf(k) : METRIC_ORDER.length);
  return [...keys].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Move (or create) an alias to a version: PUT /models/:name/aliases/:alias. */
function MoveAlias({ name, versions, aliases, onMoved }) {
  const [error, setError] = useState(undefined);
  const [done, setDone] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const alias = form.elements.namedItem('alias').value.trim();
    const version = Number(form.elements.namedItem('version').value);
    setError(undefined);
    try {
      const moved = await api(`/api/v1/models/${encodeURIComponent(name)}/aliases/${encodeURIComponent(alias)}`, {
        method: 'PUT',
        body: { version },
      });
      setDone(
        `${moved.alias} → version ${moved.version}${moved.previousVersion !== undefined ? ` (was ${moved.previousVersion})` : ''}`,
      );
      onMoved();
    } catch (err) {
      setError(err);
    }
  };
  return html`<form class="card form inline" id="alias-form" onSubmit=${submit}>
    <h3>Move an alias</h3>
    <label
      >Alias
      <input
        type="text"
        name="alias"
        required
        list="alias-names"
        placeholder="champion"
        pattern="[a-z][a-z0-9_\\-]{0,63}"
      />
      <datalist id="alias-names">${Object.keys(aliases).map((a) => html`<option value=${a} />`)}</datalist>
    </label>
    <label
      >to version
      <select name="version">
        ${[...versions].reverse().map((v) => html`<option value=${v.version}>${v.version} (${v.status})</option>`)}
      </select>
    </label>
    <button type="submit">Move alias</button>
    ${done ? html`<span role="status" id="alias-moved">Moved: ${done}</span>` : null}
    <${ErrorNote} error=${error} />
  </form>`;
}

/** The loss curves of two versions (from the history each training version keeps with its metrics), overlaid. */
function CompareCurves({ versions }) {
  const trained = versions.filter((v) => Array.isArray(v.metrics?.history) && v.metrics.history.length);
  const [picked, setPicked] = useState(/** @type {number[]} */ ([]));
  if (trained.length === 0) return null;
  const defaults = trained.slice(-2).map((v) => v.version);
  const chosen = (picked.length ? picked : defaults).map((n) => trained.find((v) => v.version === n)).filter(Boolean);
  const epochs = [...new Set(chosen.flatMap((v) => v.metrics.history.map((e) => e.epoch)))].sort((a, b) => a - b);
  const at = (v, key) => epochs.map((ep) => v.metrics.history.find((e) => e.epoch === ep)?.[key] ?? null);
  // Each series its own colour (the legend names them), validation loss dashed as well.
  const series = chosen
    .flatMap((v) => [
      { label: `v${v.version} loss`, values: at(v, 'loss') },
      ...(v.metrics.history.some((e) => typeof e.valLoss === 'number')
        ? [{ label: `v${v.version} validation loss`, values: at(v, 'valLoss'), dash: [6, 4] }]
        : []),
    ])
    .map((s, i) => ({ ...s, colour: PALETTE[i % PALETTE.length] }));
  const select = (slot) =>
    html`<label
      >${slot === 0 ? 'Version' : 'against version'}
      <select
        name=${`compare-${slot}`}
        value=${chosen[slot]?.version}
        onChange=${(e) => {
          const next = [...(picked.length ? picked : defaults)];
          next[slot] = Number(e.currentTarget.value);
          setPicked(next);
        }}
      >
        ${trained.map((v) => html`<option value=${v.version}>${v.version}</option>`)}
      </select>
    </label>`;
  return html`<section aria-labelledby="compare-heading">
    <h2 id="compare-heading">Loss curves</h2>
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      ${select(0)} ${trained.length > 1 ? select(1) : null}
    </form>
    <${LineChart}
      name="compare"
      caption=${`Loss by epoch: ${chosen.map((v) => `v${v.version}`).join(' vs. ')}`}
      x=${epochs}
      series=${series}
      yLabel="loss"
      logToggle=${true}
    />
  </section>`;
}

export function ModelPage({ name }) {
  const can = useCan();
  const path = `/api/v1/models/${encodeURIComponent(name)}`;
  const { data, error, reload } = useData(
    () => Promise.all([api(path), api(`${path}/versions`), api(`${path}/events?limit=500`)]),
    [name],
  );
  if (error || !data) return html`<${LoadingPage} heading=${`Model ${name}`} error=${error} />`;
  const [model, { versions }, { events }] = data;
  const metricKeys = orderMetrics(
    [...new Set(versions.flatMap((v) => Object.keys(flatMetrics(v.metrics))))].filter(
      (k) => !['durationMs', 'rows', 'n', 'd'].includes(k),
    ),
  );
  const aliasEvents = events.filter((e) => e.action === 'alias_set' || e.action === 'alias_deleted').reverse();
  return html`<section>
    <h1>Model ${model.name}</h1>
    ${model.description ? html`<p>${model.description}</p>` : null}
    <h2>Aliases</h2>
    <ul class="chips" id="aliases">
      ${Object.entries(model.aliases).map(([a, v]) => html`<li class="chip" data-alias=${a}>${a} → v${v}</li>`)}
      ${Object.keys(model.aliases).length === 0 ? html`<li class="muted">none</li>` : null}
    </ul>
    ${
      can.edit
        ? html`<${MoveAlias}
            key=${model.name}
            name=${model.name}
            versions=${versions}
            aliases=${model.aliases}
            onMoved=${reload}
          />`
        : null
    }
    <h2>Versions</h2>
    <${ListTable}
      id="versions-table"
      caption="Versions with their metrics side by side"
      hideCaption=${true}
      rows=${versions}
      rowProps=${(v) => ({ 'data-version': v.version })}
      columns=${[
        { label: 'Version', rowHeader: true, cell: (v) => `v${v.version}` },
        { label: 'Status', cell: (v) => html`<${Status} status=${v.status} />` },
        { label: 'Aliases', cell: (v) => v.aliases.map((a) => html`<span class="chip">${a}</span> `) },
        { label: 'Flavor', cell: (v) => v.flavor },
        ...metricKeys.map((k) => ({
          label: k,
          headClass: 'num',
          cellClass: 'num',
          cell: (v) => num(flatMetrics(v.metrics)[k]),
        })),
        {
          label: 'Lineage',
          cellClass: 'lineage',
          cell: (v) =>
            html`${v.datasetId ? html`<a href=${href('datasets', v.datasetId)}>dataset</a> → ` : null}
              <a href=${href('jobs', v.sourceWorkflowId)}>job</a> → v${v.version}
              ${v.aliases.length ? ` → ${v.aliases.join(', ')}` : ''}`,
        },
        { label: 'Registered', cell: (v) => time(v.createdAt) },
      ]}
    />
    <${CompareCurves} key=${model.name} versions=${versions} />
    <h2>Alias history</h2>
    <${ListTable}
      id="alias-history"
      rows=${aliasEvents}
      empty=${html`<p class="muted">No alias has been set yet.</p>`}
      columns=${[
        { label: 'When', cell: (e) => time(e.createdAt) },
        { label: 'Alias', cell: (e) => e.details.alias },
        {
          label: 'Change',
          cell: (e) =>
            e.action === 'alias_deleted'
              ? `removed (was v${e.details.version})`
              : `${e.details.previousVersion !== undefined ? `v${e.details.previousVersion}` : 'new'} → v${e.details.version}`,
        },
        { label: 'By', cell: (e) => e.actor },
      ]}
    />
  </section>`;
}

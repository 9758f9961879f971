// The model registry: models, one model's versions with their metrics side by side, aliases with their history
// (the audit trail), lineage, moving an alias, and two versions' loss curves overlaid.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { LineChart, PALETTE } from '../lib/charts.js';
import { ErrorNote, Status, num, time } from '../lib/format.js';
import { useData } from '../lib/live.js';
import { href } from '../lib/route.js';
import { useCan } from '../lib/session.js';

export function ModelsPage() {
  const { data, error } = useData(() => api('/api/v1/models?limit=100'), []);
  return html`<section>
    <h1>Models</h1>
    <${ErrorNote} error=${error} />
    ${data?.models.length === 0 ? html`<p>No models yet: a training job (or a clustering job with "register") makes one.</p>` : null}
    ${
      data?.models.length
        ? html`<div class="table-wrap">
            <table class="list">
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Versions</th>
                  <th scope="col">Latest</th>
                  <th scope="col">Aliases</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                ${data.models.map(
                  (m) =>
                    html`<tr>
                      <td><a href=${href('models', m.name)}>${m.name}</a></td>
                      <td>${m.versionCount}</td>
                      <td>${m.latestVersion ?? '—'}</td>
                      <td>
                        ${Object.entries(m.aliases).map(([a, v]) => html`<span class="chip">${a} → v${v}</span> `)}
                      </td>
                      <td>${time(m.updatedAt)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
        : null
    }
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
  if (error)
    return html`<section>
      <h1>Model ${name}</h1>
      <${ErrorNote} error=${error} />
    </section>`;
  if (!data)
    return html`<section>
      <h1>Model ${name}</h1>
      <p>Loading…</p>
    </section>`;
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
    <div class="table-wrap">
      <table class="list" id="versions-table">
        <caption class="visually-hidden">
          Versions with their metrics side by side
        </caption>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Status</th>
            <th scope="col">Aliases</th>
            <th scope="col">Flavor</th>
            ${metricKeys.map((k) => html`<th scope="col" class="num">${k}</th>`)}
            <th scope="col">Lineage</th>
            <th scope="col">Registered</th>
          </tr>
        </thead>
        <tbody>
          ${versions.map((v) => {
            const m = flatMetrics(v.metrics);
            return html`<tr data-version=${v.version}>
              <th scope="row">v${v.version}</th>
              <td><${Status} status=${v.status} /></td>
              <td>${v.aliases.map((a) => html`<span class="chip">${a}</span> `)}</td>
              <td>${v.flavor}</td>
              ${metricKeys.map((k) => html`<td class="num">${num(m[k])}</td>`)}
              <td class="lineage">
                ${v.datasetId ? html`<a href=${href('datasets', v.datasetId)}>dataset</a> → ` : null}
                <a href=${href('jobs', v.sourceWorkflowId)}>job</a> → v${v.version}
                ${v.aliases.length ? ` → ${v.aliases.join(', ')}` : ''}
              </td>
              <td>${time(v.createdAt)}</td>
            </tr>`;
          })}
        </tbody>
      </table>
    </div>
    <${CompareCurves} key=${model.name} versions=${versions} />
    <h2>Alias history</h2>
    ${
      aliasEvents.length === 0
        ? html`<p class="muted">No alias has been set yet.</p>`
        : html`<div class="table-wrap">
            <table class="list" id="alias-history">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Alias</th>
                  <th scope="col">Change</th>
                  <th scope="col">By</th>
                </tr>
              </thead>
              <tbody>
                ${aliasEvents.map(
                  (e) =>
                    html`<tr>
                      <td>${time(e.createdAt)}</td>
                      <td>${e.details.alias}</td>
                      <td>
                        ${
                          e.action === 'alias_deleted'
                            ? `removed (was v${e.details.version})`
                            : `${e.details.previousVersion !== undefined ? `v${e.details.previousVersion}` : 'new'} → v${e.details.version}`
                        }
                      </td>
                      <td>${e.actor}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
    }
  </section>`;
}

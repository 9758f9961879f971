// Datasets: upload a CSV, the list, and one dataset's schema with per-column statistics and histograms.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { Histogram } from '../lib/charts.js';
import { ErrorNote, Facts, LoadingPage, num, time } from '../lib/format.js';
import { ListTable } from '../lib/list.js';
import { useApiData, useData } from '../lib/live.js';
import { href, navigate } from '../lib/route.js';
import { useCan } from '../lib/session.js';

/** Upload a CSV file (header row first) as a dataset, optionally as the newest version of a named series. */
function UploadForm() {
  const [error, setError] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const file = form.elements.namedItem('file').files?.[0];
    const name = form.elements.namedItem('name').value.trim();
    if (!file) {
      setError({ message: 'choose a CSV file first' });
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const dataset = await api(`/api/v1/datasets${name ? `?name=${encodeURIComponent(name)}` : ''}`, {
        method: 'POST',
        raw: file,
        contentType: 'text/csv',
      });
      navigate(href('datasets', dataset.id));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="card form" id="upload-form" onSubmit=${submit}>
    <h2>Upload a CSV</h2>
    <p class="muted">
      A header row, then one row per record. Number columns stay numbers; other columns are strings, used as categories.
    </p>
    <label>CSV file <input type="file" name="file" accept=".csv,text/csv" required /></label>
    <label>Series name (optional) <input type="text" name="name" maxlength="200" placeholder="e.g. readings" /></label>
    <button type="submit" disabled=${busy}>${busy ? 'Uploading…' : 'Upload'}</button>
    <${ErrorNote} error=${error} />
  </form>`;
}

export function DatasetsPage() {
  const can = useCan();
  const { data, error } = useApiData('/api/v1/datasets?limit=100');
  return html`<section>
    <h1>Datasets</h1>
    ${can.edit ? html`<${UploadForm} />` : html`<p class="muted" id="upload-needs-role">Uploading needs the editor role.</p>`}
    <h2>Recent datasets</h2>
    <${ErrorNote} error=${error} />
    <${ListTable}
      rows=${data?.datasets}
      empty="No datasets yet."
      columns=${[
        { label: 'Name', cell: (d) => html`<a href=${href('datasets', d.id)}>${d.name}</a>` },
        { label: 'Rows', cell: (d) => num(d.rows) },
        { label: 'Columns', cell: (d) => d.columns },
        { label: 'Format', cell: (d) => d.sourceFormat },
        { label: 'Uploaded', cell: (d) => time(d.createdAt) },
      ]}
    />
  </section>`;
}

/**
 * One column's card: its type in the API's words (as the schema table says it), its statistics and a histogram
 * (numbers) or its most frequent levels (strings).
 */
function ColumnCard({ column }) {
  const numeric = column.type === 'number';
  const q = Object.fromEntries((column.quantiles ?? []).map((x) => [x.q, x.value]));
  return html`<article class="card column" data-column=${column.column}>
    <h3>${column.column} <span class="muted" data-type=${column.type}>${column.type}</span></h3>
    <${Facts}
      items=${
        numeric
          ? [
              ['Count', column.count],
              ['Missing', column.missing],
              ['Distinct', column.distinct],
              ['Mean', column.mean],
              ['Std', column.std],
              ['Min', column.min],
              ['Median', q[0.5]],
              ['Max', column.max],
            ]
          : [
              ['Count', column.count],
              ['Missing', column.missing],
              ['Distinct', column.distinct],
            ]
      }
    />
    ${
      numeric && column.histogram?.counts.length
        ? html`<${Histogram}
            name=${`histogram-${column.column}`}
            caption=${`Histogram of ${column.column}`}
            edges=${column.histogram.edges}
            counts=${column.histogram.counts}
          />`
        : null
    }
    ${
      !numeric
        ? html`<ul class="levels" aria-label=${`Most frequent levels of ${column.column}`}>
            ${column.levels.map((l) => {
              const share = column.count ? l.count / column.count : 0;
              return html`<li>
                <span class="level-name">${l.level}</span>
                <span class="level-bar" style=${`width:${Math.max(2, share * 100)}%`} aria-hidden="true"></span>
                <span class="level-count">${num(l.count)}</span>
              </li>`;
            })}
            ${column.otherLevels ? html`<li class="muted">other levels: ${num(column.otherLevels)} rows</li>` : null}
          </ul>`
        : null
    }
  </article>`;
}

export function DatasetPage({ datasetId }) {
  const can = useCan();
  const id = encodeURIComponent(datasetId);
  const { data, error } = useData(
    () => Promise.all([api(`/api/v1/datasets/${id}`), api(`/api/v1/datasets/${id}/summary`)]),
    [datasetId],
  );
  if (error || !data) return html`<${LoadingPage} heading="Dataset" error=${error} />`;
  const [meta, summary] = data;
  return html`<section>
    <h1>Dataset ${meta.name}</h1>
    <div class="actions">
      ${
        can.start
          ? html`<a class="button" href=${href('new-clustering', { dataset: meta.id })}>Cluster it</a>
              <a class="button" href=${href('new-training', { dataset: meta.id })}>Train on it</a>`
          : null
      }
      <a href=${meta.links.self}>API (JSON)</a>
    </div>
    <${Facts}
      items=${[
        ['Id', html`<code>${meta.id}</code>`],
        ['Rows', meta.rows],
        ['Columns', meta.columns],
        ['Format', meta.sourceFormat],
        ['Size', `${num(meta.sizeBytes)} bytes`],
        ['sha256', html`<code class="hash">${meta.sha256}</code>`],
        ['Uploaded', time(meta.createdAt)],
      ]}
    />
    <h2>Schema</h2>
    <${ListTable}
      id="schema-table"
      rows=${meta.columnSpecs}
      columns=${[
        { label: 'Column', cell: (c) => c.name },
        { label: 'Type', cell: (c) => c.type, cellProps: (c) => ({ 'data-type': c.type }) },
        { label: 'Levels', cell: (c) => c.levels ?? '' },
      ]}
    />
    <h2>Columns</h2>
    <div class="cards">${summary.columns.map((c) => html`<${ColumnCard} column=${c} />`)}</div>
  </section>`;
}

// Jobs: the filterable list with live status and progress, and one job's page (live progress, parameters, result,
// links, cancel and stop).
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import {
  ErrorNote,
  Facts,
  Json,
  LIVE_STATUSES,
  LoadingPage,
  ProgressBar,
  Status,
  progressFraction,
  progressLabel,
  time,
} from '../lib/format.js';
import { ListTable } from '../lib/list.js';
import { useData, useJobWatch } from '../lib/live.js';
import { href, navigate } from '../lib/route.js';
import { useCan } from '../lib/session.js';
import { ClusteringResult, TrainingResult } from './results.js';

const KINDS = ['clustering', 'training', 'batch-predict', 'pipeline'];
const STATUSES = ['RUNNING', 'AWAITING_APPROVAL', 'COMPLETED', 'FAILED', 'CANCELED', 'TERMINATED', 'TIMED_OUT'];
/** Running jobs whose progress the list reads (one request each, per refresh). */
const PROGRESS_READS = 10;
const LIST_REFRESH_MS = 2000;

/** The console page of a job: pipelines have their own. */
export function jobHref(job) {
  return job.kind === 'pipeline' ? href('pipelines', job.jobId) : href('jobs', job.jobId);
}

function duration(start, end) {
  if (!start) return '—';
  const ms = (end ? new Date(end) : new Date()).getTime() - new Date(start).getTime();
  if (!(ms >= 0)) return '—';
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}

/** The jobs list, filtered by kind and status (kept in the URL), refreshed every 2 s with running jobs' progress. */
export function JobsPage({ query }) {
  const can = useCan();
  const kind = query.get('kind') ?? '';
  const status = query.get('status') ?? '';
  const { data, error } = useData(
    async () => {
      const params = new URLSearchParams({ limit: '100', ...(kind ? { kind } : {}), ...(status ? { status } : {}) });
      const { jobs } = await api(`/api/v1/jobs?${params}`);
      const running = jobs.filter((j) => LIVE_STATUSES.has(j.status)).slice(0, PROGRESS_READS);
      const views = await Promise.all(
        running.map((j) => api(`/api/v1/jobs/${encodeURIComponent(j.jobId)}`).catch(() => undefined)),
      );
      const progress = new Map(views.filter(Boolean).map((v) => [v.jobId, v]));
      return jobs.map((j) => ({ ...j, view: progress.get(j.jobId) }));
    },
    [kind, status],
    { intervalMs: LIST_REFRESH_MS, keepPolling: () => true },
  );
  const setFilter = (key, value) => navigate(href('jobs', { kind, status, [key]: value }));
  return html`<section>
    <h1>Jobs</h1>
    <form class="filters" onSubmit=${(e) => e.preventDefault()}>
      <label
        >Kind
        <select name="kind" value=${kind} onChange=${(e) => setFilter('kind', e.currentTarget.value)}>
          <option value="">any</option>
          ${KINDS.map((k) => html`<option value=${k}>${k}</option>`)}
        </select>
      </label>
      <label
        >Status
        <select name="status" value=${status} onChange=${(e) => setFilter('status', e.currentTarget.value)}>
          <option value="">any</option>
          ${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select>
      </label>
      ${
        can.start
          ? html`<a class="button" href=${href('new-clustering')}>New clustering job</a>
              <a class="button" href=${href('new-training')}>New training job</a>`
          : null
      }
    </form>
    <${ErrorNote} error=${error} />
    ${data === undefined && !error ? html`<p>Loading…</p>` : null}
    <${ListTable}
      id="jobs-table"
      caption="Recent jobs, newest first"
      hideCaption=${true}
      rows=${data}
      empty=${`No jobs${kind || status ? ' match these filters' : ' yet'}.`}
      rowProps=${(j) => ({ 'data-job': j.jobId })}
      columns=${[
        { label: 'Job', cell: (j) => html`<a href=${jobHref(j)}><code>${j.jobId}</code></a>` },
        { label: 'Kind', cell: (j) => j.kind ?? '—' },
        { label: 'Detail', cell: (j) => [j.algorithm, j.modelName, j.stage].filter(Boolean).join(' · ') },
        { label: 'Status', cell: (j) => html`<${Status} status=${j.status} />` },
        {
          label: 'Progress',
          cell: (j) =>
            LIVE_STATUSES.has(j.status)
              ? html`<${ProgressBar}
                  fraction=${progressFraction(j.view?.progress, j.view?.memo)}
                  label=${progressLabel(j.view?.progress)}
                />`
              : '',
        },
        { label: 'Started', cell: (j) => time(j.startTime) },
        { label: 'Took', cell: (j) => duration(j.startTime, j.closeTime) },
      ]}
    />
  </section>`;
}

/** A button that asks to be pressed twice (no blocking dialog), for cancel and stop. */
function ConfirmButton({ label, confirmLabel, onConfirm, disabled, id }) {
  const [armed, setArmed] = useState(false);
  if (!armed)
    return html`<button type="button" id=${id} disabled=${disabled} onClick=${() => setArmed(true)}>${label}</button>`;
  return html`<span class="confirm">
    <button
      type="button"
      class="danger"
      id=${`${id}-confirm`}
      onClick=${() => {
        setArmed(false);
        onConfirm();
      }}
    >
      ${confirmLabel}
    </button>
    <button type="button" onClick=${() => setArmed(false)}>Keep running</button>
  </span>`;
}

/** One job: live status and progress, its parameters, links, result, and cancel / stop while it runs. */
export function JobPage({ jobId }) {
  const can = useCan();
  const { job, error, epochs, live, reload } = useJobWatch(jobId);
  const [actionError, setActionError] = useState(undefined);
  const [note, setNote] = useState('');
  const act = async (action) => {
    setActionError(undefined);
    try {
      const res = await api(`/api/v1/jobs/${encodeURIComponent(jobId)}/${action}`, { method: 'POST' });
      setNote(`${res.status.replaceAll('_', ' ').toLowerCase()}`);
      reload();
    } catch (err) {
      setActionError(err);
    }
  };
  if (!job) return html`<${LoadingPage} heading=${html`Job <code>${jobId}</code>`} error=${error} />`;
  const memo = job.memo ?? {};
  const running = LIVE_STATUSES.has(job.status);
  const datasetId = memo.dataset?.id ?? job.result?.datasetId;
  const registered = job.result?.registered;
  return html`<section class="job" data-kind=${job.kind}>
    <h1>${job.kind ?? 'Job'} <code class="id">${jobId}</code></h1>
    <div class="status-line">
      <${Status} status=${job.status} />
      ${
        running
          ? html`<${ProgressBar}
              id="job-progress"
              fraction=${progressFraction(job.progress, memo)}
              label=${progressLabel(job.progress)}
            />`
          : null
      }
      <span class="muted" data-live=${live}
        >${live === 'events' ? 'live (event stream)' : live === 'polling' ? 'live (polling)' : ''}</span
      >
    </div>
    <div class="actions">
      ${
        running && can.start
          ? html`<${ConfirmButton}
              id="cancel-job"
              label="Cancel job"
              confirmLabel="Yes, cancel it"
              onConfirm=${() => act('cancel')}
            />`
          : null
      }
      ${
        running && can.start && job.kind === 'training'
          ? html`<${ConfirmButton}
              id="stop-job"
              label="Stop after this epoch"
              confirmLabel="Yes, stop and register"
              onConfirm=${() => act('stop')}
            />`
          : null
      }
      ${note ? html`<span role="status">${note}</span>` : null}
    </div>
    <${ErrorNote} error=${actionError ?? error} />
    <nav class="links" aria-label="Related">
      ${datasetId ? html`<a href=${href('datasets', datasetId)}>Dataset ${memo.dataset?.name ?? ''}</a>` : null}
      ${memo.dataset && !datasetId ? html`<span>Dataset series ${memo.dataset.name} v${memo.dataset.version}</span>` : null}
      ${
        registered
          ? html`<a href=${href('models', registered.modelName)}
              >Model ${registered.modelName} version ${registered.version}</a
            >`
          : null
      }
      ${job.scheduleId ? html`<a href=${href('schedules', job.scheduleId)}>Schedule ${job.scheduleId}</a>` : null}
      ${job.links?.temporalUi ? html`<a href=${job.links.temporalUi} target="_blank" rel="noopener">Temporal UI</a>` : null}
      <a href=${job.links?.self ?? `/api/v1/jobs/${jobId}`}>API (JSON)</a>
    </nav>
    <${Facts}
      items=${[
        ['Started', time(job.startTime)],
        ['Ended', job.closeTime ? time(job.closeTime) : undefined],
        ['Task queue', job.taskQueue],
        ['Compute queue', memo.resources?.computeQueue],
      ]}
    />
    ${job.error ? html`<${ErrorNote} error=${job.error} />` : null}
    <h2>Parameters</h2>
    <${Parameters} job=${job} />
    ${
      job.kind === 'training'
        ? html`<${TrainingResult} job=${job} epochs=${epochs} />`
        : job.kind === 'clustering' || (job.kind === undefined && job.result?.resultArtifactId)
          ? html`<${ClusteringResult} job=${job} />`
          : job.kind === 'pipeline'
            ? html`<p><a href=${href('pipelines', jobId)}>Open the pipeline page</a></p>`
            : job.result
              ? html`<h2>Result</h2>
                  <${Json} value=${job.result} summary="Result" />`
              : null
    }
  </section>`;
}

function Parameters({ job }) {
  const memo = job.memo ?? {};
  if (job.kind === 'clustering')
    return html`<${Facts}
      items=${[
        ['Algorithm', memo.algorithm],
        ...Object.entries(memo.params ?? {}).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : v]),
        ['Columns', memo.dataset?.columns],
        ['Register as', memo.register],
      ]}
    />`;
  if (job.kind === 'training')
    return html`<${Facts}
      items=${[
        ['Model', memo.model],
        ['Task', memo.task],
        ['Target', memo.target],
        ['Features', memo.features],
        ['Epochs', memo.epochs],
      ]}
    />`;
  return html`<${Json} value=${memo} summary="Job memo" />`;
}

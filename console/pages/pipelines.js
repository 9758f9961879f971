// Validation pipelines: the list, and one pipeline's stage graph, validation report (checks, drift per feature),
// evaluation and gate results, and approve / reject while it waits for a reviewer.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { ErrorNote, Facts, Json, LIVE_STATUSES, LoadingPage, Status, num, time } from '../lib/format.js';
import { ListTable } from '../lib/list.js';
import { useApiData, useData } from '../lib/live.js';
import { href } from '../lib/route.js';
import { useCan } from '../lib/session.js';

const FULL_STAGES = [
  'validating',
  'training',
  'evaluating',
  'gating',
  'awaiting-approval',
  'registering',
  'promoting',
  'completed',
];
const VALIDATION_STAGES = ['validating', 'completed'];
/** Where a completed pipeline stopped, by outcome (the stages after it did not run). */
const STOPPED_AT = { FAILED_VALIDATION: 'validating', GATE_FAILED: 'gating', REJECTED: 'awaiting-approval' };

export function PipelinesPage() {
  const { data, error } = useApiData('/api/v1/jobs?kind=pipeline&limit=100', {
    intervalMs: 2000,
    keepPolling: () => true,
  });
  return html`<section>
    <h1>Pipelines</h1>
    <p class="muted">
      Start one with <code>POST /api/v1/pipelines/validation</code> or <code>/api/v1/pipelines/full</code> (README:
      Validation pipelines; <a href="/docs">API docs</a>).
    </p>
    <${ErrorNote} error=${error} />
    <${ListTable}
      id="pipelines-table"
      rows=${data?.jobs}
      empty="No pipelines yet."
      columns=${[
        { label: 'Pipeline', cell: (p) => html`<a href=${href('pipelines', p.jobId)}><code>${p.jobId}</code></a>` },
        { label: 'Stage', cell: (p) => p.stage ?? '' },
        { label: 'Status', cell: (p) => html`<${Status} status=${p.status} />` },
        { label: 'Started', cell: (p) => time(p.startTime) },
      ]}
    />
  </section>`;
}

/** Each stage's state: done, active, failed, skipped or pending. */
function stageStates(pipeline) {
  const stages = pipeline.kind === 'validation' ? VALIDATION_STAGES : FULL_STAGES;
  const live = LIVE_STATUSES.has(pipeline.status);
  const stoppedAt = STOPPED_AT[pipeline.status];
  const failedRun = ['FAILED', 'CANCELED', 'TERMINATED', 'TIMED_OUT'].includes(pipeline.status);
  const current = live || failedRun ? pipeline.stage : (stoppedAt ?? 'completed');
  const at = stages.indexOf(current);
  return stages.map((stage, i) => {
    let state = i < at ? 'done' : i === at ? (live ? 'active' : stoppedAt || failedRun ? 'failed' : 'done') : 'pending';
    // A run without a reviewer never waits: the approval stage is skipped once it is past.
    if (stage === 'awaiting-approval' && state === 'done' && !pipeline.decision) state = 'skipped';
    if (!live && i > at) state = 'skipped';
    return { stage, state };
  });
}

function StageGraph({ pipeline }) {
  return html`<ol class="stages" aria-label="Pipeline stages">
    ${stageStates(pipeline).map(
      ({ stage, state }) =>
        html`<li class=${`stage stage-${state}`} data-stage=${stage} data-state=${state}>
          <span class="stage-name">${stage}</span><span class="stage-state">${state}</span>
        </li>`,
    )}
  </ol>`;
}

function Decide({ pipelineId, onDecided }) {
  const [error, setError] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const decide = async (decision, form) => {
    setBusy(true);
    setError(undefined);
    try {
      const comment = form.elements.namedItem('comment').value.trim();
      await api(`/api/v1/pipelines/${encodeURIComponent(pipelineId)}/decision`, {
        method: 'POST',
        body: { decision, ...(comment ? { comment } : {}) },
      });
      onDecided();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="card form decide" id="decision-form" onSubmit=${(e) => e.preventDefault()}>
    <h2>Waiting for a reviewer</h2>
    <p>The candidate passed the gate. Approve to register and promote it, or reject it.</p>
    <label>Comment (optional) <input type="text" name="comment" maxlength="500" /></label>
    <div class="actions">
      <button type="button" id="approve" disabled=${busy} onClick=${(e) => decide('approve', e.currentTarget.form)}>
        Approve
      </button>
      <button
        type="button"
        id="reject"
        class="danger"
        disabled=${busy}
        onClick=${(e) => decide('reject', e.currentTarget.form)}
      >
        Reject
      </button>
    </div>
    ${busy ? html`<p role="status">Sending the decision…</p>` : null}
    <${ErrorNote} error=${error} />
  </form>`;
}

function DriftTable({ drift }) {
  if (!drift?.length) return html`<p class="muted">No reference dataset: no drift computed.</p>`;
  const maxPsi = Math.max(0.25, ...drift.map((d) => d.psi));
  return html`<${ListTable}
    id="drift-table"
    caption=${'Drift per feature against the reference (PSI bands: none < 0.1 ≤ moderate < 0.25 ≤ major)'}
    rows=${drift}
    rowProps=${(d) => ({ 'data-feature': d.column, class: d.drifted ? 'drifted' : '' })}
    columns=${[
      { label: 'Feature', rowHeader: true, cell: (d) => d.column },
      { label: 'Type', cell: (d) => d.type },
      {
        label: 'PSI',
        cellClass: 'num',
        cell: (d) =>
          html`<span
              class="psi-bar"
              style=${`width:${Math.min(100, (d.psi / maxPsi) * 100)}%`}
              aria-hidden="true"
            ></span>
            ${num(d.psi)}`,
      },
      { label: 'Band', cell: (d) => d.band },
      { label: 'p-value', cellClass: 'num', cell: (d) => num(d.ks?.pValue ?? d.chi2?.pValue) },
      { label: 'Drifted', cell: (d) => (d.drifted ? 'yes' : 'no') },
    ]}
  />`;
}

function Evaluation({ evaluation }) {
  const gate = evaluation.gate;
  return html`<section aria-labelledby="evaluation-heading">
    <h2 id="evaluation-heading">Evaluation on the holdout (${num(evaluation.holdoutRows)} rows)</h2>
    <${ListTable}
      id="metrics-table"
      rows=${evaluation.metrics}
      columns=${[
        { label: 'Metric', rowHeader: true, cell: (m) => m.metric },
        { label: 'Candidate', headClass: 'num', cellClass: 'num', cell: (m) => num(m.candidate) },
        {
          label: `Champion${evaluation.champion ? ` (${evaluation.champion.alias} v${evaluation.champion.version})` : ''}`,
          headClass: 'num',
          cellClass: 'num',
          cell: (m) => num(m.champion),
        },
      ]}
    />
    ${
      gate
        ? html`<h3>Gate: ${gate.passed ? 'passed' : 'failed'}</h3>
            ${gate.reason ? html`<p>${gate.reason}</p>` : null}
            <ul class="gate" id="gate-results">
              ${gate.results.map(
                (r) =>
                  html`<li class=${r.passed ? 'ok' : 'bad'}>
                    <strong>${r.passed ? '✓' : '✗'} ${r.metric}</strong> ${num(r.value)}
                    ${r.threshold ? ` (threshold ${num(r.threshold.value)})` : ''}
                    ${r.delta !== null ? ` · Δ vs. champion ${num(r.delta)}` : ''}
                    ${r.reason ? html`<span class="muted"> · ${r.reason}</span>` : ''}
                  </li>`,
              )}
            </ul>`
        : null
    }
  </section>`;
}

export function PipelinePage({ pipelineId }) {
  const can = useCan();
  const id = encodeURIComponent(pipelineId);
  const {
    data: pipeline,
    error,
    reload,
  } = useApiData(`/api/v1/pipelines/${id}`, { keepPolling: (p) => p === undefined || LIVE_STATUSES.has(p.status) });
  // The report exists once validation finished (409 before): read again whenever the stage changes.
  const report = useData(
    () =>
      api(`/api/v1/pipelines/${id}/report`).catch((err) =>
        err.code === 'report_not_ready' ? undefined : Promise.reject(err),
      ),
    [pipelineId, pipeline?.stage, pipeline?.status],
  );
  if (!pipeline) return html`<${LoadingPage} heading="Pipeline" error=${error} />`;
  const r = report.data;
  const failedChecks = (r?.report.checks ?? []).filter((c) => !c.passed);
  return html`<section>
    <h1>Pipeline <code class="id">${pipelineId}</code></h1>
    <div class="status-line">
      <${Status} status=${pipeline.status} /> <span class="muted">stage ${pipeline.stage}</span>
    </div>
    <${StageGraph} pipeline=${pipeline} />
    ${
      pipeline.status === 'AWAITING_APPROVAL'
        ? can.approve
          ? html`<${Decide} pipelineId=${pipelineId} onDecided=${reload} />`
          : html`<p class="muted" id="decision-needs-role">
              Waiting for a reviewer: deciding needs the approver role.
            </p>`
        : null
    }
    <${ErrorNote} error=${pipeline.error ?? error} />
    <nav class="links" aria-label="Related">
      ${pipeline.trainingJobId ? html`<a href=${href('jobs', pipeline.trainingJobId)}>Training job</a>` : null}
      ${pipeline.clusteringJobId ? html`<a href=${href('jobs', pipeline.clusteringJobId)}>Clustering job</a>` : null}
      ${
        pipeline.registered
          ? html`<a href=${href('models', pipeline.registered.modelName)}
              >Model ${pipeline.registered.modelName} v${pipeline.registered.version}</a
            >`
          : null
      }
      ${pipeline.links?.temporalUi ? html`<a href=${pipeline.links.temporalUi} target="_blank" rel="noopener">Temporal UI</a>` : null}
      <a href=${pipeline.links.self}>API (JSON)</a>
    </nav>
    <${Facts}
      items=${[
        ['Kind', pipeline.kind],
        ['Model', pipeline.model?.name],
        ['Started', time(pipeline.startTime)],
        ['Ended', pipeline.closeTime ? time(pipeline.closeTime) : undefined],
        [
          'Decision',
          pipeline.decision
            ? `${pipeline.decision.decision}${pipeline.decision.comment ? `: ${pipeline.decision.comment}` : ''}`
            : undefined,
        ],
        ['Promoted', pipeline.promotion ? `${pipeline.promotion.alias} → v${pipeline.promotion.version}` : undefined],
      ]}
    />
    <${ErrorNote} error=${report.error} />
    ${
      r
        ? html`<section aria-labelledby="report-heading">
            <h2 id="report-heading">Validation report: ${r.passed ? 'passed' : 'failed'}</h2>
            <${Facts}
              items=${[
                ['Rows', r.report.summary.rows],
                ['Columns', r.report.summary.columns],
                ['Checks passed', `${r.report.summary.passed} of ${r.report.summary.total}`],
                ['Errors', r.report.summary.errors],
                ['Warnings', r.report.summary.warnings],
                [
                  'Drifted features',
                  `${r.report.summary.driftedFeatures.length} of ${r.report.summary.comparedFeatures}`,
                ],
              ]}
            />
            ${
              failedChecks.length
                ? html`<h3>Checks that failed</h3>
                    <ul class="checks">
                      ${failedChecks.map(
                        (c) =>
                          html`<li class=${c.severity === 'error' ? 'bad' : 'warn'}>
                            <strong>${c.severity}</strong>
                            ${` ${c.name}${c.column ? ` (${c.column})` : ''}: observed ${JSON.stringify(c.observed)}, expected ${JSON.stringify(c.expected)}`}
                          </li>`,
                      )}
                    </ul>`
                : null
            }
            <${DriftTable} drift=${r.report.drift} />
            ${r.evaluation ? html`<${Evaluation} evaluation=${r.evaluation} />` : null}
          </section>`
        : html`<p class="muted">The validation report appears once the validating stage finishes.</p>`
    }
    <${Json} value=${pipeline} summary="Pipeline (JSON)" />
  </section>`;
}

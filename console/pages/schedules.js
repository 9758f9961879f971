// Schedules: the list with next fire times, and one schedule's next runs, recent runs, counts, pause / trigger.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { ErrorNote, Facts, Json, LoadingPage, Status, time } from '../lib/format.js';
import { ListTable } from '../lib/list.js';
import { useApiData } from '../lib/live.js';
import { href } from '../lib/route.js';
import { useCan } from '../lib/session.js';
import { jobHref } from './jobs.js';

export function SchedulesPage() {
  const { data, error } = useApiData('/api/v1/schedules?limit=100', { intervalMs: 5000, keepPolling: () => true });
  return html`<section>
    <h1>Schedules</h1>
    <p class="muted">
      Create one with <code>POST /api/v1/schedules</code> (README: Schedules; <a href="/docs">API docs</a>).
    </p>
    <${ErrorNote} error=${error} />
    <${ListTable}
      id="schedules-table"
      rows=${data?.schedules}
      empty="No schedules yet."
      columns=${[
        { label: 'Schedule', cell: (s) => html`<a href=${href('schedules', s.scheduleId)}>${s.scheduleId}</a>` },
        { label: 'Runs', cell: (s) => `${s.kind}${s.model ? ` → ${s.model}` : ''}` },
        {
          label: 'State',
          cell: (s) => (s.paused ? html`<span class="badge badge-neutral">PAUSED</span> ${s.note}` : 'active'),
        },
        { label: 'Next run', cell: (s) => time(s.nextFireTimes[0]?.utc) },
        {
          label: 'Last run',
          cell: (s) =>
            s.lastRun ? html`<a href=${href('jobs', s.lastRun.jobId)}><code>${s.lastRun.jobId}</code></a>` : '—',
        },
      ]}
    />
  </section>`;
}

export function SchedulePage({ scheduleId }) {
  const can = useCan();
  const path = `/api/v1/schedules/${encodeURIComponent(scheduleId)}`;
  const { data: s, error, reload } = useApiData(path, { intervalMs: 3000, keepPolling: () => true });
  const [actionError, setActionError] = useState(undefined);
  const [note, setNote] = useState('');
  const act = async (action, body) => {
    setActionError(undefined);
    try {
      const res = await api(`${path}/${action}`, { method: 'POST', body });
      setNote(action === 'trigger' ? `started ${res.jobId ?? 'a run'}` : `${action}d`);
      reload();
    } catch (err) {
      setActionError(err);
    }
  };
  if (!s) return html`<${LoadingPage} heading=${`Schedule ${scheduleId}`} error=${error} />`;
  return html`<section>
    <h1>Schedule ${s.scheduleId}</h1>
    <form class="actions" onSubmit=${(e) => e.preventDefault()} hidden=${!can.edit && !can.start}>
      ${
        !can.edit
          ? null
          : s.paused
            ? html`<button type="button" id="unpause" onClick=${() => act('unpause')}>Resume</button>`
            : html`<label>Note <input type="text" name="note" maxlength="200" placeholder="why (optional)" /></label>
                <button
                  type="button"
                  id="pause"
                  onClick=${(e) => {
                    const text = e.currentTarget.form.elements.namedItem('note').value.trim();
                    void act('pause', text ? { note: text } : undefined);
                  }}
                >
                  Pause
                </button>`
      }
      ${can.start ? html`<button type="button" id="trigger" onClick=${() => act('trigger')}>Run now</button>` : null}
      ${note ? html`<span role="status">${note}</span>` : null}
    </form>
    <${ErrorNote} error=${actionError} />
    <${Facts}
      items=${[
        ['Runs', `${s.action.kind}${s.action.model ? ` → model ${s.action.model}` : ''}`],
        ['State', s.paused ? `paused${s.note ? `: ${s.note}` : ''}` : 'active'],
        ['Time zone', s.timezone],
        ['Overlap', s.policy?.overlap],
        ['Catch-up window', s.policy?.catchupWindow],
        ['Runs so far', s.counts?.runs],
        ['Skipped (overlap)', s.counts?.skippedByOverlap],
        ['Missed (catch-up window)', s.counts?.missedCatchupWindow],
        ['Remaining runs', s.remainingRuns],
        ['Created', time(s.createdAt)],
      ]}
    />
    <div class="split">
      <div class="split-side">
        <h2>Next runs</h2>
        <ol class="plain" id="next-runs">
          ${(s.nextFireTimes ?? []).map((t) => html`<li><time datetime=${t.utc}>${t.local}</time></li>`)}
        </ol>
      </div>
      <div class="split-main">
        <h2>Recent runs</h2>
        <${ListTable}
          id="recent-runs"
          rows=${s.recentRuns ?? []}
          empty=${html`<p class="muted">None yet.</p>`}
          columns=${[
            {
              label: 'Job',
              cell: (r) =>
                html`<a
                  href=${jobHref({ jobId: r.jobId, kind: s.action.kind.startsWith('pipeline') ? 'pipeline' : s.action.kind })}
                  ><code>${r.jobId}</code></a
                >`,
            },
            { label: 'Scheduled for', cell: (r) => time(r.scheduledTime) },
            { label: 'Status', cell: (r) => html`<${Status} status=${r.status} />` },
          ]}
        />
      </div>
    </div>
    <${Json} value=${s} summary="Schedule (JSON)" />
  </section>`;
}

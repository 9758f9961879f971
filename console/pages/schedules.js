// Schedules: the list with next fire times, and one schedule's next runs, recent runs, counts, pause / trigger.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { ErrorNote, Facts, Json, Status, time } from '../lib/format.js';
import { useData } from '../lib/live.js';
import { href } from '../lib/route.js';
import { useCan } from '../lib/session.js';
import { jobHref } from './jobs.js';

export function SchedulesPage() {
  const { data, error } = useData(() => api('/api/v1/schedules?limit=100'), [], {
    intervalMs: 5000,
    keepPolling: () => true,
  });
  return html`<section>
    <h1>Schedules</h1>
    <p class="muted">
      Create one with <code>POST /api/v1/schedules</code> (README: Schedules; <a href="/docs">API docs</a>).
    </p>
    <${ErrorNote} error=${error} />
    ${data?.schedules.length === 0 ? html`<p>No schedules yet.</p>` : null}
    ${
      data?.schedules.length
        ? html`<div class="table-wrap">
            <table class="list" id="schedules-table">
              <thead>
                <tr>
                  <th scope="col">Schedule</th>
                  <th scope="col">Runs</th>
                  <th scope="col">State</th>
                  <th scope="col">Next run</th>
                  <th scope="col">Last run</th>
                </tr>
              </thead>
              <tbody>
                ${data.schedules.map(
                  (s) =>
                    html`<tr>
                      <td><a href=${href('schedules', s.scheduleId)}>${s.scheduleId}</a></td>
                      <td>${s.kind}${s.model ? ` → ${s.model}` : ''}</td>
                      <td>${s.paused ? html`<span class="badge badge-neutral">PAUSED</span> ${s.note}` : 'active'}</td>
                      <td>${time(s.nextFireTimes[0]?.utc)}</td>
                      <td>
                        ${s.lastRun ? html`<a href=${href('jobs', s.lastRun.jobId)}><code>${s.lastRun.jobId}</code></a>` : '—'}
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
        : null
    }
  </section>`;
}

export function SchedulePage({ scheduleId }) {
  const can = useCan();
  const path = `/api/v1/schedules/${encodeURIComponent(scheduleId)}`;
  const {
    data: s,
    error,
    reload,
  } = useData(() => api(path), [scheduleId], { intervalMs: 3000, keepPolling: () => true });
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
  if (!s)
    return html`<section>
      <h1>Schedule ${scheduleId}</h1>
      ${error ? html`<${ErrorNote} error=${error} />` : html`<p>Loading…</p>`}
    </section>`;
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
        ${
          (s.recentRuns ?? []).length === 0
            ? html`<p class="muted">None yet.</p>`
            : html`<div class="table-wrap">
                <table class="list" id="recent-runs">
                  <thead>
                    <tr>
                      <th scope="col">Job</th>
                      <th scope="col">Scheduled for</th>
                      <th scope="col">Status</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${s.recentRuns.map(
                      (r) =>
                        html`<tr>
                          <td>
                            <a
                              href=${jobHref({ jobId: r.jobId, kind: s.action.kind.startsWith('pipeline') ? 'pipeline' : s.action.kind })}
                              ><code>${r.jobId}</code></a
                            >
                          </td>
                          <td>${time(r.scheduledTime)}</td>
                          <td><${Status} status=${r.status} /></td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
              </div>`
        }
      </div>
    </div>
    <${Json} value=${s} summary="Schedule (JSON)" />
  </section>`;
}

// Small display helpers shared by the pages.
import { html } from 'htm/preact';

/** Statuses in which a job (or pipeline) may still change. */
export const LIVE_STATUSES = new Set(['RUNNING', 'AWAITING_APPROVAL']);

/**
 * A number for people: integers as they are (with separators), others to 4 significant digits.
 * @param {unknown} v
 */
export function num(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return v === undefined || v === null ? '—' : String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

/**
 * An ISO time in the reader's local time, to the second.
 * @param {string | undefined} iso
 */
export function time(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { hour12: false });
}

/** A job or pipeline status as a coloured badge (colour is never the only cue: the word is there). */
export function Status({ status }) {
  const s = String(status ?? 'UNKNOWN');
  const tone = LIVE_STATUSES.has(s)
    ? 'live'
    : ['COMPLETED', 'PASSED', 'PROMOTED', 'READY'].includes(s)
      ? 'ok'
      : ['FAILED', 'FAILED_VALIDATION', 'GATE_FAILED', 'REJECTED', 'TERMINATED', 'TIMED_OUT'].includes(s)
        ? 'bad'
        : 'neutral';
  return html`<span class=${`badge badge-${tone}`} data-status=${s}>${s.replaceAll('_', ' ')}</span>`;
}

/**
 * How far a running job is, from its last progress report: epochs of training, points or merges done, iterations
 * against the configured maximum; undefined when the report gives no measure (the bar is then indeterminate).
 * @param {Record<string, any> | undefined} progress
 * @param {Record<string, any> | undefined} memo
 * @returns {number | undefined} in [0, 1]
 */
export function progressFraction(progress, memo) {
  if (!progress) return undefined;
  const pairs = [
    [progress.epoch, progress.epochs],
    [progress.done, progress.total],
    [progress.merges, progress.totalMerges],
    [progress.iteration, progress.maxIterations ?? memo?.params?.maxIterations],
  ];
  for (const [done, total] of pairs) {
    if (typeof done === 'number' && typeof total === 'number' && total > 0)
      return Math.min(1, Math.max(0, done / total));
  }
  return undefined;
}

/** A progress bar with a text label (a native <progress>, so assistive technology reads it). */
export function ProgressBar({ fraction, label, id }) {
  const text =
    fraction === undefined ? (label ?? 'working…') : `${Math.round(fraction * 100)} %${label ? ` · ${label}` : ''}`;
  return html`<span class="progress" data-fraction=${fraction ?? ''}>
    <progress id=${id} max="1" value=${fraction} aria-label=${text}></progress>
    <span class="progress-text">${text}</span>
  </span>`;
}

/**
 * A short description of what a progress report says: the one current phase (an event's `phase`, which is newer than
 * the job view's `stage`, else the stage), a wait, the epoch and loss, the iteration.
 */
export function progressLabel(progress) {
  if (!progress) return '';
  const parts = [];
  const phase = progress.phase ?? progress.stage;
  if (phase) parts.push(phase);
  if (progress.state === 'waiting-for-worker' || progress.state === 'waiting-for-gpu') parts.push(progress.state);
  if (progress.epoch !== undefined && progress.epochs !== undefined)
    parts.push(`epoch ${progress.epoch}/${progress.epochs}`);
  if (typeof progress.loss === 'number') parts.push(`loss ${num(progress.loss)}`);
  if (progress.iteration !== undefined) parts.push(`iteration ${progress.iteration}`);
  return parts.join(' · ');
}

/** An error box, for a failed request or a failed job. */
export function ErrorNote({ error }) {
  if (!error) return null;
  const message = error.message ?? String(error);
  return html`<p class="error" role="alert">${error.code ? html`<code>${error.code}</code> ` : ''}${message}</p>`;
}

/**
 * An item's page before its data came: its heading over the error that kept the data away, else "Loading…".
 * @param {{ heading: unknown, error?: unknown }} props
 */
export function LoadingPage({ heading, error }) {
  return html`<section>
    <h1>${heading}</h1>
    ${error ? html`<${ErrorNote} error=${error} />` : html`<p>Loading…</p>`}
  </section>`;
}

/** A key–value list. */
export function Facts({ items }) {
  return html`<dl class="facts">
    ${items
      .filter(([, v]) => v !== undefined && v !== null && v !== '')
      .map(
        ([k, v]) =>
          html`<div>
            <dt>${k}</dt>
            <dd>${typeof v === 'number' ? num(v) : v}</dd>
          </div>`,
      )}
  </dl>`;
}

/** Pretty JSON, folded. */
export function Json({ value, summary = 'JSON' }) {
  return html`<details class="json">
    <summary>${summary}</summary>
    <pre>${JSON.stringify(value, null, 2)}</pre>
  </details>`;
}

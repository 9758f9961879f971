// Data that changes while the page is open: periodic reads, and a job's live view (its event stream when the API
// has one, polling otherwise). Neither reloads the page.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, eventSourceUrl } from './api.js';
import { LIVE_STATUSES } from './format.js';

/** How often a page re-reads what it shows while something on it runs. */
export const POLL_MS = 1000;

/**
 * Loads `load()` now, and again every `intervalMs` while `keepPolling(data)` says so (never, by default), or when
 * `reload()` is called. Answers { data, error, loading, reload }.
 * @template T
 * @param {() => Promise<T>} load
 * @param {unknown[]} deps
 * @param {{ intervalMs?: number, keepPolling?: (data: T | undefined) => boolean }} [options]
 */
export function useData(load, deps, options = {}) {
  const { intervalMs = POLL_MS, keepPolling = () => false } = options;
  const [state, setState] = useState(/** @type {{data?: T, error?: any, loading: boolean}} */ ({ loading: true }));
  const [tick, setTick] = useState(0);
  const keep = useRef(keepPolling);
  keep.current = keepPolling;
  useEffect(() => {
    let alive = true;
    let timer;
    const run = async () => {
      try {
        const data = await load();
        if (!alive) return;
        setState({ data, loading: false });
        if (keep.current(data)) timer = setTimeout(run, intervalMs);
      } catch (error) {
        if (!alive) return;
        setState((s) => ({ ...s, error, loading: false }));
        if (keep.current(undefined)) timer = setTimeout(run, intervalMs * 3);
      }
    };
    void run();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
    // The caller names what the load depends on (deps), as with useEffect.
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/**
 * GET `path` from the API with useData: read again when the path changes, and every `intervalMs` while
 * `keepPolling(data)` says so. Answers useData's { data, error, loading, reload }; `data` is the parsed JSON body.
 * @param {string} path  an absolute API path with its query, such as /api/v1/models?limit=100
 * @param {{ intervalMs?: number, keepPolling?: (data: any) => boolean }} [options]
 */
export function useApiData(path, options) {
  return useData(() => api(path), [path], options);
}

/**
 * A job's progress after a progress event: the event's fields over the last view's. The view names what the job does
 * as `stage` (`starting` until the activity's first heartbeat), an event as `phase`; the event's is the newer, so the
 * view's stage goes, else a page would show "starting · epoch 1/12 · … · training".
 * @param {Record<string, any> | undefined} progress
 * @param {Record<string, any>} data
 */
export function mergeProgress(progress, data) {
  const { stage, phase, ...rest } = progress ?? {};
  const current = data.phase !== undefined || data.stage !== undefined ? {} : { stage, phase };
  return { ...rest, ...current, ...data };
}

/**
 * A job's view kept current while it runs, with the training epochs seen so far.
 *
 * Live updates come from the job's event stream (GET /api/v1/jobs/:id/events, Server-Sent Events) when the API
 * serves one: progress events move the bar and extend the loss curve at once, status and end events re-read the job.
 * Where there is no stream (an API without it answers 404, and EventSource gives up), the view is polled every
 * POLL_MS and each poll's epoch joins the curve.
 *
 * @param {string} jobId
 * @returns {{ job?: any, error?: any, epochs: Array<{epoch: number, loss?: number, valLoss?: number, metrics?: Record<string, number>}>, live: 'events' | 'polling' | 'idle', reload: () => void }}
 */
export function useJobWatch(jobId) {
  const [job, setJob] = useState(/** @type {any} */ (undefined));
  const [error, setError] = useState(/** @type {any} */ (undefined));
  const [epochs, setEpochs] = useState(/** @type {Map<number, any>} */ (new Map()));
  const [live, setLive] = useState(/** @type {'events' | 'polling' | 'idle'} */ ('idle'));
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let alive = true;
    let timer;
    /** @type {EventSource | undefined} */
    let source;
    const addEpoch = (p) => {
      if (typeof p?.epoch !== 'number' || typeof p.loss !== 'number') return;
      const epoch = { epoch: p.epoch, loss: p.loss, valLoss: p.valLoss, metrics: p.metrics };
      setEpochs((m) => new Map(m).set(p.epoch, epoch));
    };
    const read = async () => {
      const view = await api(`/api/v1/jobs/${encodeURIComponent(jobId)}`);
      if (!alive) return view;
      setJob(view);
      setError(undefined);
      addEpoch(view.progress);
      return view;
    };
    const poll = async () => {
      try {
        const view = await read();
        if (alive && LIVE_STATUSES.has(view.status)) timer = setTimeout(poll, POLL_MS);
        else setLive('idle');
      } catch (err) {
        if (!alive) return;
        setError(err);
        timer = setTimeout(poll, POLL_MS * 3);
      }
    };
    const stream = () => {
      if (typeof EventSource === 'undefined') return false;
      source = new EventSource(eventSourceUrl(`/api/v1/jobs/${encodeURIComponent(jobId)}/events`));
      source.onopen = () => {
        setLive('events');
      };
      source.onerror = () => {
        // Closed before it ever opened: no stream here (404) — poll instead. After it opened, EventSource reconnects
        // by itself with Last-Event-ID, unless the stream ended (the server closes it after `end`) or the reconnect
        // was refused (a 401/403: EventSource gives up) — polling then shows the refusal as any request's.
        if (source?.readyState === EventSource.CLOSED) {
          source = undefined;
          setLive('polling');
          void poll();
        }
      };
      const onProgress = (e) => {
        const event = JSON.parse(e.data);
        addEpoch(event.data);
        setJob((j) => (j ? { ...j, progress: mergeProgress(j.progress, event.data) } : j));
      };
      source.addEventListener('progress', onProgress);
      for (const type of ['status', 'stage', 'gate', 'resumed', 'warning'])
        source.addEventListener(type, () => void read().catch(setError));
      // The API ends a stream whose credentials stopped authenticating (a revoked key, an ended session, a disabled
      // tenant) with `unauthorized` {status, code, message}: stop rather than reconnect, and re-read the job so that
      // the refusal shows as any request's (401: the sign-in form, through api()'s onUnauthorized; 403: the error).
      source.addEventListener('unauthorized', () => {
        source?.close();
        source = undefined;
        setLive('idle');
        void read().catch(setError);
      });
      source.addEventListener('end', () => {
        source?.close();
        source = undefined;
        setLive('idle');
        void read().catch(setError);
      });
      return true;
    };

    setEpochs(new Map());
    void read()
      .then((view) => {
        if (!alive || !LIVE_STATUSES.has(view.status)) return;
        if (!stream()) {
          setLive('polling');
          timer = setTimeout(poll, POLL_MS);
        }
      })
      .catch((err) => alive && setError(err));
    return () => {
      alive = false;
      clearTimeout(timer);
      source?.close();
    };
  }, [jobId, tick]);

  const sorted = [...epochs.values()].sort((a, b) => a.epoch - b.epoch);
  return { job, error, epochs: sorted, live, reload: () => setTick((t) => t + 1) };
}

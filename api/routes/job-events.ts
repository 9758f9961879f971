import { once } from 'node:events';
import Router from '@koa/router';
import { EventBuffer, Session } from 'better-sse';
import type { Context, Next } from 'koa';
import { z } from 'zod';
import { BusyError, NotFoundError, ValidationError } from '../../common/errors';
import type { JobEvent } from '../../common/job-events';
import { rootLogger } from '../../common/logger';
import { ApiDeps } from '../context';
import type { RequestLogState } from '../middleware/request-id';
import { parseWith } from '../schemas/validate';
import { jobHasEvents, jobSeries, parseSeriesKeys } from '../services/epoch-series';
import { EVENT_PAGE, Subscription } from '../services/job-event-hub';
import { isJobId } from '../services/jobs';
import { tenantOfJobId } from '../../common/job-tenant';
import { principalOf, requires } from '../auth/access';
import { watchCredentials } from '../auth/credential-watch';

/** Default milliseconds between keep-alive comments on an event stream (proxies drop connections idle for longer). */
export const SSE_KEEP_ALIVE_MS = 15_000;
/** Milliseconds an EventSource waits before reconnecting (the `retry:` field sent first). */
const SSE_RETRY_MS = 2000;

/**
 * Bytes a stream may have waiting for a client that does not read; past them the stream ends (the client reconnects
 * with its Last-Event-ID and misses nothing) instead of the API holding a backlog in memory.
 */
const MAX_UNREAD_BYTES = 1024 * 1024;

/**
 * The last message of a stream whose credentials stopped authenticating (api/auth/credential-watch.ts): its data is
 * `{status, code, message}` as the 401/403 a new request would get. It carries no id (the client's Last-Event-ID stays
 * at the last job event); the stream closes after it and a reconnect is refused with that status.
 */
export const SSE_UNAUTHORIZED_EVENT = 'unauthorized';

/** Seconds a client refused for the stream cap is told to wait (Retry-After). */
export const SSE_RETRY_AFTER_SECONDS = 5;

/** A seq: a non-negative integer, written in decimal digits only (no sign, no exponent, no fraction). */
const SEQ = /^(0|[1-9][0-9]{0,14})$/;

const seq = (name: string) =>
  z.string().regex(SEQ, `${name} must be a non-negative integer (an event's seq)`).transform(Number);

const pageQuery = z.object({
  after: seq('after').optional(),
  // Decimal digits only: z.coerce.number() took `0x10` as 16 and `1e3` as 1000.
  limit: z
    .string()
    .regex(/^[0-9]{1,9}$/, 'limit must be a whole number of events, in decimal digits')
    .transform(Number)
    .pipe(z.number().int().min(1).max(EVENT_PAGE))
    .default(EVENT_PAGE),
});

/** Where a reconnecting client resumes: the Last-Event-ID header, else `?lastEventId=`; 0 (from the start) without. */
function lastEventIdOf(ctx: Context): number {
  const header = ctx.get('Last-Event-ID');
  const [raw, field] = header !== '' ? [header, 'Last-Event-ID'] : [ctx.query.lastEventId, 'query.lastEventId'];
  if (raw === undefined || raw === '') return 0;
  if (typeof raw !== 'string' || !SEQ.test(raw.trim()))
    throw new ValidationError(`${field} must be a non-negative integer (an event's seq)`, field);
  return Number(raw.trim());
}

/** The JSON form answers `?after=`, and a client that prefers JSON to an event stream. */
function wantsJson(ctx: Context): boolean {
  return ctx.query.after !== undefined || ctx.accepts('text/event-stream', 'application/json') === 'application/json';
}

// The frames of a batch of events, written to every stream the hub hands the same batch: serialised once however many
// streams carry it, and one write per stream.
const frames = new WeakMap<readonly JobEvent[], EventBuffer>();
function framesOf(events: readonly JobEvent[]): EventBuffer {
  let buffer = frames.get(events);
  if (!buffer) {
    buffer = new EventBuffer();
    for (const event of events) buffer.push(event, event.type, String(event.seq));
    frames.set(events, buffer);
  }
  return buffer;
}

/**
 * GET /api/v1/jobs/:jobId/events (README: Live job events) as Server-Sent Events, or as JSON pages, and
 * GET /api/v1/jobs/:jobId/metrics, the per-epoch series from the same log.
 */
export function jobEventsRouter(deps: ApiDeps): Router {
  const router = new Router();
  // Streams open in this process (the router is built once per app): each holds a socket and up to MAX_UNREAD_BYTES.
  let streams = 0;

  // Before any query, after authentication (a router.param would run before requires): an id that cannot be a job
  // (a NUL byte, which Postgres refuses in text) is a 404, as GET /jobs/:id answers it.
  const jobIdChecked = async (ctx: Context, next: Next) => {
    if (!isJobId(ctx.params.jobId!)) throw new NotFoundError('job', ctx.params.jobId!, 'jobId');
    await next();
  };
  // The job's id names its tenant (common/job-tenant.ts): another tenant's job is a 404 like an unknown one, before the
  // event log (keyed by job id alone) or Temporal is asked anything (after requires(): the caller must be known).
  const ownJobId = (ctx: Context): string => {
    const { jobId } = ctx.params;
    if (tenantOfJobId(jobId!) !== principalOf(ctx).tenantId) throw new NotFoundError('job', jobId!, 'jobId');
    return jobId!;
  };

  router.get('/jobs/:jobId/events', requires('viewer'), jobIdChecked, async (ctx) => {
    const jobId = ownJobId(ctx);
    if (wantsJson(ctx)) {
      const { after, limit } = parseWith(pageQuery, ctx.query, 'query');
      ctx.body = await deps.events.page(jobId, after ?? 0, limit);
      return;
    }
    const cursor = lastEventIdOf(ctx);
    // Everything that can fail with a status fails before the stream's headers: 404, and 503 with Postgres down.
    const state = await deps.events.open(jobId);
    if (ctx.method === 'HEAD') {
      // The stream's headers and no stream: a HEAD is no client, and would otherwise wait for the job to end.
      ctx.status = 200;
      ctx.type = 'text/event-stream';
      ctx.set('Cache-Control', 'no-cache');
      return;
    }
    if (state === 'ended') {
      const endSeq = await deps.events.endSeq(jobId);
      if (endSeq !== undefined && cursor >= endSeq) {
        // The client has had the whole log (its Last-Event-ID is at or past `end`): nothing will come. 204 is what
        // tells an EventSource to stop reconnecting (a closed 200 stream would have it come back every retry).
        ctx.status = 204;
        return;
      }
    }
    if (streams >= deps.maxSseClients) {
      throw new BusyError(
        `this API process serves ${streams} event streams, its limit (KILN_MAX_SSE_CLIENTS); reconnect later`,
        SSE_RETRY_AFTER_SECONDS,
      );
    }
    // Counted from the check (no await between) until the response closes, whether the stream opens or fails first.
    streams++;
    ctx.res.once('close', () => streams--);
    await deps.events.listen();

    ctx.status = 200;
    ctx.respond = false;
    const session = new Session(ctx.req, ctx.res, {
      keepAlive: deps.sseKeepAliveMs ?? SSE_KEEP_ALIVE_MS,
      retry: SSE_RETRY_MS,
      // The cursor is read (and validated) above.
      trustClientEventId: false,
      headers: { 'X-Accel-Buffering': 'no' },
    });
    await once(session, 'connected');
    deps.metrics.sseClients.inc();
    const log = (ctx.state as Partial<RequestLogState>).log ?? deps.log ?? rootLogger();
    // A keep-alive due in the instant between our end() and the close would write after the end: an 'error' on the
    // response, which must not go unhandled.
    ctx.res.on('error', (err) => log.debug({ err, jobId }, 'job event stream write after close'));

    let subscription: Subscription | undefined;
    let finished = false;
    // The stream ends after the terminal event (or when the API shuts down, or its credentials stop authenticating);
    // the client's EventSource sees it close.
    const finish = () => {
      if (finished) return;
      finished = true;
      watch.stop();
      subscription?.close();
      if (!ctx.res.writableEnded) ctx.res.end();
    };
    // The credentials were checked when the stream opened; they are checked again while it stays open.
    const watch = watchCredentials(ctx, 'viewer', {
      ...(deps.sseRecheckMs !== undefined ? { intervalMs: deps.sseRecheckMs } : {}),
      log,
      onRefused: (refusal) => {
        if (finished) return;
        log.info({ jobId, code: refusal.code }, 'job event stream ended: its credentials no longer authenticate');
        // No id field (session.push would write a random one): the client's Last-Event-ID stays a seq.
        if (session.isConnected)
          void session.batch(new EventBuffer().event(SSE_UNAUTHORIZED_EVENT).data(refusal).dispatch());
        finish();
      },
    });
    session.once('disconnected', () => {
      deps.metrics.sseClients.dec();
      finish();
    });
    // `end` is the log's last event: a batch holding it ends with it.
    const send = (events: JobEvent[]) => {
      if (finished || !session.isConnected || events.length === 0) return;
      void session.batch(framesOf(events));
      deps.metrics.sseEventsSent.inc(events.length);
      if (events[events.length - 1].type === 'end' || ctx.res.writableLength > MAX_UNREAD_BYTES) finish();
    };

    // The headers are out: a failure from here on can only end the stream (the client reconnects with its cursor).
    try {
      if (state === 'expired') {
        // Temporal no longer keeps the job and its log has no end: replay what there is, then close.
        for (let after = cursor; !finished;) {
          const page = await deps.events.page(jobId, after, EVENT_PAGE);
          send(page.events);
          after = page.next;
          if (page.events.length < EVENT_PAGE) break;
        }
        finish();
        return;
      }
      subscription = await deps.events.subscribe(jobId, cursor, send, { watch: state === 'live', onHubClose: finish });
      if (finished) subscription.close();
    } catch (err) {
      log.warn({ err, jobId }, 'job event stream failed');
      finish();
    }
  });

  router.get('/jobs/:jobId/metrics', requires('viewer'), jobIdChecked, async (ctx) => {
    const keys = parseSeriesKeys(ctx.query.keys);
    const jobId = ownJobId(ctx);
    // A job with events exists; one without is asked of Temporal (404 for an unknown id).
    if (!(await jobHasEvents(deps.pool, jobId))) await deps.jobs.describeOr404(principalOf(ctx).tenantId, jobId);
    ctx.body = { jobId, series: await jobSeries(deps.pool, jobId, keys) };
  });

  return router;
}

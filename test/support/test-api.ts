import { AddressInfo } from 'node:net';
import { Server } from 'node:http';
import { createApp } from '../../api/app';
import { ApiDeps } from '../../api/context';
import { createApiMetrics } from '../../api/metrics';
import { JobEventHub } from '../../api/services/job-event-hub';
import { JobService } from '../../api/services/jobs';
import { BodyLimits } from '../../common/body-limits';
import { loadConfig } from '../../common/config';
import type { BudgetSizes } from '../../common/rate-limit-budgets';
import { TelemetryLimits } from '../../common/telemetry-limits';
import { DatasetLimits } from '../../datasets/limits';
import { createTestKey } from './auth';
import { TestStack } from './test-stack';

export interface TestApi {
  baseUrl: string;
  /** A platform-admin key (role admin) of tenant 'default': what request() sends unless told otherwise. */
  key: string;
  /**
   * An approver key of tenant 'default', another principal than `key`: what decides pipelines `key` started (an
   * approver never decides their own run).
   */
  reviewerKey?: string;
  close(): Promise<void>;
}

/**
 * The real Koa app on a free loopback port, wired to the test stack's Temporal and Postgres (or any pool and client
 * given in their place: a stopped Postgres, an unreachable Temporal), with the default configuration (an empty
 * environment) except for `limits`, body limits and `settings` (telemetry limits among them).
 */
export async function startTestApi(
  stack: Pick<TestStack, 'pool'> & { env: Pick<TestStack['env'], 'client' | 'namespace'> },
  limits: Partial<DatasetLimits> = {},
  bodyLimits: Partial<BodyLimits> = {},
  settings: Partial<
    Pick<
      ApiDeps,
      | 'gpuFallbackSeconds'
      | 'localComputeMaxCells'
      | 'browser'
      | 'log'
      | 'sseKeepAliveMs'
      | 'sseRecheckMs'
      | 'predictBatching'
      | 'maxSseClients'
      | 'sso'
      | 'proxy'
    >
  > & {
    telemetryLimits?: Partial<TelemetryLimits>;
    /** Budgets to use instead of the defaults (small ones, for the rate-limit tests). */
    rateLimits?: Partial<BudgetSizes>;
  } = {},
): Promise<TestApi> {
  const defaults = loadConfig({}).api;
  const jobs = new JobService(stack.env.client);
  const events = new JobEventHub(stack.pool, jobs, settings.log);
  const app = createApp({
    pool: stack.pool,
    temporal: stack.env.client,
    jobs,
    events,
    metrics: createApiMetrics(),
    limits: { ...defaults.limits, ...limits },
    bodyLimits: { ...defaults.bodyLimits, ...bodyLimits },
    telemetryLimits: { ...defaults.telemetryLimits, ...settings.telemetryLimits },
    namespace: stack.env.namespace ?? 'default',
    gpuFallbackSeconds: settings.gpuFallbackSeconds ?? defaults.gpuFallbackSeconds,
    localComputeMaxCells: settings.localComputeMaxCells ?? defaults.localComputeMaxCells,
    maxSseClients: settings.maxSseClients ?? defaults.maxSseClients,
    browser: settings.browser ?? defaults.browser,
    predictBatching: settings.predictBatching ?? defaults.predictBatching,
    rateLimits: { ...defaults.rateLimits, ...settings.rateLimits },
    ...(settings.log ? { log: settings.log } : {}),
    ...(settings.sseKeepAliveMs !== undefined ? { sseKeepAliveMs: settings.sseKeepAliveMs } : {}),
    ...(settings.sseRecheckMs !== undefined ? { sseRecheckMs: settings.sseRecheckMs } : {}),
    ...(settings.sso ? { sso: settings.sso } : {}),
    proxy: settings.proxy ?? defaults.proxy,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  const key = await createTestKey(stack.pool, { tenantId: 'default', role: 'admin', platformAdmin: true });
  const reviewerKey = await createTestKey(stack.pool, { tenantId: 'default', role: 'approver', name: 'test-reviewer' });
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    key,
    reviewerKey,
    // Event streams end first: the server closes once its connections have.
    close: () => events.close().then(() => new Promise((resolve) => server.close(() => resolve()))),
  };
}

export interface JsonResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/**
 * The headers a test request sends: `headers` with `Authorization: Bearer <api.key>` added unless they carry
 * credentials (`authorization` or `x-api-key`, any case). An empty `authorization: ''` sends no credentials at all.
 */
export function withAuth(api: Pick<TestApi, 'key'>, headers: Record<string, string> = {}): Record<string, string> {
  const names = Object.keys(headers).map((name) => name.toLowerCase());
  if (names.includes('authorization') || names.includes('x-api-key')) {
    const credential = (name: string) => ['authorization', 'x-api-key'].includes(name.toLowerCase());
    return Object.fromEntries(Object.entries(headers).filter(([name, value]) => !(credential(name) && value === '')));
  }
  return { ...headers, authorization: `Bearer ${api.key}` };
}

/**
 * fetch, returning the parsed JSON body with the status. Sends the API's key (`api.key`) unless `headers` carry
 * credentials; `{ authorization: '' }` sends none.
 */
export async function request<T = any>(
  api: TestApi,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse<T>> {
  const init: RequestInit = { method, headers: withAuth(api, headers) };
  if (body !== undefined) {
    init.body = typeof body === 'string' || body instanceof Uint8Array ? (body as string) : JSON.stringify(body);
    if (!('content-type' in headers)) (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const res = await fetch(`${api.baseUrl}${path}`, init);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (metrics, CSV): keep the text
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** Polls until predicate holds (jobs complete asynchronously; visibility lags). */
export async function eventually<T>(
  fn: () => Promise<T>,
  predicate: (value: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await fn();
  while (!predicate(last)) {
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
    last = await fn();
  }
  return last;
}

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The API's Prometheus registry: process defaults, HTTP traffic by route and status, online predict batch sizes, jobs
 * started by kind, the job event streams (clients connected, events written to them), refused credentials and
 * requests refused past a rate-limit budget.
 */
export function createApiMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'kiln_http_requests_total',
      help: 'HTTP requests by method, route template and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'kiln_http_request_duration_seconds',
      help: 'HTTP request duration by method, route template and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    predictBatchRequests: new Histogram({
      name: 'kiln_predict_batch_requests',
      help: 'Online predict requests answered by one model call (dynamic batching; 1: the request ran alone)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers: [registry],
    }),
    jobsStarted: new Counter({
      name: 'kiln_jobs_started_total',
      help: 'Jobs started by kind and algorithm',
      labelNames: ['kind', 'algorithm'] as const,
      registers: [registry],
    }),
    sseClients: new Gauge({
      name: 'kiln_sse_clients',
      help: 'Server-Sent Events clients connected to GET /api/v1/jobs/:id/events',
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'kiln_rate_limited_total',
      help: 'Requests refused with 429 rate_limited, by route template and budget (start, predict, read, write)',
      labelNames: ['route', 'budget'] as const,
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'kiln_auth_failures_total',
      help: 'Requests refused by authentication or authorization, by route template and reason (the error code)',
      labelNames: ['route', 'reason'] as const,
      registers: [registry],
    }),
    sseEventsSent: new Counter({
      name: 'kiln_sse_events_sent_total',
      help: 'Job events written to Server-Sent Events clients (an event sent to n clients counts n)',
      registers: [registry],
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

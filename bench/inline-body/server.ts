import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';

/**
 * The API app for bench/inline-body/run.ts, in a child process of its own so that its peak RSS and event-loop delay
 * are measured alone: createApp from the build under `process.argv[2]` (a `dist` folder: this tree's, or an older
 * commit's for the "before" figures) with the default configuration and no Postgres or Temporal behind it (the bodies
 * it gets are refused before either is asked). Sends `{ port }` when listening; answers `report` with
 * `{ maxRssBytes, eventLoopMaxMs, eventLoopP99Ms }`.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const root = path.resolve(process.argv[2] ?? path.join(__dirname, '..', '..'));
const { createApp } = require(path.join(root, 'api', 'app.js'));
const { createApiMetrics } = require(path.join(root, 'api', 'metrics.js'));
const { loadConfig } = require(path.join(root, 'common', 'config.js'));
const { createLogger } = require(path.join(root, 'common', 'logger.js'));
/* eslint-enable @typescript-eslint/no-require-imports */

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const api = loadConfig({}).api;
const unused = new Proxy(
  {},
  {
    get: () => {
      throw new Error('the bench server has no Postgres or Temporal');
    },
  },
);
const app = createApp({
  pool: unused,
  temporal: unused,
  jobs: unused,
  events: unused,
  metrics: createApiMetrics(),
  limits: api.limits,
  bodyLimits: api.bodyLimits,
  telemetryLimits: api.telemetryLimits,
  namespace: 'default',
  gpuFallbackSeconds: api.gpuFallbackSeconds,
  browser: api.browser ?? { allowedHosts: ['*'], corsOrigins: [] },
  log: createLogger({ level: 'silent' }),
});
// The bodies are refused before any query, but a key's check needs Postgres: this server lets every caller in as an
// admin (a build from before authentication has no gate to replace).
if (app.context.accessGate) {
  app.context.accessGate = {
    authorize: (ctx: { state: Record<string, unknown> }) => {
      ctx.state.principal = { id: 'bench', tenantId: 'default', role: 'admin', platformAdmin: false };
      return Promise.resolve();
    },
    forgetKey: () => undefined,
  };
}
const server = app.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on('message', (message) => {
  if (message !== 'report') return;
  process.send?.({
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    eventLoopMaxMs: delay.max / 1e6,
    eventLoopP99Ms: delay.percentile(99) / 1e6,
  });
});
process.on('SIGTERM', () => process.exit(0));

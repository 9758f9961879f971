import { apiRouters } from '../../api/app';
import { DEFAULT_BODY_LIMITS } from '../../common/body-limits';
import { ApiDeps } from '../../api/context';
import { openApiDocument } from '../../api/openapi';
import { DEFAULT_LIMITS } from '../../datasets/limits';

// chai 6 is ESM-only and ships no type declarations; Node 20 loads it with require().
const { expect } = require('chai') as { expect: any }; // eslint-disable-line @typescript-eslint/no-require-imports

/**
 * Routes served but deliberately not in the OpenAPI document, each with its reason. Empty today: every route,
 * operational ones (/health, /ready, /metrics) and the document itself included, is documented.
 */
const UNDOCUMENTED: Record<string, string> = {};

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** `GET /api/v1/models/{name}` for each method of each route the routers register (HEAD rides along with GET). */
function servedRoutes(): string[] {
  // Building the routers touches none of their dependencies; handlers would, and none runs here.
  const deps = { limits: DEFAULT_LIMITS, bodyLimits: DEFAULT_BODY_LIMITS, namespace: 'default' } as ApiDeps;
  const routes = new Set<string>();
  for (const router of apiRouters(deps)) {
    for (const layer of router.stack) {
      // Layers without methods are mounted middleware (a nested router's allowedMethods), not routes.
      for (const method of layer.methods) {
        if (method === 'HEAD') continue;
        routes.add(`${method} ${String(layer.path).replace(/:(\w+)/g, '{$1}')}`);
      }
    }
  }
  return [...routes].sort();
}

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
}

interface Operation {
  operationId?: string;
  parameters?: Parameter[];
}

type PathItem = Record<string, unknown> & { parameters?: Parameter[] };

function documentPaths(): Record<string, PathItem> {
  return (openApiDocument(DEFAULT_LIMITS) as unknown as { paths: Record<string, PathItem> }).paths;
}

/** Each operation of the document: `METHOD /path`, the operation, and the parameters it gets (path item's and its own). */
function operations(): Array<{ route: string; path: string; operation: Operation; parameters: Parameter[] }> {
  return Object.entries(documentPaths()).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((key) => HTTP_METHODS.includes(key))
      .map((method) => {
        const operation = item[method] as Operation;
        // OpenAPI: an operation's parameter overrides the path item's of the same name and location.
        const own = operation.parameters ?? [];
        const inherited = (item.parameters ?? []).filter((p) => !own.some((o) => o.name === p.name && o.in === p.in));
        return { route: `${method.toUpperCase()} ${path}`, path, operation, parameters: [...inherited, ...own] };
      }),
  );
}

/** Routes that start a job (or a pipeline run): each takes an Idempotency-Key. */
const JOB_STARTS = [
  'POST /api/v1/clustering',
  'POST /api/v1/training',
  'POST /api/v1/pipelines/validation',
  'POST /api/v1/pipelines/full',
  'POST /api/v1/models/{name}/batch-predict',
  'POST /api/cluster/{algorithm}',
];

function documentedRoutes(): string[] {
  const paths = documentPaths();
  return Object.entries(paths)
    .flatMap(([path, item]) =>
      Object.keys(item)
        .filter((key) => HTTP_METHODS.includes(key))
        .map((method) => `${method.toUpperCase()} ${path}`),
    )
    .sort();
}

describe('api/openapi against the routers', () => {
  it('finds the routes (the walk itself works)', () => {
    const served = servedRoutes();
    expect(served).to.include.members([
      'POST /api/v1/clustering',
      'GET /api/v1/models/{name}/aliases/{alias}',
      'POST /api/cluster/{algorithm}',
      'GET /health',
    ]);
    expect(served.length).to.be.greaterThan(35);
  });

  it('documents every route the API serves, except the explicit allow-list', () => {
    const documented = new Set(documentedRoutes());
    const missing = servedRoutes().filter((route) => !documented.has(route) && !(route in UNDOCUMENTED));
    expect(missing, 'served but not in the OpenAPI document').to.deep.equal([]);
  });

  it('documents no route the API does not serve', () => {
    const served = new Set(servedRoutes());
    expect(
      documentedRoutes().filter((route) => !served.has(route)),
      'in the OpenAPI document but not served',
    ).to.deep.equal([]);
  });

  it('declares every path parameter of every operation, required, and none that its path lacks', () => {
    const problems: string[] = [];
    for (const { route, path, parameters } of operations()) {
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = parameters.filter((p) => p.in === 'path');
      const names = declared.map((p) => p.name).sort();
      if (JSON.stringify(names) !== JSON.stringify(templated))
        problems.push(`${route}: path parameters ${JSON.stringify(names)}, template ${JSON.stringify(templated)}`);
      for (const p of declared)
        if (p.required !== true) problems.push(`${route}: path parameter ${p.name} not required`);
      const seen = new Set<string>();
      for (const p of parameters) {
        const key = `${p.in}:${p.name}`;
        if (seen.has(key)) problems.push(`${route}: parameter ${key} declared twice`);
        seen.add(key);
      }
    }
    expect(problems).to.deep.equal([]);
  });

  it('names every operation with a unique operationId', () => {
    const ids = operations().map(({ route, operation }) => operation.operationId ?? `(none: ${route})`);
    expect(
      ids.filter((id) => id.startsWith('(none')),
      'operations without operationId',
    ).to.deep.equal([]);
    expect(
      ids.filter((id, i) => ids.indexOf(id) !== i),
      'operationIds used twice',
    ).to.deep.equal([]);
    for (const id of ids) expect(id).to.match(/^[A-Za-z][A-Za-z0-9_]*$/);
  });

  it('documents the Idempotency-Key header and the 200 replay on every job start', () => {
    const starts = operations().filter(({ route }) => JOB_STARTS.includes(route));
    expect(starts.map((s) => s.route).sort()).to.deep.equal([...JOB_STARTS].sort());
    for (const { route, parameters, operation } of starts) {
      expect(
        parameters.some((p) => p.in === 'header' && p.name === 'Idempotency-Key'),
        `${route} has no Idempotency-Key header`,
      ).to.equal(true);
      const responses = (operation as { responses?: Record<string, unknown> }).responses ?? {};
      expect(Object.keys(responses), route).to.include.members(['200', '409', '503']);
    }
  });

  it('allow-lists only routes that are served and undocumented', () => {
    const served = new Set(servedRoutes());
    const documented = new Set(documentedRoutes());
    for (const route of Object.keys(UNDOCUMENTED)) {
      expect(served.has(route), `${route} is allow-listed but not served`).to.equal(true);
      expect(documented.has(route), `${route} is allow-listed but documented`).to.equal(false);
    }
  });
});

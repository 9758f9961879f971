import type Router from '@koa/router';
import { apiRouters } from '../../api/app';
import { requires } from '../../api/auth/access';
import { ApiDeps } from '../../api/context';
import { PUBLIC_OPERATIONS } from '../../api/openapi-security';
import { openApiDocument } from '../../api/openapi';
import { consoleRouter } from '../../api/routes/console';
import { DEFAULT_BODY_LIMITS } from '../../common/body-limits';
import { DEFAULT_LIMITS } from '../../datasets/limits';
import { routeAccess } from '../support/route-access';

// chai 6 is ESM-only and ships no type declarations; Node 20 loads it with require().
const { expect } = require('chai') as { expect: any }; // eslint-disable-line @typescript-eslint/no-require-imports

/** Building the routers touches none of their dependencies; handlers would, and none runs here. */
const deps = { limits: DEFAULT_LIMITS, bodyLimits: DEFAULT_BODY_LIMITS, namespace: 'default' } as ApiDeps;

describe('auth: every route declares its access', () => {
  const routes = routeAccess([...apiRouters(deps), consoleRouter()]);

  it('walks the routes (the walk itself works)', () => {
    expect(routes.length).to.be.greaterThan(60);
    expect(routes.find((r) => r.route === 'POST /api/v1/api-keys')?.declaration).to.deep.equal({ access: 'admin' });
    expect(routes.find((r) => r.route === 'POST /api/v1/tenants')?.declaration).to.deep.equal({
      access: 'platform-admin',
    });
  });

  it('puts requires() first on every route', () => {
    expect(routes.filter((r) => r.declaration === undefined).map((r) => r.route)).to.deep.equal([]);
  });

  it('catches a route without requires() (the check itself works)', () => {
    const { default: KoaRouter } = require('@koa/router') as { default: typeof Router }; // eslint-disable-line @typescript-eslint/no-require-imports
    const router = new KoaRouter();
    router.get('/declared', requires('viewer'), (ctx) => (ctx.body = 'ok'));
    router.get('/forgotten', (ctx) => (ctx.body = 'ok'));
    router.post(
      '/late',
      (_ctx, next) => next(),
      requires('editor'),
      (ctx) => (ctx.body = 'ok'),
    );
    const missing = routeAccess([router])
      .filter((r) => r.declaration === undefined)
      .map((r) => r.route);
    expect(missing).to.deep.equal(['GET /forgotten', 'POST /late']);
  });

  it('documents as public (no security) exactly the routes declared public', () => {
    const documented = new Set(
      Object.entries(openApiDocument(DEFAULT_LIMITS).paths as Record<string, Record<string, unknown>>).flatMap(
        ([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );
    const publicRoutes = routes
      .filter((r) => r.declaration?.access === 'public' && documented.has(r.route))
      .map((r) => r.route);
    expect(publicRoutes.sort()).to.deep.equal([...PUBLIC_OPERATIONS].sort());
  });

  it('requires a key and documents 401 and 403 on every other operation', () => {
    const paths = openApiDocument(DEFAULT_LIMITS).paths as Record<string, Record<string, any>>;
    const lacking: string[] = [];
    for (const [path, item] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (method === 'parameters' || PUBLIC_OPERATIONS.has(`${method.toUpperCase()} ${path}`)) continue;
        const ok =
          JSON.stringify(op.security) === JSON.stringify([{ bearer: [] }, { apiKey: [] }]) &&
          op.responses['401'] &&
          op.responses['403'];
        if (!ok) lacking.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(lacking).to.deep.equal([]);
    expect(Object.keys(openApiDocument(DEFAULT_LIMITS).components.securitySchemes)).to.deep.equal(['bearer', 'apiKey']);
  });
});

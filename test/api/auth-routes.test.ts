import type Router from '@koa/router';
import { apiRouters } from '../../api/app';
import { requires } from '../../api/auth/access';
import { accessByRoute } from '../../api/auth/route-access';
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

  it('requires a key and documents 401, 403, 429 (rate_limited) and 503 (identity_provider_unavailable), with their headers, on every other operation', () => {
    const paths = openApiDocument(DEFAULT_LIMITS).paths as Record<string, Record<string, any>>;
    const lacking: string[] = [];
    for (const [path, item] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (method === 'parameters' || PUBLIC_OPERATIONS.has(`${method.toUpperCase()} ${path}`)) continue;
        const ok =
          JSON.stringify(op.security) === JSON.stringify([{ bearer: [] }, { apiKey: [] }, { session: [] }]) &&
          op.responses['401'] &&
          op.responses['403'] &&
          String(op.responses['429']?.description).includes('rate_limited') &&
          op.responses['429'].headers?.['Retry-After'] &&
          op.responses['429'].headers?.['RateLimit-Reset'] &&
          String(op.responses['503']?.description).includes('identity_provider_unavailable') &&
          op.responses['503'].headers?.['Retry-After'];
        if (!ok) lacking.push(`${method.toUpperCase()} ${path}`);
      }
    }
    expect(lacking).to.deep.equal([]);
    // Public operations never authenticate: no identity provider's 503 on them.
    expect(String(paths['/health']!.get.responses['503']?.description)).not.to.contain('identity_provider');
    const { securitySchemes } = openApiDocument(DEFAULT_LIMITS).components;
    expect(Object.keys(securitySchemes)).to.deep.equal(['bearer', 'apiKey', 'session']);
    expect(securitySchemes.session).to.deep.include({ type: 'apiKey', in: 'cookie', name: 'kiln_session' });
  });

  it("states each secured operation's role (x-kiln-role, and in words) as its route's requires() declares it", () => {
    const declared = new Map(routes.map((r) => [r.route, r.declaration]));
    const paths = openApiDocument(DEFAULT_LIMITS, accessByRoute(apiRouters(deps))).paths as Record<
      string,
      Record<string, any>
    >;
    const wrong: string[] = [];
    let stated = 0;
    for (const [path, item] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(item)) {
        const route = `${method.toUpperCase()} ${path}`;
        if (method === 'parameters' || PUBLIC_OPERATIONS.has(route)) continue;
        const declaration = declared.get(route);
        const words =
          declaration?.access === 'platform-admin' ? 'a platform admin' : `the \`${declaration?.access}\` role`;
        if (
          op['x-kiln-role'] !== declaration?.access ||
          op['x-kiln-budget'] !== declaration?.budget ||
          !String(op.description).includes(`Needs ${words}`)
        ) {
          wrong.push(`${route}: ${op['x-kiln-role']} / ${JSON.stringify(declaration)}`);
        }
        stated++;
      }
    }
    expect(wrong).to.deep.equal([]);
    expect(stated).to.be.greaterThan(55);
    expect(paths['/api/v1/gpus/telemetry'].post['x-kiln-role']).to.equal('platform-admin');
    expect(paths['/api/v1/training'].post).to.include({ 'x-kiln-role': 'operator', 'x-kiln-budget': 'start' });
  });
});

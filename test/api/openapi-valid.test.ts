import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { apiRouters } from '../../api/app';
import { ApiDeps } from '../../api/context';
import { DEFAULT_BODY_LIMITS } from '../../common/body-limits';
import { DEFAULT_LIMITS } from '../../datasets/limits';

// chai 6 is ESM-only and ships no type declarations; Node 20 loads it with require().
const { expect } = require('chai') as { expect: any }; // eslint-disable-line @typescript-eslint/no-require-imports
// The validator is ESM-only too; Node 20 loads it with require() as well.
type ValidatorClass = typeof import('@seriousme/openapi-schema-validator').Validator;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Validator } = require('@seriousme/openapi-schema-validator') as { Validator: ValidatorClass };

/**
 * GET /api/v1/openapi.json as the API serves it: the routers in a bare Koa app (the openapi route reads only the
 * limits), fetched over HTTP and parsed, so what is checked is the JSON a client gets.
 */
async function servedDocument(): Promise<Record<string, unknown>> {
  const deps = { limits: DEFAULT_LIMITS, bodyLimits: DEFAULT_BODY_LIMITS, namespace: 'default' } as ApiDeps;
  const app = new Koa();
  for (const router of apiRouters(deps)) app.use(router.routes());
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  try {
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/api/v1/openapi.json`);
    expect(response.status).to.equal(200);
    return (await response.json()) as Record<string, unknown>;
  } finally {
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  }
}

describe('api/openapi: the served document against the OpenAPI 3.1 schema', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const document = await servedDocument();
    expect(document.openapi).to.equal('3.1.0');
    const result = await new Validator().validate(document);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)?.slice(0, 4000)).to.deep.equal([]);
    expect(result.valid).to.equal(true);
  });

  it("states the role of every secured operation as served (the routes' requires())", async () => {
    const document = await servedDocument();
    const paths = document.paths as Record<string, Record<string, Record<string, unknown>>>;
    const secured = Object.values(paths).flatMap((item) =>
      Object.values(item).filter((op) => typeof op === 'object' && op !== null && 'security' in op),
    );
    expect(secured.length).to.be.greaterThan(55);
    expect(secured.filter((op) => typeof op['x-kiln-role'] !== 'string')).to.deep.equal([]);
    expect(paths['/api/v1/tenants/{id}/limits'].get['x-kiln-role']).to.equal('platform-admin');
  });

  it('catches an invalid document (the check itself works)', async () => {
    const document = await servedDocument();
    const paths = document.paths as Record<string, Record<string, Record<string, unknown>>>;
    // A path parameter must be required: a document saying otherwise is not OpenAPI.
    const broken = {
      ...document,
      paths: {
        ...paths,
        '/api/v1/datasets/{id}': {
          ...paths['/api/v1/datasets/{id}'],
          parameters: [{ name: 'id', in: 'path', required: false, schema: { type: 'string' } }],
        },
      },
    };
    const result = await new Validator().validate(broken);
    expect(result.valid).to.equal(false);
  });
});

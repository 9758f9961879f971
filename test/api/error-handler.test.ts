import { AddressInfo } from 'node:net';
import { Server } from 'node:http';
import Koa from 'koa';
import * as errors from '../../common/errors';
import { createLogger } from '../../common/logger';
import {
  BusyError,
  ConflictError,
  DependencyUnavailableError,
  DomainError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  RequestTimeoutError,
  ServiceUnavailableError,
  TenantDisabledError,
  TooManyRequestsError,
  UnauthorizedError,
  UnprocessableError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../common/errors';
import { errorHandler, httpStatusOf } from '../../api/middleware/error-handler';

// chai 6 is ESM-only and ships no type declarations; Node 20 loads it with require().
const { expect } = require('chai') as { expect: any }; // eslint-disable-line @typescript-eslint/no-require-imports

/** Answers one request with the error handler in front of a handler that throws `err`. */
async function answer(err: unknown): Promise<{ status: number; body: unknown; connection: string | null }> {
  const app = new Koa();
  app.silent = true;
  app.use(errorHandler(createLogger({ level: 'silent' })));
  app.use(() => {
    throw err;
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    return { status: res.status, body: await res.json(), connection: res.headers.get('connection') };
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('api/middleware/error-handler', () => {
  const cases: Array<[DomainError, number, unknown]> = [
    [
      new ValidationError('k: too small', 'params.k'),
      400,
      { error: { code: 'invalid_request', message: 'k: too small', field: 'params.k' } },
    ],
    [
      new ValidationError('bad JSON', 'body', 'invalid_json'),
      400,
      { error: { code: 'invalid_json', message: 'bad JSON', field: 'body' } },
    ],
    [
      new NotFoundError('dataset', 'x', 'datasetId'),
      404,
      { error: { code: 'not_found', message: 'dataset "x" does not exist', field: 'datasetId' } },
    ],
    [
      new ConflictError('job j already ended COMPLETED', 'job_not_running'),
      409,
      { error: { code: 'job_not_running', message: 'job j already ended COMPLETED' } },
    ],
    [
      new ConflictError('model "m" already exists', 'model_exists', 'name'),
      409,
      { error: { code: 'model_exists', message: 'model "m" already exists', field: 'name' } },
    ],
    [
      new PayloadTooLargeError('too big', 'body'),
      413,
      { error: { code: 'payload_too_large', message: 'too big', field: 'body' } },
    ],
    [
      new UnsupportedMediaTypeError('expected JSON'),
      415,
      { error: { code: 'unsupported_media_type', message: 'expected JSON', field: 'content-type' } },
    ],
    [
      new UnprocessableError('text column', 'columns[0]'),
      422,
      { error: { code: 'unprocessable', message: 'text column', field: 'columns[0]' } },
    ],
    [
      new UnprocessableError('needs 9 GiB', 'resources.gpuMemoryMb', 'exceeds_gpu_memory'),
      422,
      { error: { code: 'exceeds_gpu_memory', message: 'needs 9 GiB', field: 'resources.gpuMemoryMb' } },
    ],
    [
      new UnauthorizedError('unknown API key', 'invalid_credentials'),
      401,
      { error: { code: 'invalid_credentials', message: 'unknown API key', field: 'Authorization' } },
    ],
    [
      new ForbiddenError('not this host', 'host_not_allowed', 'host'),
      403,
      { error: { code: 'host_not_allowed', message: 'not this host', field: 'host' } },
    ],
    [
      new DependencyUnavailableError('postgres', 'Query read timeout'),
      503,
      {
        error: {
          code: 'dependency_unavailable',
          message: 'PostgreSQL is unavailable: Query read timeout; retry later',
          dependency: 'postgres',
        },
      },
    ],
    [
      new TooManyRequestsError('2 uploads are running; retry later', 5),
      429,
      { error: { code: 'too_many_requests', message: '2 uploads are running; retry later' } },
    ],
    [
      new BusyError('1000 event streams are open', 1),
      503,
      { error: { code: 'busy', message: '1000 event streams are open' } },
    ],
    [
      new ServiceUnavailableError(
        'the identity provider at idp.example.com is unavailable',
        5,
        'identity_provider_unavailable',
      ),
      503,
      {
        error: {
          code: 'identity_provider_unavailable',
          message: 'the identity provider at idp.example.com is unavailable',
        },
      },
    ],
    [
      new TenantDisabledError('acme'),
      403,
      {
        error: {
          code: 'tenant_disabled',
          message:
            'tenant "acme" is disabled: its API keys, sessions and members are refused until a platform admin ' +
            'enables it again (PATCH /api/v1/tenants/acme {"disabled": false})',
        },
      },
    ],
    [
      new RequestTimeoutError('no bytes for 30 s'),
      408,
      { error: { code: 'request_timeout', message: 'no bytes for 30 s', field: 'body' } },
    ],
  ];

  for (const [err, status, body] of cases) {
    it(`answers ${err.name} (${err.code}) with ${status} and the error body`, async () => {
      const res = await answer(err);
      expect([res.status, res.body]).to.deep.equal([status, body]);
      expect(res.connection).to.equal(status === 413 || status === 408 ? 'close' : 'keep-alive');
    });
  }

  it('maps every domain error class the domain exports to a 4xx status (503 for an unavailable dependency or service, or busy)', () => {
    const classes = (Object.values(errors) as unknown[]).filter(
      (value): value is new (a: string, b: string) => DomainError =>
        typeof value === 'function' && value.prototype instanceof DomainError,
    );
    expect(classes.map((c) => c.name).sort()).to.deep.equal(
      [...new Set(cases.map(([err]) => err.constructor.name))].sort(),
    );
    for (const type of classes) {
      const status = httpStatusOf(new type('message', 'id'));
      if ([DependencyUnavailableError, BusyError, ServiceUnavailableError].includes(type as never))
        expect(status, type.name).to.equal(503);
      else expect(status, type.name).to.be.within(400, 499);
    }
  });

  it('answers an unexpected error with a 500 that shows no internals', async () => {
    const res = await answer(new Error('connection refused to 10.0.0.7'));
    expect([res.status, res.body]).to.deep.equal([
      500,
      { error: { code: 'internal', message: 'internal error; see the API log' } },
    ]);
  });

  /** A node-postgres DatabaseError as Postgres 16 raised it for the text sent (reproduced: see db/unstorable-text.ts). */
  const pgError = (message: string, code: string, detail?: string) =>
    Object.assign(new Error(message), { name: 'error', severity: 'ERROR', code, ...(detail ? { detail } : {}) });
  const unstorable = {
    error: {
      code: 'unstorable_text',
      message: 'a text value holds a character that cannot be stored: NUL or a lone surrogate',
    },
  };

  for (const [what, err] of [
    ['NUL in a text column (22021)', pgError('invalid byte sequence for encoding "UTF8": 0x00', '22021')],
    [
      'NUL in jsonb (22P05)',
      pgError('unsupported Unicode escape sequence', '22P05', '\\u0000 cannot be converted to text.'),
    ],
    [
      'a lone surrogate in jsonb (22P02)',
      pgError('invalid input syntax for type json', '22P02', 'Unicode low surrogate must follow a high surrogate.'),
    ],
    [
      'the same wrapped as a cause',
      new Error('insert failed', { cause: pgError('invalid byte sequence for encoding "UTF8": 0x00', '22021') }),
    ],
  ] as const) {
    it(`answers Postgres refusing unstorable text (${what}) with a 400 unstorable_text, not a 500`, async () => {
      const res = await answer(err);
      expect([res.status, res.body]).to.deep.equal([400, unstorable]);
    });
  }

  it('leaves other invalid input syntax (22P02: a bad uuid, json without a surrogate) a 500', async () => {
    for (const err of [
      pgError('invalid input syntax for type uuid: "x"', '22P02'),
      pgError('invalid input syntax for type json', '22P02', 'Token "x" is invalid.'),
    ]) {
      const res = await answer(err);
      expect(res.status, err.message).to.equal(500);
    }
  });

  it('carries no HTTP status on domain errors', () => {
    expect(new NotFoundError('model', 'm')).not.to.have.property('status');
  });
});

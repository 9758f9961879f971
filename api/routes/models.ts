import Router from '@koa/router';
import { Context } from 'koa';
import { roleAllows } from '../../common/auth/roles';
import { ForbiddenError, NotFoundError, ValidationError } from '../../common/errors';
import {
  createModel,
  deleteAlias,
  deleteModel,
  getModel,
  getVersionDetail,
  latestVersion,
  listModelEvents,
  listModels,
  listVersionDetails,
  ModelVersionDetail,
  RegisteredModel,
  resolveAlias,
  setAlias,
  updateModel,
  updateModelVersion,
} from '../../db/models';
import { readJsonBody } from '../body';
import { ApiDeps } from '../context';
import { modelName } from '../schemas/common';
import {
  aliasParam,
  checkTagKeys,
  createModelRequest,
  eventsQuery,
  listModelsQuery,
  MODEL_LIMITS,
  RESERVED_ALIAS,
  setAliasRequest,
  updateModelRequest,
  updateVersionRequest,
  versionParam,
} from '../schemas/models';
import { parseWith } from '../schemas/validate';
import { parseSeriesKeys, versionSeries } from '../services/epoch-series';
import { principalOf, requires } from '../auth/access';

/** Who a registry write acts as in the audit trail: the caller's principal id (`key:<keyId>`, `sso:<issuer>|<sub>`). */
const actorOf = (ctx: Context): string => principalOf(ctx).id;

/** Whether the caller may move protected aliases (`champion`, the model's protectedAliases): an approver or above. */
const aliasAuthorityOf = (ctx: Context) => ({ mayMoveProtected: roleAllows(principalOf(ctx).role, 'approver') });

const modelPath = (name: string) => `/api/v1/models/${name}`;

export function modelView(m: RegisteredModel) {
  return {
    name: m.name,
    description: m.description,
    tags: m.tags,
    latestVersion: m.latestVersion,
    versionCount: m.versionCount,
    aliases: m.aliases,
    protectedAliases: m.protectedAliases,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
    links: {
      self: modelPath(m.name),
      versions: `${modelPath(m.name)}/versions`,
      events: `${modelPath(m.name)}/events`,
    },
  };
}

function versionView(v: ModelVersionDetail) {
  return {
    ...v,
    links: {
      self: `${modelPath(v.modelName)}/versions/${v.version}`,
      model: modelPath(v.modelName),
      ...(v.artifactId ? { artifact: `/api/v1/artifacts/${v.artifactId}` } : {}),
      ...(v.datasetId ? { dataset: `/api/v1/datasets/${v.datasetId}` } : {}),
      job: `/api/v1/jobs/${v.sourceWorkflowId}`,
      // Trained networks have per-epoch curves (loss, validation loss, a metric each side).
      ...(v.flavor.startsWith('mlp-') ? { metrics: `${modelPath(v.modelName)}/versions/${v.version}/metrics` } : {}),
    },
  };
}

/** Registry request bodies: JSON objects of a few KiB (413 past BodyLimits.maxRegistryBodyBytes or the global limit). */
async function readBody(ctx: Context, deps: ApiDeps): Promise<unknown> {
  const body = await readJsonBody(ctx, Math.min(deps.limits.maxBodyBytes, deps.bodyLimits.maxRegistryBodyBytes));
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new ValidationError('the body must be a JSON object', 'body');
  checkTagKeys(body);
  return body;
}

function requireSomething(patch: Record<string, unknown>, fields: string[]): void {
  if (fields.every((f) => patch[f] === undefined))
    throw new ValidationError(`nothing to change: give at least one of ${fields.join(', ')}`, 'body');
}

const nameOf = (ctx: Context): string => parseWith(modelName, ctx.params.name, 'name');
const versionOf = (ctx: Context): number => parseWith(versionParam, ctx.params.version, 'version');

/** An alias in a path; `latest` and `v<digits>` are reserved names (400 `reserved_alias`) unless allowReserved. */
function aliasOf(ctx: Context, allowLatest = false): string {
  const alias = parseWith(aliasParam, ctx.params.alias, 'alias');
  if (RESERVED_ALIAS.test(alias) && !(allowLatest && alias === 'latest')) {
    throw new ValidationError(
      `alias: ${JSON.stringify(alias)} is reserved ("latest" and version-like "v<number>" cannot be aliases)`,
      'alias',
      'reserved_alias',
    );
  }
  return alias;
}

/**
 * The model registry in MLflow's vocabulary: registered models with description and tags, their versions (registered
 * by jobs, with lineage), aliases that point at versions, and the audit trail of every change.
 */
export function modelsRouter(deps: ApiDeps): Router {
  const router = new Router();
  const { pool } = deps;

  router.get('/models', requires('viewer'), async (ctx) => {
    const { limit } = parseWith(listModelsQuery, ctx.query, 'query');
    ctx.body = { models: (await listModels(pool, principalOf(ctx).tenantId, limit)).map(modelView) };
  });

  router.post('/models', requires('editor'), async (ctx) => {
    const input = parseWith(createModelRequest, await readBody(ctx, deps));
    const model = await createModel(pool, { tenantId: principalOf(ctx).tenantId, ...input, actor: actorOf(ctx) });
    ctx.status = 201;
    ctx.set('Location', modelPath(model.name));
    ctx.body = modelView(model);
  });

  router.get('/models/:name', requires('viewer'), async (ctx) => {
    const name = nameOf(ctx);
    const model = await getModel(pool, principalOf(ctx).tenantId, name);
    if (!model) throw new NotFoundError('model', name, 'name');
    ctx.body = modelView(model);
  });

  router.patch('/models/:name', requires('editor'), async (ctx) => {
    const name = nameOf(ctx);
    const patch = parseWith(updateModelRequest, await readBody(ctx, deps));
    requireSomething(patch, ['description', 'tags', 'protectedAliases']);
    // An editor who could unprotect an alias could then move it: changing the list needs what moving needs.
    if (patch.protectedAliases !== undefined && !aliasAuthorityOf(ctx).mayMoveProtected)
      throw new ForbiddenError(
        `protectedAliases: changing a model's protected aliases needs the approver role (the caller is ${principalOf(ctx).role})`,
        'protected_alias',
        'protectedAliases',
      );
    ctx.body = modelView(
      await updateModel(pool, principalOf(ctx).tenantId, name, patch, actorOf(ctx), MODEL_LIMITS.maxTags),
    );
  });

  router.delete('/models/:name', requires('editor'), async (ctx) => {
    await deleteModel(pool, principalOf(ctx).tenantId, nameOf(ctx), actorOf(ctx), aliasAuthorityOf(ctx));
    ctx.status = 204;
  });

  router.get('/models/:name/versions', requires('viewer'), async (ctx) => {
    const name = nameOf(ctx);
    const versions = await listVersionDetails(pool, principalOf(ctx).tenantId, name);
    if (!versions) throw new NotFoundError('model', name, 'name');
    ctx.body = { versions: versions.map(versionView) };
  });

  router.get('/models/:name/versions/:version', requires('viewer'), async (ctx) => {
    const name = nameOf(ctx);
    ctx.body = versionView(await getVersionDetail(pool, principalOf(ctx).tenantId, name, versionOf(ctx)));
  });

  router.get('/models/:name/versions/:version/metrics', requires('viewer'), async (ctx) => {
    const name = nameOf(ctx);
    const version = versionOf(ctx);
    const keys = parseSeriesKeys(ctx.query.keys);
    ctx.body = await versionSeries(pool, principalOf(ctx).tenantId, name, version, keys);
  });

  router.patch('/models/:name/versions/:version', requires('editor'), async (ctx) => {
    const name = nameOf(ctx);
    const version = versionOf(ctx);
    const patch = parseWith(updateVersionRequest, await readBody(ctx, deps));
    requireSomething(patch, ['description', 'tags', 'status']);
    ctx.body = versionView(
      await updateModelVersion(
        pool,
        principalOf(ctx).tenantId,
        name,
        version,
        patch,
        actorOf(ctx),
        MODEL_LIMITS.maxTags,
        aliasAuthorityOf(ctx),
      ),
    );
  });

  router.put('/models/:name/aliases/:alias', requires('editor'), async (ctx) => {
    const name = nameOf(ctx);
    const alias = aliasOf(ctx);
    const { version } = parseWith(setAliasRequest, await readBody(ctx, deps));
    const moved = await setAlias(
      pool,
      principalOf(ctx).tenantId,
      name,
      alias,
      version,
      actorOf(ctx),
      aliasAuthorityOf(ctx),
    );
    ctx.body = {
      ...moved,
      links: { self: `${modelPath(name)}/aliases/${alias}`, version: `${modelPath(name)}/versions/${version}` },
    };
  });

  // `latest` is reserved for writes; reading it resolves to the highest version number, as MLflow's models:/name/latest.
  router.get('/models/:name/aliases/:alias', requires('viewer'), async (ctx) => {
    const name = nameOf(ctx);
    const alias = aliasOf(ctx, true);
    const version =
      alias === 'latest'
        ? await latestVersion(pool, principalOf(ctx).tenantId, name)
        : await resolveAlias(pool, principalOf(ctx).tenantId, name, alias);
    ctx.body = { alias, ...versionView(version) };
  });

  router.delete('/models/:name/aliases/:alias', requires('editor'), async (ctx) => {
    const name = nameOf(ctx);
    await deleteAlias(pool, principalOf(ctx).tenantId, name, aliasOf(ctx), actorOf(ctx), aliasAuthorityOf(ctx));
    ctx.status = 204;
  });

  router.get('/models/:name/events', requires('viewer'), async (ctx) => {
    const name = nameOf(ctx);
    const { after, limit } = parseWith(eventsQuery, ctx.query, 'query');
    const events = await listModelEvents(pool, principalOf(ctx).tenantId, name, after, limit);
    const last = events[events.length - 1];
    ctx.body = {
      events,
      links: {
        self: `${modelPath(name)}/events`,
        ...(events.length === limit && last
          ? { next: `${modelPath(name)}/events?after=${last.id}&limit=${limit}` }
          : {}),
      },
    };
  });

  return router;
}

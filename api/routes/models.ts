import Router from '@koa/router';
import { z } from 'zod';
import { NotFoundError } from '../../common/errors';
import { DEFAULT_TENANT } from '../../common/tenant';
import { listModelVersions, ModelVersion } from '../../db/registry';
import { ApiDeps } from '../context';
import { modelName } from '../schemas/common';
import { parseWith } from '../schemas/validate';

const versionParam = z.coerce.number().int().min(1);

function versionView(v: ModelVersion) {
  return {
    ...v,
    links: {
      self: `/api/v1/models/${v.modelName}/versions/${v.version}`,
      ...(v.artifactId ? { artifact: `/api/v1/artifacts/${v.artifactId}` } : {}),
      ...(v.datasetId ? { dataset: `/api/v1/datasets/${v.datasetId}` } : {}),
      job: `/api/v1/jobs/${v.sourceWorkflowId}`,
    },
  };
}

/** Read side of the model registry: the versions jobs registered, with their lineage. */
export function modelsRouter(deps: ApiDeps): Router {
  const router = new Router();

  async function versionsOf(name: string): Promise<ModelVersion[]> {
    parseWith(modelName, name, 'name');
    const versions = await listModelVersions(deps.pool, DEFAULT_TENANT, name);
    if (!versions) throw new NotFoundError('model', name, 'name');
    return versions;
  }

  router.get('/models/:name/versions', async (ctx) => {
    ctx.body = { versions: (await versionsOf(ctx.params.name)).map(versionView) };
  });

  router.get('/models/:name/versions/:version', async (ctx) => {
    const version = parseWith(versionParam, ctx.params.version, 'version');
    const found = (await versionsOf(ctx.params.name)).find((v) => v.version === version);
    if (!found) throw new NotFoundError(`version of model ${ctx.params.name}`, String(version), 'version');
    ctx.body = versionView(found);
  });

  return router;
}

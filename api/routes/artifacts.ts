import Router from '@koa/router';
import { NotFoundError } from '../../common/errors';
import { isUuid } from '../../common/ids';
import { getArtifactContent, getArtifactMeta } from '../../db/artifacts';
import { ApiDeps } from '../context';
import { principalOf, requires } from '../auth/access';

export function artifactsRouter(deps: ApiDeps): Router {
  const router = new Router();

  router.get('/artifacts/:id', requires('viewer'), async (ctx) => {
    const { id } = ctx.params;
    const meta = isUuid(id) ? await getArtifactMeta(deps.pool, principalOf(ctx).tenantId, id) : undefined;
    if (!meta) throw new NotFoundError('artifact', id, 'id');
    const content = await getArtifactContent(deps.pool, principalOf(ctx).tenantId, id);
    ctx.set('ETag', `"${meta.sha256}"`);
    ctx.set('X-Kiln-Artifact-Kind', meta.kind);
    ctx.type = meta.mediaType;
    ctx.body = content;
  });

  return router;
}

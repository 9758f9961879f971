import type Router from '@koa/router';
import { ACCESS, AccessDeclaration } from '../../api/auth/access';

/** A route as the OpenAPI document names it (`GET /api/v1/models/{name}`) and what its first middleware declares. */
export interface RouteAccess {
  route: string;
  /** Undefined: the route's first middleware is not `requires(...)`. */
  declaration: AccessDeclaration | undefined;
}

/** Each method (HEAD aside) of each route the routers register, with its first middleware's access declaration. */
export function routeAccess(routers: Router[]): RouteAccess[] {
  return routers.flatMap((router) =>
    router.stack.flatMap((layer) =>
      // Layers without methods are mounted middleware (a nested router's allowedMethods), not routes.
      layer.methods
        .filter((method) => method !== 'HEAD')
        .map((method) => ({
          route: `${method} ${String(layer.path).replace(/:(\w+)/g, '{$1}')}`,
          declaration: (layer.stack[0] as unknown as { [ACCESS]?: AccessDeclaration })[ACCESS],
        })),
    ),
  );
}

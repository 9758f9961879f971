import type Router from '@koa/router';
import { ACCESS, AccessDeclaration } from './access';

/** A route as the OpenAPI document names it (`GET /api/v1/models/{name}`) and what its first middleware declares. */
export interface RouteAccess {
  route: string;
  /** Undefined: the route's first middleware is not `requires(...)`. */
  declaration: AccessDeclaration | undefined;
}

/**
 * Each method (HEAD aside) of each route the routers register, with its first middleware's access declaration: what
 * the OpenAPI document states of each operation (api/openapi-security.ts) and what test/api/auth-routes.test.ts checks.
 */
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

/** The declared routes of `routers` by `METHOD /path` (routes without a declaration left out). */
export function accessByRoute(routers: Router[]): Map<string, AccessDeclaration> {
  const declared = new Map<string, AccessDeclaration>();
  for (const { route, declaration } of routeAccess(routers)) if (declaration) declared.set(route, declaration);
  return declared;
}

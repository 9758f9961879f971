// The walk lives with the product now (the OpenAPI document states each operation's role from it).
export { routeAccess } from '../../api/auth/route-access';
export type { RouteAccess } from '../../api/auth/route-access';

import { Context } from 'koa';
import { principalOf } from './auth/access';
import { IDEMPOTENCY_HEADER, IdempotentStart, idempotentStart } from './services/idempotency';

/** Response header saying that an Idempotency-Key's job already existed and the answer describes it. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';

/**
 * The request's idempotent start (the Idempotency-Key header on `route`, in the caller's tenant: the same key in two
 * tenants names two jobs), or undefined when it sends none.
 */
export function requestIdempotency(
  ctx: Context,
  route: string,
  bodySha256: string,
  pathParams: Record<string, string> = {},
): IdempotentStart | undefined {
  return idempotentStart(
    ctx.get(IDEMPOTENCY_HEADER) || undefined,
    principalOf(ctx).tenantId,
    route,
    pathParams,
    bodySha256,
  );
}

/**
 * Answers a job or pipeline submission: 202 for a new start, 200 with `Idempotent-Replayed: true` when the request's
 * Idempotency-Key names a job an earlier request started; `Location` is the job's (or pipeline's) own resource.
 */
export function sendAccepted(ctx: Context, replayed: boolean | undefined, location: string, body: unknown): void {
  ctx.status = replayed ? 200 : 202;
  if (replayed) ctx.set(REPLAYED_HEADER, 'true');
  ctx.set('Location', location);
  ctx.body = body;
}

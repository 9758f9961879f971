import { DependencyUnavailableError } from '../../common/errors';

/** gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;

/**
 * The DependencyUnavailableError (dependency `temporal`) for an error of a Temporal client call that did not reach
 * the frontend or got no answer in time: gRPC UNAVAILABLE (the connection was refused or dropped) or
 * DEADLINE_EXCEEDED (the call's deadline passed, the SDK's retries included), found on the error or its causes (the
 * client wraps them in ServiceError). Undefined for any other error.
 */
export function temporalUnavailable(err: unknown): DependencyUnavailableError | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === GRPC_UNAVAILABLE)
      return new DependencyUnavailableError('temporal', 'the frontend refused or dropped the connection');
    if (code === GRPC_DEADLINE_EXCEEDED)
      return new DependencyUnavailableError('temporal', 'the frontend did not answer in time');
  }
  return undefined;
}

/**
 * Runs `fn`'s Temporal client calls under one deadline `timeoutMs` from now (gRPC fails them DEADLINE_EXCEEDED past
 * it, the SDK's own retries included), and turns a frontend that is down or too slow into DependencyUnavailableError.
 */
export async function withTemporalDeadline<T>(
  client: { withDeadline<R>(deadline: number | Date, fn: () => Promise<R>): Promise<R> },
  timeoutMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await client.withDeadline(Date.now() + timeoutMs, fn);
  } catch (err) {
    throw temporalUnavailable(err) ?? err;
  }
}

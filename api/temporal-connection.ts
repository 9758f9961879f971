import { ConnectionOptions, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { TemporalConnectionOptions } from '../common/config';

type Interceptor = NonNullable<ConnectionOptions['interceptors']>[number];

/**
 * A gRPC interceptor giving every call without a deadline of its own (set with Client.withDeadline) one `timeoutMs`
 * from its start. It runs before the SDK's retry interceptor, whose retries reuse the call's options and so stop at
 * the same deadline: with the frontend down a call fails in `timeoutMs` (DEADLINE_EXCEEDED) instead of retrying for
 * about 20 s, and the API answers 503.
 */
export function defaultDeadlineInterceptor(timeoutMs: number): Interceptor {
  // The call the next interceptor makes is what this one returns (grpc-js types it more narrowly than it needs).
  return (options, nextCall) =>
    nextCall(
      options.deadline !== undefined ? options : { ...options, deadline: Date.now() + timeoutMs },
    ) as ReturnType<Interceptor>;
}

/**
 * The API's Temporal connection options: the configured connection plus the default deadline on every call, ahead of
 * the SDK's default retries (which stay as they are).
 */
export function apiConnectionOptions(connection: TemporalConnectionOptions, rpcTimeoutMs: number): ConnectionOptions {
  return {
    ...connection,
    interceptors: [defaultDeadlineInterceptor(rpcTimeoutMs), makeGrpcRetryInterceptor(defaultGrpcRetryOptions())],
  };
}

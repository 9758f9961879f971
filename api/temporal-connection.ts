import { ConnectionOptions, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { TemporalConnectionOptions } from '../common/config';

type Interceptor = NonNullable<ConnectionOptions['interceptors']>[number];

/**
 * The SDK's retries (its default backoff and retryable codes) bounded by a deadline: a call without a deadline of its
 * own (set with Client.withDeadline) gets one `timeoutMs` from its start, and a retry that could not start before the
 * deadline is not made: the call fails with the status it got (UNAVAILABLE with the frontend down), else with
 * DEADLINE_EXCEEDED when an attempt outlives the deadline. So with Temporal down a route answers 503 within
 * `timeoutMs` instead of retrying for about 20 s, and no retry is left pending after its call has failed.
 */
export function retryWithinDeadline(timeoutMs: number): Interceptor {
  const backoff = defaultGrpcRetryOptions();
  return (options, nextCall) => {
    const deadline = options.deadline ?? Date.now() + timeoutMs;
    const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
    // The decider picks the delay (it is random: jitter) so that it can judge it; the interceptor then waits it.
    let delay = 0;
    const retry = makeGrpcRetryInterceptor({
      retryableDecider: (attempt, status) => {
        if (!backoff.retryableDecider(attempt, status)) return false;
        delay = backoff.delayFunction(attempt, status);
        return Date.now() + delay < deadlineMs;
      },
      delayFunction: () => delay,
    });
    return retry({ ...options, deadline }, nextCall);
  };
}

/** The API's Temporal connection options: the configured connection, its calls retried within a deadline each. */
export function apiConnectionOptions(connection: TemporalConnectionOptions, rpcTimeoutMs: number): ConnectionOptions {
  return { ...connection, interceptors: [retryWithinDeadline(rpcTimeoutMs)] };
}

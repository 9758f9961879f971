import { msToNumber } from '@temporalio/common/lib/time';
import type { RetryPolicy } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';

/** A retry policy in plain numbers (seconds); maximumAttempts 0 means unlimited, as in Temporal's API. */
export interface RetryNumbers {
  initialSeconds: number;
  backoffCoefficient: number;
  maximumSeconds: number;
  maximumAttempts: number;
}

/**
 * How long an activity under `policy` keeps being retried when every attempt fails at once: the sum of the waits
 * between its attempts, min(initial × coefficient^(n−1), maximum) for n = 1 … maximumAttempts − 1 (Temporal's backoff,
 * https://docs.temporal.io/encyclopedia/retry-policies). Infinity when attempts are unlimited.
 */
export function retryWindowSeconds(policy: RetryNumbers): number {
  if (policy.maximumAttempts <= 0) return Infinity;
  let total = 0;
  for (let n = 1; n < policy.maximumAttempts; n++) {
    total += Math.min(policy.initialSeconds * policy.backoffCoefficient ** (n - 1), policy.maximumSeconds);
  }
  return total;
}

/** A workflow's RetryPolicy (durations as strings or milliseconds) in numbers; Temporal's defaults where unset. */
export function fromWorkflowPolicy(policy: RetryPolicy): RetryNumbers {
  const initialSeconds = msToNumber(policy.initialInterval ?? '1 second') / 1000;
  return {
    initialSeconds,
    backoffCoefficient: policy.backoffCoefficient ?? 2,
    maximumSeconds:
      policy.maximumInterval !== undefined ? msToNumber(policy.maximumInterval) / 1000 : 100 * initialSeconds,
    maximumAttempts: policy.maximumAttempts ?? 0,
  };
}

/** The retry policy the server recorded in an ActivityTaskScheduled event, in numbers. */
export function fromRecordedPolicy(policy: temporal.api.common.v1.IRetryPolicy): RetryNumbers {
  const seconds = (d: temporal.api.common.v1.IRetryPolicy['initialInterval']) =>
    Number(d?.seconds ?? 0) + (d?.nanos ?? 0) / 1e9;
  return {
    initialSeconds: seconds(policy.initialInterval),
    backoffCoefficient: policy.backoffCoefficient ?? 0,
    maximumSeconds: seconds(policy.maximumInterval),
    maximumAttempts: policy.maximumAttempts ?? 0,
  };
}

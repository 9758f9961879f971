import { ApplicationFailure } from '@temporalio/activity';
import { DomainError } from '../common/errors';

/**
 * How an error leaving an activity meets its retry policy (workflows/retry-policies.ts: retried for an hour, so
 * that a Postgres or Temporal outage loses no job).
 *
 * - A DomainError (common/errors.ts: a model or version that does not exist, invalid or unprocessable input) says the
 *   input or the state it names is wrong, which no retry changes: it becomes a non-retryable ApplicationFailure with
 *   the same message and type (the error's class name, the type Temporal gives a plain error anyway), so the job
 *   fails on the first attempt instead of after an hour.
 * - Anything else is returned unchanged and retried: a refused or dropped Postgres connection (ECONNREFUSED,
 *   "Connection terminated unexpectedly", SQLSTATE 57P01 admin_shutdown or 57P03 cannot_connect_now while it
 *   restarts), a timeout, a failed Temporal call, and every ApplicationFailure the activity built itself (those that
 *   can never succeed are already nonRetryable where they are thrown).
 */
export function asActivityFailure(err: unknown): unknown {
  if (err instanceof DomainError) return ApplicationFailure.nonRetryable(err.message, err.name);
  return err;
}

/** The same activities, each throwing its errors through asActivityFailure. */
export function withFailureClasses<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const wrapped: Record<string, (...args: never[]) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw asActivityFailure(err);
      }
    };
  }
  return wrapped as T;
}

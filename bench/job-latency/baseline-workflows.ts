import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

/**
 * The bench's Temporal baselines (bench/job-latency/temporal-baseline.ts): the same server round trips a Kiln job
 * makes, with nothing of Kiln's inside, so their time is the floor that the server and the SDK set.
 */
interface EchoActivities {
  echo(value: number): Promise<number>;
}

const { echo } = proxyActivities<EchoActivities>({ startToCloseTimeout: '1 minute' });
const local = proxyLocalActivities<EchoActivities>({ startToCloseTimeout: '1 minute' });

/** Start → one workflow task → completed. */
export async function noopWorkflow(value: number): Promise<number> {
  return value;
}

/** A Kiln job's shape: start → workflow task → one activity → workflow task → completed. */
export async function oneActivityWorkflow(value: number): Promise<number> {
  return echo(value);
}

/** The local-activity shape: start → one workflow task that runs the activity in the worker → completed. */
export async function oneLocalActivityWorkflow(value: number): Promise<number> {
  return local.echo(value);
}

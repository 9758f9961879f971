import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { historyPhases } from './history-phases';
import { medians, stats } from './stats';

type BaselineWorkflow = 'noopWorkflow' | 'oneActivityWorkflow' | 'oneLocalActivityWorkflow';

/** One baseline: start → result round trips of a trivial workflow, with the median phases of their histories. */
export interface TemporalBaseline {
  name: string;
  ms: ReturnType<typeof stats>;
  phases: Record<string, number>;
}

const WORKFLOWS: Array<{ name: string; workflow: BaselineWorkflow; eager: boolean }> = [
  { name: 'no-op workflow', workflow: 'noopWorkflow', eager: false },
  { name: 'no-op workflow, eager start (client and worker in one process)', workflow: 'noopWorkflow', eager: true },
  { name: 'one-activity workflow (a Kiln job’s shape)', workflow: 'oneActivityWorkflow', eager: false },
  { name: 'one-local-activity workflow', workflow: 'oneLocalActivityWorkflow', eager: false },
];

/**
 * Temporal's own floor on the server Kiln uses: trivial workflows (bench/job-latency/baseline-workflows.ts) run by a
 * worker in this process on a task queue of their own, `runs` of each after two warm-ups, start to result. The eager
 * case asks the server to hand the first workflow task back in the start's answer, which needs the client and the
 * worker to share one connection in one process.
 */
export async function temporalBaselines(
  connectionOptions: Parameters<typeof NativeConnection.connect>[0],
  namespace: string,
  runs: number,
): Promise<TemporalBaseline[]> {
  const connection = await NativeConnection.connect(connectionOptions);
  try {
    const taskQueue = `bench-latency-${randomUUID()}`;
    const worker = await Worker.create({
      connection,
      namespace,
      taskQueue,
      workflowsPath: require.resolve('./baseline-workflows'),
      activities: { echo: async (value: number) => value },
    });
    const client = new Client({ connection, namespace });
    return await worker.runUntil(async () => {
      const results: TemporalBaseline[] = [];
      for (const { name, workflow, eager } of WORKFLOWS) {
        const ms: number[] = [];
        const ids: string[] = [];
        for (let i = 0; i < runs + 2; i++) {
          const workflowId = `bench-${workflow}-${randomUUID()}`;
          const t0 = performance.now();
          const handle = await client.workflow.start(workflow, {
            taskQueue,
            workflowId,
            args: [i],
            ...(eager ? { requestEagerStart: true } : {}),
          });
          await handle.result();
          if (i >= 2) {
            ms.push(performance.now() - t0);
            ids.push(workflowId);
          }
        }
        const phases = await Promise.all(
          ids.map(
            async (id) => historyPhases((await client.workflow.getHandle(id).fetchHistory()).events ?? []).phases,
          ),
        );
        results.push({ name, ms: stats(ms), phases: medians(phases) });
      }
      return results;
    });
  } finally {
    await connection.close();
  }
}

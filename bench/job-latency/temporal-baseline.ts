import { randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { historyPhases } from './history-phases';
import { ProcessCpu } from './process-cpu';
import { medians, stats } from './stats';

type BaselineWorkflow = 'noopWorkflow' | 'oneActivityWorkflow' | 'oneLocalActivityWorkflow';

/** One baseline: start → result round trips of a trivial workflow, with the median phases of their histories. */
export interface TemporalBaseline {
  name: string;
  ms: ReturnType<typeof stats>;
  phases: Record<string, number>;
  /** The Temporal server's CPU ms per workflow, when the platform's pid file names it (process-cpu.ts). */
  serverCpuMsPerWorkflow?: number;
  /** Workflows completed per second by 32 concurrent clients (start, then wait for the result). */
  throughputC32?: number;
}

const THROUGHPUT_CONCURRENCY = 32;

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
 * worker to share one connection in one process. With `cpu`, the server's CPU per workflow (one at a time); and each
 * shape's throughput with 32 concurrent clients: on this server, the ceiling for any job of that shape.
 */
export async function temporalBaselines(
  connectionOptions: Parameters<typeof NativeConnection.connect>[0],
  namespace: string,
  runs: number,
  cpu?: ProcessCpu,
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
        const runOnce = async (i: number) => {
          const workflowId = `bench-${workflow}-${randomUUID()}`;
          const handle = await client.workflow.start(workflow, {
            taskQueue,
            workflowId,
            args: [i],
            ...(eager ? { requestEagerStart: true } : {}),
          });
          await handle.result();
          return workflowId;
        };
        for (let i = 0; i < 2; i++) await runOnce(i);
        const ms: number[] = [];
        const ids: string[] = [];
        const cpuBefore = cpu?.sample()?.temporal;
        for (let i = 0; i < runs; i++) {
          const t0 = performance.now();
          ids.push(await runOnce(i));
          ms.push(performance.now() - t0);
        }
        const cpuAfter = cpu?.sample()?.temporal;
        const phases = await Promise.all(
          ids.map(
            async (id) => historyPhases((await client.workflow.getHandle(id).fetchHistory()).events ?? []).phases,
          ),
        );
        // Closed-loop clients, each starting its next workflow when the last one's result came.
        const jobs = Math.max(runs, 2 * THROUGHPUT_CONCURRENCY);
        let next = 0;
        const t0 = performance.now();
        await Promise.all(
          Array.from({ length: THROUGHPUT_CONCURRENCY }, async () => {
            for (let i = next++; i < jobs; i = next++) await runOnce(i);
          }),
        );
        const seconds = (performance.now() - t0) / 1000;
        results.push({
          name,
          ms: stats(ms),
          phases: medians(phases),
          ...(cpuBefore !== undefined && cpuAfter !== undefined
            ? { serverCpuMsPerWorkflow: Number(((cpuAfter - cpuBefore) / runs).toFixed(1)) }
            : {}),
          throughputC32: Number((jobs / seconds).toFixed(1)),
        });
      }
      return results;
    });
  } finally {
    await connection.close();
  }
}

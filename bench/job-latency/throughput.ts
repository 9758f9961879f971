import { KilnApi, runJob } from './kiln-job';
import { cpuPerJob, ProcessCpu } from './process-cpu';
import { stats } from './stats';

/** Small jobs completed per second with `concurrency` clients, each posting a job and waiting for its result. */
export interface ThroughputResult {
  concurrency: number;
  jobs: number;
  seconds: number;
  jobsPerSecond: number;
  /** Each job's POST → result, under this load. */
  endToEndMs: ReturnType<typeof stats>;
  /** CPU ms per job of each platform process (process-cpu.ts), when its pid file could be read. */
  cpuMsPerJob?: Record<string, number>;
}

/**
 * Runs `jobs` jobs (bodies from `bodyFor(i)`) through `concurrency` closed-loop clients and measures the wall time
 * from the first POST to the last result. Any failed job fails the run.
 */
export async function throughput(
  api: KilnApi,
  concurrency: number,
  jobs: number,
  bodyFor: (i: number) => string,
  expectLabels: number,
  cpu?: ProcessCpu,
): Promise<ThroughputResult> {
  let next = 0;
  const latencies: number[] = [];
  const cpuBefore = cpu?.sample();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < jobs; i = next++) {
        const sample = await runJob(api, bodyFor(i), expectLabels);
        latencies.push(sample.resultAt - sample.postedAt);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpuMsPerJob = cpuPerJob(cpuBefore, cpu?.sample(), jobs);
  return {
    concurrency,
    jobs,
    seconds: Number(seconds.toFixed(2)),
    jobsPerSecond: Number((jobs / seconds).toFixed(1)),
    endToEndMs: stats(latencies),
    ...(cpuMsPerJob ? { cpuMsPerJob } : {}),
  };
}

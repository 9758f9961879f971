import * as os from 'node:os';

/** What a result was measured on, for bench/results/*.json: cores, memory, Node and the load at the time. */
export function machine() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverage: os.loadavg().map((v) => Number(v.toFixed(2))),
  };
}

/**
 * DCGM fields Kiln knows by name: their unit and the values they can take, from NVIDIA's DCGM field reference
 * (dcgm_fields.h) and the dcgm-exporter's default counters (etc/default-counters.csv). A telemetry upload may carry any
 * other metric name too (profiling fields, NVLink, custom counters): it is stored as is, without a unit or a range
 * check. A value of a known field outside its range is refused, naming the row: it is a broken scrape or a column mix-up
 * (a ratio where a percentage belongs), and a plot of it would mislead.
 */

/** One known field: what its values mean and the closed range they lie in. */
export interface DcgmField {
  /** Unit as shown to people: `%`, `MiB`, `W`, `°C`, `MHz`, `mJ`, `B/s`, `ratio` (0–1) or `count`. */
  unit: string;
  description: string;
  min: number;
  max: number;
}

const percent = (description: string): DcgmField => ({ unit: '%', description, min: 0, max: 100 });
const ratio = (description: string): DcgmField => ({ unit: 'ratio', description, min: 0, max: 1 });
const atLeastZero = (unit: string, description: string): DcgmField => ({ unit, description, min: 0, max: Infinity });
// Absolute zero is the only bound a temperature sensor's reading has for sure.
const celsius = (description: string): DcgmField => ({ unit: '°C', description, min: -273.15, max: Infinity });

/** The known fields, by metric name as the exporter writes it. */
export const DCGM_FIELDS: Readonly<Record<string, DcgmField>> = Object.freeze({
  DCGM_FI_DEV_GPU_UTIL: percent('GPU utilization: time one or more kernels ran over the sample period'),
  DCGM_FI_DEV_MEM_COPY_UTIL: percent('memory utilization: time device memory was read or written'),
  DCGM_FI_DEV_ENC_UTIL: percent('encoder utilization'),
  DCGM_FI_DEV_DEC_UTIL: percent('decoder utilization'),
  DCGM_FI_DEV_FB_USED: atLeastZero('MiB', 'frame buffer (device memory) used'),
  DCGM_FI_DEV_FB_FREE: atLeastZero('MiB', 'frame buffer (device memory) free'),
  DCGM_FI_DEV_FB_RESERVED: atLeastZero('MiB', 'frame buffer (device memory) reserved by the driver'),
  DCGM_FI_DEV_FB_TOTAL: atLeastZero('MiB', 'frame buffer (device memory) in total'),
  DCGM_FI_DEV_GPU_TEMP: celsius('GPU temperature'),
  DCGM_FI_DEV_MEMORY_TEMP: celsius('memory temperature'),
  DCGM_FI_DEV_POWER_USAGE: atLeastZero('W', 'power draw'),
  DCGM_FI_DEV_POWER_MGMT_LIMIT: atLeastZero('W', 'power management limit'),
  DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION: atLeastZero('mJ', 'energy consumed since the driver was last loaded'),
  DCGM_FI_DEV_SM_CLOCK: atLeastZero('MHz', 'SM clock'),
  DCGM_FI_DEV_MEM_CLOCK: atLeastZero('MHz', 'memory clock'),
  DCGM_FI_DEV_PCIE_REPLAY_COUNTER: atLeastZero('count', 'PCIe replays (retries)'),
  DCGM_FI_DEV_XID_ERRORS: atLeastZero('count', 'the last XID error code'),
  DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL: atLeastZero('count', 'NVLink bandwidth counter, all lanes'),
  DCGM_FI_PROF_GR_ENGINE_ACTIVE: ratio('graphics engine active'),
  DCGM_FI_PROF_SM_ACTIVE: ratio('SMs with at least one warp assigned'),
  DCGM_FI_PROF_SM_OCCUPANCY: ratio('warps resident on an SM over its maximum'),
  DCGM_FI_PROF_PIPE_TENSOR_ACTIVE: ratio('tensor pipes active'),
  DCGM_FI_PROF_DRAM_ACTIVE: ratio('device memory interface active'),
  DCGM_FI_PROF_PCIE_TX_BYTES: atLeastZero('B/s', 'PCIe bytes transmitted'),
  DCGM_FI_PROF_PCIE_RX_BYTES: atLeastZero('B/s', 'PCIe bytes received'),
});

/** A Prometheus metric name (what the exporter writes in metric_name), at most 128 characters. */
export const METRIC_NAME = /^[A-Za-z_:][A-Za-z0-9_:]{0,127}$/;

/** The unit of a known field; null for a metric Kiln stores without knowing it. */
export function unitOf(metric: string): string | null {
  return Object.hasOwn(DCGM_FIELDS, metric) ? DCGM_FIELDS[metric].unit : null;
}

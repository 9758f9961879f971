/**
 * GPU discovery through nvidia-smi. Where the binary is missing the machine simply has no GPUs (no error, no log);
 * where it fails (driver not loaded, no devices) the reason is logged and the result is also no GPUs, so the GPU
 * pool does not start. Parsing is separate (parseNvidiaSmiCsv) and pure.
 */
import { spawn } from 'node:child_process';
import { rootLogger } from '../common/logger';
import { gpuClassOf } from './gpu-class';

export interface DiscoveredDevice {
  /** The device index nvidia-smi reports (what CUDA_VISIBLE_DEVICES takes), or the declared / generated one. */
  index: number;
  /** 'GPU-…' from nvidia-smi, or `declared-<index>` for a declared device without one. */
  uuid: string;
  name: string;
  memoryTotalMb: number;
  memoryUsedMb?: number;
  utilizationPct?: number;
  temperatureC?: number;
  /** gpuClassOf(name), e.g. 'h100'. */
  gpuClass: string;
  /** Where the device came from: a real nvidia-smi query, or a declared inventory standing in for one. */
  source: 'nvidia-smi' | 'declared';
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; rejects with an error whose `code` is 'ENOENT' when the binary does not exist. */
export type CommandRunner = (cmd: string, args: string[]) => Promise<CommandResult>;

export type DiscoveryLogger = (message: string) => void;

export const NVIDIA_SMI = 'nvidia-smi';
export const NVIDIA_SMI_FIELDS = [
  'index',
  'uuid',
  'name',
  'memory.total',
  'memory.used',
  'utilization.gpu',
  'temperature.gpu',
] as const;
export const NVIDIA_SMI_ARGS: readonly string[] = [
  `--query-gpu=${NVIDIA_SMI_FIELDS.join(',')}`,
  '--format=csv,noheader,nounits',
];
/** The default runner gives nvidia-smi this long (it can hang on a wedged driver). */
export const NVIDIA_SMI_TIMEOUT_MS = 15_000;

/** A row that could not be read, and why. */
export interface SkippedRow {
  line: number;
  text: string;
  reason: string;
}

const NOT_AVAILABLE = /^\[?(n\/a|not supported|unknown error|insufficient permissions|gpu is lost)\]?$/i;

/** A numeric field: undefined for '[N/A]', '[Not Supported]', empty and the like; units after the number are ignored. */
function optionalNumber(raw: string): number | undefined {
  const text = raw.trim();
  if (text === '' || NOT_AVAILABLE.test(text)) return undefined;
  const match = /^(-?\d+(?:\.\d+)?)(?:\s*(?:mib|mb|%|c))?$/i.exec(text);
  return match ? Number(match[1]) : undefined;
}

/**
 * Parses `nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu,temperature.gpu
 * --format=csv,noheader,nounits` output. Tolerates CRLF, blank lines, padding around values, a header line, units left
 * in (without nounits) and a name containing commas (fields are taken from both ends). '[N/A]'-style optional values
 * become undefined. Rows without a usable index or memory.total are skipped and reported through `onSkip`.
 */
export function parseNvidiaSmiCsv(text: string, onSkip?: (row: SkippedRow) => void): DiscoveredDevice[] {
  const devices: DiscoveredDevice[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((rawLine, i) => {
    const line = rawLine.trim();
    if (line === '') return;
    const skip = (reason: string): void => onSkip?.({ line: i + 1, text: line, reason });
    if (/^index\s*,/i.test(line)) return; // a header, if --format had no noheader
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length < NVIDIA_SMI_FIELDS.length)
      return skip(`expected ${NVIDIA_SMI_FIELDS.length} fields, got ${fields.length}`);
    const tail = fields.slice(-4);
    const name = fields
      .slice(2, fields.length - 4)
      .join(', ')
      .trim();
    const index = optionalNumber(fields[0]);
    if (index === undefined || !Number.isInteger(index) || index < 0)
      return skip(`index ${JSON.stringify(fields[0])} is not a non-negative integer`);
    const uuid = fields[1];
    if (uuid === '' || NOT_AVAILABLE.test(uuid)) return skip('uuid is missing');
    if (name === '') return skip('name is missing');
    const memoryTotalMb = optionalNumber(tail[0]);
    if (memoryTotalMb === undefined || memoryTotalMb <= 0)
      return skip(`memory.total ${JSON.stringify(tail[0])} is not a positive number`);
    const device: DiscoveredDevice = {
      index,
      uuid,
      name,
      memoryTotalMb,
      gpuClass: gpuClassOf(name),
      source: 'nvidia-smi',
    };
    const memoryUsedMb = optionalNumber(tail[1]);
    const utilizationPct = optionalNumber(tail[2]);
    const temperatureC = optionalNumber(tail[3]);
    if (memoryUsedMb !== undefined) device.memoryUsedMb = memoryUsedMb;
    if (utilizationPct !== undefined) device.utilizationPct = utilizationPct;
    if (temperatureC !== undefined) device.temperatureC = temperatureC;
    devices.push(device);
  });
  return devices;
}

/** Runs a command without a shell, collecting its output; kills it after timeoutMs (exit code then non-zero). */
export function runCommand(cmd: string, args: string[], timeoutMs = NVIDIA_SMI_TIMEOUT_MS): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr: signal ? `${stderr}killed by ${signal}` : stderr }),
    );
  });
}

function isMissingBinary(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}

const defaultLogger: DiscoveryLogger = (message) => rootLogger().child({ module: 'gpu-discovery' }).warn(message);

/**
 * The GPUs nvidia-smi reports, or [] where there are none to use: binary missing (silently), a non-zero exit or a
 * failure to run it (logged with the reason). Malformed rows are logged and skipped; the rest are returned.
 */
export async function discoverDevices(
  run: CommandRunner = (cmd, args) => runCommand(cmd, args),
  options: { log?: DiscoveryLogger } = {},
): Promise<DiscoveredDevice[]> {
  const log = options.log ?? defaultLogger;
  let result: CommandResult;
  try {
    result = await run(NVIDIA_SMI, [...NVIDIA_SMI_ARGS]);
  } catch (err) {
    if (isMissingBinary(err)) return [];
    log(
      `GPU discovery: could not run ${NVIDIA_SMI}: ${err instanceof Error ? err.message : String(err)}; reporting no GPUs`,
    );
    return [];
  }
  if (result.code !== 0) {
    // 127 is a shell's "command not found": the same as a missing binary.
    if (result.code === 127) return [];
    const reason = (result.stderr.trim() || result.stdout.trim() || 'no output').split(/\r?\n/).slice(0, 3).join(' | ');
    log(`GPU discovery: ${NVIDIA_SMI} exited with code ${result.code}: ${reason}; reporting no GPUs`);
    return [];
  }
  return parseNvidiaSmiCsv(result.stdout, (row) =>
    log(`GPU discovery: skipped ${NVIDIA_SMI} line ${row.line} (${row.reason}): ${row.text}`),
  );
}

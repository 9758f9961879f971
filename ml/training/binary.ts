/**
 * The one binary layout shared by training checkpoints and trained-model artifacts:
 *   4 bytes     ASCII magic ('KLNC' checkpoint, 'KLNM' model)
 *   uint32 LE   header length H (bytes)
 *   H bytes     UTF-8 JSON header, space-padded so the data starts at a multiple of 4; it holds `tensors`:
 *               [{ name, shape, offset, length }] with offset/length in float32 elements into the data
 *   data        float32 little-endian values of every tensor, concatenated
 */
import { endianness } from 'node:os';

export interface NamedArray {
  name: string;
  shape: number[];
  values: Float32Array;
}

interface TensorEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** Thrown by unpack for bytes that are not a well-formed file of the expected kind. */
export class TrainingFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingFormatError';
  }
}

export function pack(magic: string, header: Record<string, unknown>, arrays: NamedArray[]): Buffer {
  if (Buffer.byteLength(magic) !== 4) throw new RangeError('magic must be 4 ASCII bytes');
  let offset = 0;
  const tensors: TensorEntry[] = arrays.map((a) => {
    const e = { name: a.name, shape: a.shape, offset, length: a.values.length };
    offset += a.values.length;
    return e;
  });
  const json = JSON.stringify({ ...header, tensors });
  const len = Buffer.byteLength(json, 'utf8');
  const headerBytes = Buffer.from(json + ' '.repeat((4 - ((8 + len) % 4)) % 4), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.write(magic, 0, 'ascii');
  prefix.writeUInt32LE(headerBytes.length, 4);
  const data = Buffer.allocUnsafe(offset * 4);
  let at = 0;
  for (const a of arrays) {
    if (LITTLE_ENDIAN) Buffer.from(a.values.buffer, a.values.byteOffset, a.values.byteLength).copy(data, at);
    else for (let i = 0; i < a.values.length; i++) data.writeFloatLE(a.values[i], at + i * 4);
    at += a.values.byteLength;
  }
  return Buffer.concat([prefix, headerBytes, data]);
}

/** The JSON header of a file in this layout, without reading its arrays; TrainingFormatError for a malformed one. */
export function unpackHeader(buf: Buffer, magic: string, what: string): Record<string, unknown> {
  if (!Buffer.isBuffer(buf) || buf.length < 8 || buf.toString('ascii', 0, 4) !== magic) {
    throw new TrainingFormatError(`not a ${what} (bad magic)`);
  }
  const headerLength = buf.readUInt32LE(4);
  if (8 + headerLength > buf.length) throw new TrainingFormatError(`truncated ${what} header`);
  try {
    return JSON.parse(buf.toString('utf8', 8, 8 + headerLength)) as Record<string, unknown>;
  } catch {
    throw new TrainingFormatError(`${what} header is not JSON`);
  }
}

export function unpack(
  buf: Buffer,
  magic: string,
  what: string,
): { header: Record<string, unknown>; arrays: NamedArray[] } {
  const header = unpackHeader(buf, magic, what);
  const headerLength = buf.readUInt32LE(4);
  const dataStart = 8 + headerLength;
  const count = (buf.length - dataStart) / 4;
  const entries = header.tensors as TensorEntry[] | undefined;
  if (!Array.isArray(entries) || !Number.isInteger(count)) throw new TrainingFormatError(`malformed ${what}`);
  const arrays = entries.map((e) => {
    const size = e.shape.reduce((p, s) => p * s, 1);
    if (e.length !== size || e.offset < 0 || e.offset + e.length > count)
      throw new TrainingFormatError(`malformed ${what}: tensor ${e.name}`);
    const values = new Float32Array(e.length);
    const start = dataStart + e.offset * 4;
    if (LITTLE_ENDIAN) buf.copy(Buffer.from(values.buffer), 0, start, start + e.length * 4);
    else for (let i = 0; i < e.length; i++) values[i] = buf.readFloatLE(start + i * 4);
    return { name: e.name, shape: e.shape, values };
  });
  delete header.tensors;
  return { header, arrays };
}

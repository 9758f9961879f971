/**
 * What a GPU device id may look like: a device UUID as nvidia-smi and DCGM write it (`GPU-1f2e…`), or an operator's
 * declared id: a letter or digit, then up to 127 of [A-Za-z0-9._:-]. Every stored id matches it, so that it is a path
 * segment of GET /api/v1/gpus/:id/telemetry and a field of a COPY line as it is (no tab, backslash or line break).
 */
export const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

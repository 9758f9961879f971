import type { Pool } from 'pg';
import { ConflictError, PayloadTooLargeError } from '../../common/errors';
import type { TelemetryLimits } from '../../common/telemetry-limits';
import { idleLimitedStream } from '../../datasets/idle-stream';
import { ByteSource, checkDeclaredLength } from '../../datasets/read-body';
import {
  createIngestedDevices,
  createMetricStaging,
  insertMetricSamples,
  touchIngestedDevices,
} from '../../db/gpu-metrics';
import { inTransaction, PG_ERROR } from '../../db/pool';
import { DcgmBatch, DcgmCsvReader, DcgmDevice } from '../../gpu/dcgm-csv';
import { gpuClassOf } from '../../gpu/gpu-class';

/** Distinct devices one upload may name: a thousand 8-GPU nodes, with room; the answer lists them. */
export const MAX_DEVICES_PER_UPLOAD = 10_000;

/** What ingestTelemetry reads: the database and the upload limits (ApiDeps satisfies it). */
export interface IngestDeps {
  pool: Pool;
  telemetryLimits: TelemetryLimits;
}

/** The outcome of one upload. `inserted + alreadyPresent = rows`. */
export interface IngestSummary {
  /** Data rows (samples) in the upload. */
  rows: number;
  /** Samples stored by this upload. */
  inserted: number;
  /** Samples that were stored already (an earlier upload, or a repeat within this one): kept as first stored. */
  alreadyPresent: number;
  /** Earliest and latest sample. */
  startTime: Date;
  endTime: Date;
  /** Every device the upload names, in order of first appearance, and those it created (source `dcgm`). */
  devices: string[];
  devicesCreated: string[];
}

function asIngestedDevice(d: DcgmDevice) {
  return {
    id: d.id,
    index: d.index,
    name: d.modelName,
    gpuClass: d.modelName.trim() === '' ? null : gpuClassOf(d.modelName),
    host: d.hostname,
    lastSeen: new Date(d.firstSeenMs),
  };
}

/**
 * Ingests a flattened DCGM scrape (gpu/dcgm-csv.ts) streamed from `source`, atomically: one transaction for the whole
 * upload, so a bad row, a limit crossed or a lost connection anywhere stores nothing. Each batch of validated rows is
 * stored as it is read (db/gpu-metrics.ts), so neither the body nor its rows are ever held whole. The header and first
 * batch are read before a database connection is taken. Idempotent: a sample already stored (same device, instant and
 * metric) is counted in `alreadyPresent` and left as it was.
 *
 * Throws ValidationError (400, naming `row N, column "x"`, `row N`, `header` or `body`), RequestTimeoutError (408,
 * `body`: nothing arrived for `idleTimeoutMs`; rolled back, connection released), PayloadTooLargeError (413:
 * body bytes, rows, or more than MAX_DEVICES_PER_UPLOAD devices), ConflictError (409 `upload_conflict`: a concurrent
 * upload of some of the same samples in another order deadlocked with this one, which Postgres rolled back; sending it
 * again stores what is missing), or what Postgres raises (503 when it is down or slow).
 */
export async function ingestTelemetry(
  deps: IngestDeps,
  source: ByteSource,
  batchRows?: number,
): Promise<IngestSummary> {
  // The request's headers are out of the reader's sight behind the idle wrapper: its declared length is checked here.
  checkDeclaredLength(source, deps.telemetryLimits.maxBodyBytes);
  // A client that stops sending would hold the transaction (and a pool connection) open: idleTimeoutMs ends it.
  const reader = new DcgmCsvReader(
    idleLimitedStream(source, deps.telemetryLimits.idleTimeoutMs),
    deps.telemetryLimits,
    batchRows,
  );
  const batches = reader.batches();
  const checkDevices = (batch: DcgmBatch) => {
    if (reader.devices.size > MAX_DEVICES_PER_UPLOAD) {
      throw new PayloadTooLargeError(
        `the upload names more than ${MAX_DEVICES_PER_UPLOAD} devices (uuid); split it by host`,
        'body',
      );
    }
    return batch;
  };
  try {
    let next = await batches.next();
    return await inTransaction(deps.pool, async (client) => {
      await createMetricStaging(client);
      let inserted = 0;
      const devicesCreated: string[] = [];
      const store = async (batch: DcgmBatch) => {
        devicesCreated.push(...(await createIngestedDevices(client, batch.newDevices.map(asIngestedDevice))));
        inserted += await insertMetricSamples(client, batch.samples);
      };
      // Postgres stores one batch while the next is parsed: two cores at work instead of one at a time. The store
      // in flight is awaited before the next starts (one connection) and before any error leaves (the rollback
      // follows it on the same connection).
      let storing: Promise<void> = Promise.resolve();
      while (!next.done) {
        const batch = checkDevices(next.value);
        await storing;
        storing = store(batch);
        // Handled here so that a failed store is not reported as unhandled while the next batch is read.
        void storing.catch(() => undefined);
        try {
          next = await batches.next();
        } catch (err) {
          await storing.catch(() => undefined);
          throw err;
        }
      }
      await storing;
      const devices = [...reader.devices.keys()];
      await touchIngestedDevices(client, devices, new Date(reader.lastMs));
      return {
        rows: reader.rows,
        inserted,
        alreadyPresent: reader.rows - inserted,
        startTime: new Date(reader.firstMs),
        endTime: new Date(reader.lastMs),
        devices,
        devicesCreated,
      };
    });
  } catch (err) {
    if ((err as { code?: unknown }).code === PG_ERROR.deadlockDetected) {
      throw new ConflictError(
        'a concurrent upload of some of the same samples held them; nothing of this upload was stored: send it again',
        'upload_conflict',
      );
    }
    throw err;
  } finally {
    // Stops the read (and csv-parse) when the store failed half-way; a no-op after a complete read.
    await batches.return(undefined);
  }
}

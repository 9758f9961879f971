import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/worker';
import type { Logger } from '../common/logger';

const PINO_METHOD: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * The Temporal SDK's Logger interface on a pino logger, for `Runtime.install({ logger })`: the SDK's own lines, the
 * forwarded Rust core lines and workflow / activity `log` calls all come out as Kiln log lines, their metadata
 * (sdkComponent, taskQueue, workflowId, ...) as fields. An `error` in the metadata is logged as `err` so pino
 * serializes its stack.
 */
export function temporalLogger(log: Logger): TemporalLogger {
  const write = (level: LogLevel, message: string, meta?: LogMetadata): void => {
    const fields: Record<string, unknown> = { ...meta };
    if (fields.error instanceof Error) {
      fields.err = fields.error;
      delete fields.error;
    }
    log[PINO_METHOD[level]](fields, message);
  };
  return {
    log: write,
    trace: (message, meta) => write('TRACE', message, meta),
    debug: (message, meta) => write('DEBUG', message, meta),
    info: (message, meta) => write('INFO', message, meta),
    warn: (message, meta) => write('WARN', message, meta),
    error: (message, meta) => write('ERROR', message, meta),
  };
}

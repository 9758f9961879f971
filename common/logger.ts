/**
 * Kiln's one logger (pino): human-readable lines in a terminal, one JSON object per line otherwise (KILN_LOG_FORMAT
 * overrides), at KILN_LOG_LEVEL. Each process names itself with a `component` field (api, worker, launcher) and parts
 * within it with `module`; secrets never reach the output (common/redact.ts).
 */
import pino, { DestinationStream, Logger } from 'pino';
import pretty, { PrettyOptions } from 'pino-pretty';
import type { LogConfig, LogFormat, LogLevel } from './config';
import { censor, redactApiKeys, redactPaths, redactUrl } from './redact';

export type { DestinationStream, Logger };

export interface LoggerOptions {
  /** Default `info`. */
  level?: LogLevel;
  /** `auto` (the default): pretty when stdout is a terminal, JSON otherwise. */
  format?: LogFormat;
  /** Where lines go instead of stdout (tests, the launcher). With a destination, `auto` means JSON. */
  destination?: DestinationStream;
}

/** `pretty` or `json` for a configured format: `auto` is pretty exactly when stdout is a terminal. */
export function resolveLogFormat(format: LogFormat = 'auto', isTty = process.stdout.isTTY === true): 'pretty' | 'json' {
  return format === 'auto' ? (isTty ? 'pretty' : 'json') : format;
}

/**
 * pino-pretty's options for Kiln: one line per entry (`HH:MM:ss.l LEVEL [component/module] message {fields}`), with
 * pid and hostname left out. `withComponent: false` leaves the component out too, for the launcher, which prefixes
 * each child's lines with the child's name already.
 */
export function prettyOptions(options: { withComponent?: boolean; colorize?: boolean } = {}): PrettyOptions {
  const withComponent = options.withComponent ?? true;
  return {
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,component,module',
    singleLine: true,
    ...(options.colorize !== undefined ? { colorize: options.colorize } : {}),
    messageFormat: (log, messageKey) => {
      const where = [withComponent ? log.component : undefined, log.module].filter((part) => part !== undefined);
      const message = String(log[messageKey] ?? '');
      return where.length > 0 ? `[${where.join('/')}] ${message}` : message;
    },
  };
}

/**
 * pino's error serializer, with credentials in URLs (a driver may quote its URL) and API keys masked in the message
 * and stack.
 */
function errSerializer(err: Error): pino.SerializedError {
  const serialized = pino.stdSerializers.err(err);
  if (typeof serialized.message === 'string') serialized.message = redactApiKeys(redactUrl(serialized.message));
  if (typeof serialized.stack === 'string') serialized.stack = redactApiKeys(redactUrl(serialized.stack));
  return serialized;
}

/** A new root logger; entry points use initLogging, tests pass a destination to read what was written. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.destination
    ? options.format === 'pretty'
      ? 'pretty'
      : 'json'
    : resolveLogFormat(options.format);
  const destination =
    format === 'pretty'
      ? pretty({ ...prettyOptions(), sync: true, ...(options.destination ? { destination: options.destination } : {}) })
      : (options.destination ?? stdoutDestination());
  return pino(
    {
      level: options.level ?? 'info',
      redact: { paths: redactPaths(), censor },
      // A request path may hold a key pasted into it (DELETE /api/v1/api-keys/<the whole key>).
      serializers: {
        err: errSerializer,
        path: (path: unknown) => (typeof path === 'string' ? redactApiKeys(path) : path),
      },
      hooks: {
        // Credentials inside a URL quoted in the message itself (`connecting to postgres://u:p@h`), and API keys.
        logMethod(args, method) {
          const masked = args.map((arg) => (typeof arg === 'string' ? redactApiKeys(redactUrl(arg)) : arg));
          return method.apply(this, masked as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}

let root: Logger | undefined;

/**
 * The process's logger: the one initLogging installed at start, else a default one (info, format by terminal). For
 * code that may run before or without an entry point (library defaults, tests); entry points pass loggers inward.
 */
export function rootLogger(): Logger {
  root ??= createLogger();
  return root;
}

/**
 * Called once by an entry point, right after loading the configuration: installs the process's root logger at the
 * configured level and format, carrying `bindings` (e.g. `{ component: 'api' }`) on every line, and returns it. Lines
 * go to stdout, or to `destination`.
 */
export function initLogging(
  config: LogConfig,
  bindings: Record<string, unknown> = {},
  destination?: DestinationStream,
): Logger {
  root = createLogger({ level: config.level, format: config.format, ...(destination ? { destination } : {}) }).child(
    bindings,
  );
  return root;
}

/** Standard output as pino writes it (synchronously, so nothing is lost at process.exit); shareable with raw writes. */
export function stdoutDestination(): DestinationStream {
  return pino.destination({ dest: 1, sync: true });
}

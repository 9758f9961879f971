import { prettyFactory } from 'pino-pretty';
import type { DestinationStream, Logger } from '../common/logger';
import { prettyOptions } from '../common/logger';

/** What the launcher needs to show a child's output: its own log format, logger and standard output. */
export interface ChildOutputOptions {
  /** The launcher's resolved log format. */
  format: 'pretty' | 'json';
  /** The launcher's logger: non-JSON child lines are logged through it in JSON mode. */
  log: Logger;
  /** Where pass-through and prefixed lines are written (the launcher's stdout destination). */
  out: DestinationStream;
  /**
   * Whether the child is a Kiln process logging Kiln's JSON lines (default true). Postgres and the Temporal dev
   * server log in their own formats: their lines are always treated as text.
   */
  kilnLines?: boolean;
}

/** The JSON object a line holds, or undefined when it is not one (a child's plain output, a crash trace). */
function jsonObject(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The level of a plain text line from Postgres (`FATAL:`, `PANIC:`, `ERROR:`, `WARNING:`), the Temporal dev server
 * (`level=ERROR`, `level=WARN`) or a crash trace (`Error:`, `Unhandled`): a problem must not read as info.
 */
export function textLineLevel(line: string): 'error' | 'warn' | 'info' {
  if (/\b(FATAL|PANIC|ERROR):|level=(ERROR|FATAL|DPANIC|PANIC)\b|^\s*(\w*Error|Unhandled)\b/.test(line)) return 'error';
  if (/\bWARNING:|level=WARN\b/.test(line)) return 'warn';
  return 'info';
}

/**
 * A writer for one child's output lines (`name`: postgres, temporal, api, worker:cpu ...). The launcher's children log
 * JSON (it sets their KILN_LOG_FORMAT=json); their output then appears as follows.
 * - JSON mode: a JSON line passes through unchanged (it already names its component, pool and pid); any other line
 *   (Postgres, the Temporal dev server, a crash trace) becomes a launcher log line with `process: name` at the level
 *   the line states (textLineLevel), so that the whole output stays one JSON object per line.
 * - Pretty mode (a terminal): every line is prefixed with `[name]`, JSON lines rendered human-readable first.
 */
export function childOutput(name: string, options: ChildOutputOptions): (line: string) => void {
  const parse = options.kilnLines === false ? () => undefined : jsonObject;
  if (options.format === 'json') {
    const log = options.log.child({ process: name });
    return (line) => {
      if (parse(line)) options.out.write(`${line}\n`);
      else log[textLineLevel(line)](line);
    };
  }
  const prefix = `[${name}]`.padEnd(14);
  const prettify = prettyFactory(prettyOptions({ withComponent: false }));
  return (line) => {
    const entry = parse(line);
    const text = entry ? prettify(entry).replace(/\n$/, '') : line;
    options.out.write(
      text
        .split('\n')
        .map((part) => `${prefix} ${part}\n`)
        .join(''),
    );
  };
}

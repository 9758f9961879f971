import { parseArgs } from 'node:util';

/** A command line that does not match an entry point's flags; the message lists the valid ones. */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

/** An entry point's flags: each takes one value, shown in messages as `--name VALUE` (e.g. `{ pool: 'cpu|gpu' }`). */
export type FlagSpec = Readonly<Record<string, string>>;

/** `--pool cpu|gpu, --device N` (or "none"), for messages. */
export function describeFlags(spec: FlagSpec): string {
  const flags = Object.entries(spec).map(([name, value]) => `--${name} ${value}`);
  return flags.length > 0 ? flags.join(', ') : 'none (configure it with environment variables, README: Configuration)';
}

/**
 * The flags in argv (`--name VALUE` or `--name=VALUE`; the last one wins when repeated), through node:util parseArgs
 * in strict mode: an unknown flag, a flag without its value or a positional argument throws FlagError naming it and
 * listing the valid flags, so that a typo (`--devcie 1`) stops the process instead of being ignored.
 */
export function parseFlags<S extends FlagSpec>(argv: string[], spec: S): Partial<Record<keyof S & string, string>> {
  const options = Object.fromEntries(Object.keys(spec).map((name) => [name, { type: 'string' as const }]));
  try {
    const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
    return values as Partial<Record<keyof S & string, string>>;
  } catch (err) {
    const code = (err as { code?: string }).code;
    const message = err instanceof Error ? err.message : String(err);
    const quoted = /'([^']+)'/.exec(message)?.[1];
    const problem =
      code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
        ? `unknown flag ${quoted ?? message}`
        : code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'
          ? `unexpected argument ${JSON.stringify(quoted ?? message)}`
          : message.split('\n').join(' ');
    throw new FlagError(`${problem}; valid flags: ${describeFlags(spec)}`);
  }
}

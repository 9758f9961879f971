import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { EXIT_CONFIG, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes';

/**
 * A command line that does not match an entry point's flags (unknown, repeated, without its value, or with a value
 * the flag does not take); the message names the flag. The process exits with EXIT_USAGE (common/exit-codes.ts).
 */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

/** One flag: the value it takes as shown in messages (`cpu|gpu`, `N`) and what it means, for `--help`. */
export interface FlagInfo {
  value: string;
  help: string;
}

/** An entry point's flags by name (without `--`); each takes one value and may be given once. */
export type FlagSpec = Readonly<Record<string, FlagInfo>>;

/** What `--help` says about the command besides its flags. */
export interface CommandHelp {
  /** How to run it, e.g. `npm run worker --`; default: `node <the script>`. */
  usage?: string;
  /** What the command does, one or two sentences. */
  summary?: string;
}

/** `--pool cpu|gpu, --device N` (or "none"), for messages. */
export function describeFlags(spec: FlagSpec): string {
  const flags = Object.entries(spec).map(([name, info]) => `--${name} ${info.value}`);
  return flags.length > 0 ? flags.join(', ') : 'none (configure it with environment variables, README: Configuration)';
}

/** The text `--help` prints: usage, summary, each flag and what it means, and the exit statuses. */
export function helpText(spec: FlagSpec, command: CommandHelp = {}): string {
  const script = process.argv[1] ? path.relative(process.cwd(), process.argv[1]) || process.argv[1] : 'kiln';
  const usage = command.usage ?? `node ${script}`;
  const entries = Object.entries(spec);
  const rows: Array<[string, string]> = [
    ...entries.map(([name, info]): [string, string] => [`--${name} ${info.value}`, info.help]),
    ['-h, --help', 'print this help and exit'],
  ];
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return [
    `Usage: ${usage}${entries.map(([name, info]) => ` [--${name} ${info.value}]`).join('')}`,
    ...(command.summary ? ['', command.summary] : []),
    '',
    entries.length > 0 ? 'Flags (each at most once; a flag wins over its environment variable):' : 'Flags:',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`),
    '',
    'Every setting is an environment variable, checked when the process starts (README: Configuration).',
    `Exit status: ${EXIT_OK} done, ${EXIT_FAILURE} failed, ${EXIT_USAGE} bad command line, ` +
      `${EXIT_CONFIG} bad configuration.`,
    '',
  ].join('\n');
}

/** `--help`'s default: the help on stdout (written synchronously, so none is lost), then exit with EXIT_OK. */
function printHelpAndExit(text: string): never {
  fs.writeSync(1, text);
  process.exit(EXIT_OK);
}

export interface ParseFlagsOptions {
  /** What `--help` says about the command. */
  command?: CommandHelp;
  /** Called with the help text on `-h` / `--help` (default: print it and exit 0); tests pass one that throws. */
  onHelp?: (text: string) => never;
}

/** node:util parseArgs in strict mode, with its tokens; its errors as FlagError naming the flag. */
function strictParse(argv: string[], spec: FlagSpec) {
  const options = Object.fromEntries(Object.keys(spec).map((name) => [name, { type: 'string' as const }]));
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false, tokens: true });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const message = err instanceof Error ? err.message : String(err);
    const quoted = /'([^']+)'/.exec(message)?.[1];
    const flag = quoted?.split(' ')[0];
    const info = flag ? spec[flag.replace(/^--/, '')] : undefined;
    const problem =
      code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
        ? `unknown flag ${quoted ?? message}`
        : code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL'
          ? `unexpected argument ${JSON.stringify(quoted ?? message)}`
          : code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag && info
            ? `${flag} needs a value (${flag} ${info.value}; one that starts with "-" goes as ${flag}=VALUE)`
            : message.split('\n').join(' ');
    throw new FlagError(`${problem}; valid flags: ${describeFlags(spec)}`);
  }
}

/**
 * The flags in argv (`--name VALUE` or `--name=VALUE`), through node:util parseArgs in strict mode. `-h` or `--help`
 * anywhere (before a `--`) prints helpText and exits 0 instead (options.onHelp). An unknown flag, a flag given twice,
 * a flag without its value or a positional argument throws FlagError naming it and listing the valid flags, so that a
 * typo (`--devcie 1`) or a contradiction (`--pool cpu --pool gpu`) stops the process instead of being ignored.
 */
export function parseFlags<S extends FlagSpec>(
  argv: string[],
  spec: S,
  options: ParseFlagsOptions = {},
): Partial<Record<keyof S & string, string>> {
  const beforeEnd = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (beforeEnd.some((arg) => arg === '--help' || arg === '-h')) {
    (options.onHelp ?? printHelpAndExit)(helpText(spec, options.command));
  }
  const parsed = strictParse(argv, spec);
  const given = new Map<string, string[]>();
  for (const token of parsed.tokens) {
    if (token.kind === 'option') given.set(token.name, [...(given.get(token.name) ?? []), token.value ?? '']);
  }
  const repeated = [...given].filter(([, values]) => values.length > 1);
  if (repeated.length > 0) {
    const each = repeated.map(([name, values]) => `--${name} is given ${values.length} times (${values.join(', ')})`);
    throw new FlagError(`${each.join('; ')}; give each flag once`);
  }
  return parsed.values as Partial<Record<keyof S & string, string>>;
}

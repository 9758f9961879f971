/**
 * The kinds of value an environment variable may hold, as zod schemas over the raw (trimmed) string: each says in its
 * message what it expects, and common/config.ts puts the variable's name in front (`KILN_MAX_ROWS must be a positive
 * integer`). Values that name files are checked against the file system when the configuration loads, so that a
 * missing file stops the process at once instead of when it is first used.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { z } from 'zod';

const MAX_INT = Number.MAX_SAFE_INTEGER;

/** A whole number of decimal digits in [min, max]; `_` separators allowed (`1_000_000`). */
export function integer(min: number, max = MAX_INT) {
  const expected =
    max === MAX_INT
      ? min === 1
        ? 'a positive integer'
        : min === 0
          ? 'a non-negative integer'
          : `an integer ≥ ${min}`
      : `an integer from ${min} to ${max}`;
  return z.string().transform((raw, ctx) => {
    const value = /^\d+(_\d+)*$/.test(raw) ? Number(raw.replace(/_/g, '')) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      ctx.addIssue({ code: 'custom', message: `must be ${expected}` });
      return z.NEVER;
    }
    return value;
  });
}

/** A TCP port; 0 only where it means something (the OS picks one, or "off"). */
export const port = (allowZero = false) => integer(allowZero ? 0 : 1, 65_535);

/** A finite number > 0 (decimals allowed). */
export function positiveNumber() {
  return z.string().transform((raw, ctx) => {
    const value = Number(raw);
    if (!/^[0-9.]+$/.test(raw) || !Number.isFinite(value) || value <= 0) {
      ctx.addIssue({ code: 'custom', message: 'must be a positive number' });
      return z.NEVER;
    }
    return value;
  });
}

/** One of a fixed set of words. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.string().transform((raw, ctx) => {
    if (!(values as readonly string[]).includes(raw)) {
      ctx.addIssue({ code: 'custom', message: `must be one of ${values.join(', ')}` });
      return z.NEVER;
    }
    return raw as T[number];
  });
}

/** A URL with one of the given schemes (`postgres:`, `http:` ...). */
export function url(protocols: readonly string[], example: string) {
  return z.string().refine(
    (raw) => {
      try {
        return protocols.includes(new URL(raw).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL like ${example}` },
  );
}

/**
 * Whether `raw` is a host name: RFC 1123 labels, with `_` allowed as container networks use it (`kiln_db`), the last
 * label not all digits, so that `999.1.1.1` is not taken for one.
 */
function isHostName(raw: string): boolean {
  const labels = raw.replace(/\.$/, '').split('.');
  return (
    raw.length <= 253 &&
    labels.every((label) => /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(label)) &&
    !/^\d+$/.test(labels[labels.length - 1]!)
  );
}

/** An IPv4 or IPv6 address (without brackets) or a host name; `expected` completes "must be ..." in the message. */
export function host(expected: string) {
  return z.string().refine((raw) => net.isIP(raw) !== 0 || isHostName(raw), { message: `must be ${expected}` });
}

/** `host[:port]` of a gRPC server: a host name, an IPv4 address or a bracketed IPv6 address, then a port 1–65535. */
export function hostPort(example: string) {
  return z.string().refine(
    (raw) => {
      const match = /^(\[([^\]]+)\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(raw);
      if (!match) return false;
      const [, hostPart, ipv6, portPart] = match;
      const hostOk = ipv6 !== undefined ? net.isIPv6(ipv6) : net.isIPv4(hostPart!) || isHostName(hostPart!);
      const portOk = portPart === undefined || (Number(portPart) >= 1 && Number(portPart) <= 65_535);
      return hostOk && portOk;
    },
    { message: `must be host:port (no scheme, no spaces), e.g. ${example}` },
  );
}

/** A name or key without whitespace (namespaces, profiles, API keys: a space or line break in one is a paste error). */
export function token(what: string) {
  return z.string().regex(/^\S+$/, { message: `must be ${what} without spaces or line breaks` });
}

/** PEM text (`-----BEGIN <label>-----` ... ), as TLS settings given inline take it. */
export function pem(label: string) {
  return z.string().regex(/-----BEGIN [A-Z0-9 ]+-----/, {
    message: `must be PEM text (-----BEGIN ${label}----- ...), or use the _PATH variable for a file`,
  });
}

/** Why `file` cannot be used, or undefined when it is a file this process can open with `mode`. */
function fileProblem(file: string, mode: number): string | undefined {
  try {
    if (!fs.statSync(file).isFile()) return 'it is not a file';
    fs.accessSync(file, mode);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'it does not exist';
    if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
    return err instanceof Error ? err.message : String(err);
  }
}

/** A path to an existing file this process can read (`what`: what the file holds, for the message). */
export function readableFile(what: string) {
  return z.string().superRefine((raw, ctx) => {
    const problem = fileProblem(raw, fs.constants.R_OK);
    if (problem) ctx.addIssue({ code: 'custom', message: `must be the path of a readable file (${what}): ${problem}` });
  });
}

/** A path to an existing file this process can execute (`what`: which program, for the message). */
export function executableFile(what: string) {
  return z.string().superRefine((raw, ctx) => {
    const problem = fileProblem(raw, fs.constants.X_OK);
    if (problem) ctx.addIssue({ code: 'custom', message: `must be the path of an executable (${what}): ${problem}` });
  });
}

/** A directory, or a path where one can be made: anything there already must be a directory. */
export function directory() {
  return z.string().superRefine((raw, ctx) => {
    try {
      if (!fs.statSync(raw).isDirectory())
        ctx.addIssue({ code: 'custom', message: 'must be a directory (or not exist yet), but it is a file' });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR')
        ctx.addIssue({ code: 'custom', message: 'must be a directory (or not exist yet), but a parent is a file' });
      // ENOENT: made when first needed; anything else is found when it is.
    }
  });
}

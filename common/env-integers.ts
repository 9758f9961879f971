/**
 * Positive-integer settings, each taken from its environment variable (decimal digits; `_` separators allowed, e.g.
 * `1_000_000`; surrounding blanks ignored) or else its default. A malformed value is a configuration error: it throws
 * a plain Error naming the variable, so the process fails at startup instead of running with a limit nobody meant.
 */
export function positiveIntegersFromEnv<K extends string>(
  defaults: Readonly<Record<K, number>>,
  variables: Readonly<Record<K, string>>,
  env: NodeJS.ProcessEnv,
): Record<K, number> {
  const values = { ...defaults } as Record<K, number>;
  for (const key of Object.keys(variables) as K[]) {
    const name = variables[key];
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') continue;
    const value = /^\d+(_\d+)*$/.test(raw) ? Number(raw.replace(/_/g, '')) : NaN;
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new Error(`${name} must be a positive integer, got ${JSON.stringify(env[name])}`);
    }
    values[key] = value;
  }
  return values;
}

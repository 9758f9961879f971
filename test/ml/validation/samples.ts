import { Random } from '../../../ml/random';

/**
 * The sample generator of test/fixtures/validation/make_fixtures.py, replayed bit for bit: mulberry32 (Kiln's Random)
 * and only +, −, × and ÷ on doubles (see the script's docstring).
 */
export interface SampleSpec {
  kind: 'normal' | 'uniform' | 'int';
  n: number;
  seed: number;
  loc: number;
  scale: number;
  k?: number;
  checksum: { sum: number; first: number[] };
}

/** The values a spec describes. */
export function generate(spec: Omit<SampleSpec, 'checksum'>): Float64Array {
  const rng = new Random(spec.seed);
  const out = new Float64Array(spec.n);
  for (let i = 0; i < spec.n; i++) {
    if (spec.kind === 'normal') {
      let s = rng.nextUint32() / 4294967296;
      s = s + rng.nextUint32() / 4294967296;
      s = s + rng.nextUint32() / 4294967296;
      s = s + rng.nextUint32() / 4294967296;
      out[i] = spec.loc + spec.scale * (s - 2);
    } else if (spec.kind === 'uniform') {
      out[i] = spec.loc + spec.scale * (rng.nextUint32() / 4294967296);
    } else {
      out[i] = spec.loc + spec.scale * (rng.nextUint32() % (spec.k as number));
    }
  }
  return out;
}

/** The spec's values after checking them against the checksum Python wrote (throws on a mismatch). */
export function generateChecked(spec: SampleSpec): Float64Array {
  const values = generate(spec);
  let sum = 0;
  for (const v of values) sum += v;
  const first = Array.from(values.subarray(0, 3));
  if (sum !== spec.checksum.sum || first.some((v, i) => v !== spec.checksum.first[i])) {
    throw new Error(`generator mismatch for seed ${spec.seed}: sum ${sum} vs ${spec.checksum.sum}`);
  }
  return values;
}

import { expect } from 'chai';
import { assertFiniteResult, NonFiniteResultError } from '../../ml/finite-guard';

/**
 * The final guard every clustering result, quality object and summary passes (ml/clustering/runners.ts, quality.ts,
 * activities/clustering.ts): a NaN or ±Infinity where a number belongs is an error naming the field, never a value
 * that JSON would write as null (`inertia: null`, `eigenvalues: [null, null]`).
 */
describe('fault: a non-finite number is never a result (ml/finite-guard.ts)', () => {
  it('rejects NaN and ±Infinity anywhere, naming the field', () => {
    expect(() => assertFiniteResult('kmeans result', { inertia: NaN })).to.throw(
      NonFiniteResultError,
      /inertia is NaN/,
    );
    expect(() => assertFiniteResult('r', { extras: { eigenvalues: [1, Infinity] } })).to.throw(
      /extras\.eigenvalues\[1\] is Infinity/,
    );
    expect(() => assertFiniteResult('r', { p: Float64Array.of(0, -Infinity) })).to.throw(/p\[1\] is -Infinity/);
    expect(() =>
      assertFiniteResult('r', [
        [1, 2],
        [3, NaN],
      ]),
    ).to.throw(/\[1\]\[1\] is NaN/);
  });

  it('passes finite numbers, typed arrays, strings, booleans and absent fields', () => {
    expect(() =>
      assertFiniteResult('r', {
        labels: Int32Array.of(1, 2),
        name: 'x',
        ok: true,
        none: undefined,
        nested: [{ a: 0 }],
      }),
    ).to.not.throw();
  });
});

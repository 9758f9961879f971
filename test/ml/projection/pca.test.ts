import { expect } from 'chai';
import { pca, projectPoint } from '../../../ml/projection/pca';
import { Random } from '../../../ml/random';

/** n points along `direction` (spread `major`) plus small noise in every coordinate (spread `minor`), shifted by `offset`. */
function elongated(n: number, direction: number[], offset: number[], major: number, minor: number, seed: number) {
  const random = new Random(seed);
  const rand = () => random.nextFloat();
  const d = direction.length;
  const norm = Math.hypot(...direction);
  const values = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const t = (rand() - 0.5) * major;
    for (let j = 0; j < d; j++) values[i * d + j] = offset[j] + (t * direction[j]) / norm + (rand() - 0.5) * minor;
  }
  return values;
}

describe('pca (first principal components for the scatter plot)', () => {
  it('finds the direction of largest spread, with a fixed sign, and the variance shares', () => {
    const direction = [1, 2, -2, 0.5];
    const values = elongated(2000, direction, [10, -5, 3, 100], 40, 1, 7);
    const model = pca(values, 2000, 4, 2);
    const norm = Math.hypot(...direction);
    const expected = direction.map((v) => v / norm);
    // The largest-magnitude entry (here the second or third, equal in size) is positive: compare up to that sign.
    const sign = Math.sign(model.components[0][1] * expected[1]);
    model.components[0].forEach((v, j) => expect(v).to.be.closeTo(sign * expected[j], 0.01));
    expect(model.varianceRatio[0]).to.be.above(0.99);
    expect(model.varianceRatio[0] + model.varianceRatio[1]).to.be.at.most(1 + 1e-9);
    // The components are orthonormal.
    const dot = model.components[0].reduce((s, v, j) => s + v * model.components[1][j], 0);
    expect(dot).to.be.closeTo(0, 1e-9);
    expect(Math.hypot(...model.components[1])).to.be.closeTo(1, 1e-9);
    // The mean projects to the origin.
    expect(projectPoint(model.mean, model).map(Math.abs)).to.deep.equal([0, 0]);
  });

  it('matches the eigenvalues of a known covariance (variance along the axes of an axis-aligned cloud)', () => {
    // Four points at (±3, 0, 0) and (0, ±1, 0): variances 6 and 2/3 (n − 1 = 3), third axis empty.
    const values = [3, 0, 0, -3, 0, 0, 0, 1, 0, 0, -1, 0];
    const model = pca(values, 4, 3, 3);
    expect(model.variance[0]).to.be.closeTo(6, 1e-9);
    expect(model.variance[1]).to.be.closeTo(2 / 3, 1e-9);
    expect(model.variance[2]).to.be.closeTo(0, 1e-12);
    expect(Array.from(model.components[0]).map((v) => Math.abs(v))).to.deep.equal([1, 0, 0]);
    // A component of no variance still comes back as a unit vector orthogonal to the others.
    expect(Math.abs(model.components[2][2])).to.be.closeTo(1, 1e-12);
  });

  it('refuses a count past the dimension', () => {
    expect(() => pca([1, 2], 1, 2, 3)).to.throw(RangeError);
  });
});

import { expect } from 'chai';
import { PredictBatcher } from '../../api/services/predict-batcher';
import { Random } from '../../ml/random';
import { guardPredictor, loadPredictor, NonFinitePredictionError, Predictor } from '../../ml/serving/predictor';
import { expectRejects } from '../support/expect-rejects';
import { mlpArtifact, randomRows } from '../support/serving-models';

const D = 3;

/** A predictor whose prediction of a row is its first value × 10, recording the row counts of each model call. */
function spyPredictor(name: string) {
  const calls: number[] = [];
  const predictor = guardPredictor({
    flavor: name,
    columns: ['a', 'b', 'c'],
    rowKeys: ['values'],
    predict: async (points, n) => {
      calls.push(n);
      return { model: name, values: Array.from({ length: n }, (_, i) => points[i * D] * 10) };
    },
    dispose: () => undefined,
  });
  return { predictor, calls };
}

/** n rows whose first values are first, first + 1, ... */
const rows = (first: number, n: number) => Float32Array.from({ length: n * D }, (_, i) => first + Math.floor(i / D));
const tens = (first: number, n: number) => Array.from({ length: n }, (_, i) => (first + i) * 10);

describe('api/services/predict-batcher', () => {
  it('a lone request runs at once, without waiting for its window', () => {
    const { predictor, calls } = spyPredictor('m');
    const batcher = new PredictBatcher({ windowMs: 1000, maxRows: 64 });
    void batcher.admit().predict(predictor, rows(1, 2), 2);
    // Nothing else was on its way, so the model call has already been made (synchronously, no timer).
    expect(calls).to.deep.equal([2]);
    expect(batcher.waitingFor).to.equal(0);
  });

  it('gathers requests still on their way into one call, and answers each with its own rows in order', async () => {
    const { predictor, calls } = spyPredictor('m');
    const batches: Array<[number, number]> = [];
    const batcher = new PredictBatcher({ windowMs: 1000, maxRows: 64 }, (requests, n) => batches.push([requests, n]));
    const tickets = [batcher.admit(), batcher.admit(), batcher.admit()];
    const first = tickets[0].predict(predictor, rows(1, 1), 1);
    const second = tickets[1].predict(predictor, rows(100, 4), 4);
    expect(calls, 'the third request is still on its way').to.deep.equal([]);
    const third = tickets[2].predict(predictor, rows(50, 2), 2);
    expect(calls).to.deep.equal([7]);
    expect(batches).to.deep.equal([[3, 7]]);
    expect(await first).to.deep.equal({ model: 'm', values: tens(1, 1) });
    expect(await second).to.deep.equal({ model: 'm', values: tens(100, 4) });
    expect(await third).to.deep.equal({ model: 'm', values: tens(50, 2) });
  });

  it('a request that fails before predicting (its rows are invalid) leaves, and the others run without it', async () => {
    const { predictor, calls } = spyPredictor('m');
    const batcher = new PredictBatcher({ windowMs: 1000, maxRows: 64 });
    const good = batcher.admit();
    const bad = batcher.admit();
    const answer = good.predict(predictor, rows(3, 1), 1);
    expect(calls).to.deep.equal([]);
    bad.leave();
    bad.leave(); // idempotent: a second leave must not count another request out
    expect(calls).to.deep.equal([1]);
    expect(await answer).to.deep.equal({ model: 'm', values: [30] });
    expect(batcher.waitingFor).to.equal(0);
  });

  it('runs a batch when its window ends though others are still on their way', async () => {
    const { predictor, calls } = spyPredictor('m');
    const batcher = new PredictBatcher({ windowMs: 1, maxRows: 64 });
    const slow = batcher.admit();
    const answer = batcher.admit().predict(predictor, rows(2, 1), 1);
    expect(calls).to.deep.equal([]);
    expect(await answer).to.deep.equal({ model: 'm', values: [20] });
    expect(calls).to.deep.equal([1]);
    slow.leave();
  });

  it('window 0: gathers only the requests of the same event-loop turn', async () => {
    const { predictor, calls } = spyPredictor('m');
    const batcher = new PredictBatcher({ windowMs: 0, maxRows: 64 });
    const slow = batcher.admit();
    const answers = [1, 2].map((first) => batcher.admit().predict(predictor, rows(first, 1), 1));
    expect(calls).to.deep.equal([]);
    expect(await Promise.all(answers)).to.deep.equal([
      { model: 'm', values: [10] },
      { model: 'm', values: [20] },
    ]);
    expect(calls).to.deep.equal([2]);
    slow.leave();
  });

  it('never puts more than maxRows rows in a call, never splits a request, and runs a large one alone', async () => {
    const { predictor, calls } = spyPredictor('m');
    const batcher = new PredictBatcher({ windowMs: 1000, maxRows: 8 });
    const slow = batcher.admit();
    const sizes = [3, 4, 2, 8, 1, 7];
    const tickets = sizes.map(() => batcher.admit());
    let first = 1;
    const answers = sizes.map((n, i) => {
      const answer = tickets[i].predict(predictor, rows(first, n), n);
      first += n;
      return answer;
    });
    slow.leave();
    const got = await Promise.all(answers);
    // 3 + 4 fill 7; 2 would overflow 8, so [3, 4] runs; 8 runs alone; [2, 1] then 7 would overflow: [2, 1], then [7].
    expect(calls).to.deep.equal([7, 8, 3, 7]);
    first = 1;
    sizes.forEach((n, i) => {
      expect(got[i]).to.deep.equal({ model: 'm', values: tens(first, n) });
      first += n;
    });
  });

  it('never mixes two model versions in one call (a version switch while requests wait)', async () => {
    const v1 = spyPredictor('v1');
    const v2 = spyPredictor('v2');
    const batcher = new PredictBatcher({ windowMs: 1000, maxRows: 64 });
    const tickets = [1, 2, 3, 4].map(() => batcher.admit());
    const answers = [
      tickets[0].predict(v1.predictor, rows(1, 1), 1),
      tickets[1].predict(v2.predictor, rows(2, 2), 2),
      tickets[2].predict(v1.predictor, rows(3, 1), 1),
      tickets[3].predict(v2.predictor, rows(4, 1), 1),
    ];
    expect(await Promise.all(answers)).to.deep.equal([
      { model: 'v1', values: [10] },
      { model: 'v2', values: [20, 30] },
      { model: 'v1', values: [30] },
      { model: 'v2', values: [40] },
    ]);
    expect(v1.calls).to.deep.equal([2]);
    expect(v2.calls).to.deep.equal([3]);
  });

  it('maxRows 1 turns batching off: each request calls predict itself', async () => {
    const { predictor, calls } = spyPredictor('m');
    const each: Predictor = { ...predictor, predictEach: () => Promise.reject(new Error('batched although off')) };
    const batcher = new PredictBatcher({ windowMs: 1000, maxRows: 1 });
    const tickets = [batcher.admit(), batcher.admit()];
    const answers = [tickets[0].predict(each, rows(5, 1), 1), tickets[1].predict(each, rows(6, 3), 3)];
    expect(await Promise.all(answers)).to.deep.equal([
      { model: 'm', values: [50] },
      { model: 'm', values: tens(6, 3) },
    ]);
    expect(calls).to.deep.equal([1, 3]);
  });

  it('with a real MLP: batched answers equal unbatched ones; a non-finite request fails alone with a 422 error', async () => {
    const predictor = await loadPredictor('mlp-regression', await mlpArtifact('regression', D, 9, 1e10));
    try {
      const rng = new Random(4);
      const batcher = new PredictBatcher({ windowMs: 1000, maxRows: 256 });
      const inputs = [1, 5, 2, 9].map((n) => ({ points: randomRows(rng, n, D), n }));
      const overflowing = Float32Array.from({ length: D }, () => 1e12);
      const tickets = [...inputs, inputs[0]].map(() => batcher.admit());
      const answers = inputs.map((input, i) => tickets[i].predict(predictor, input.points, input.n));
      const failing = tickets[inputs.length].predict(predictor, overflowing, 1);
      for (const [i, input] of inputs.entries())
        expect(await answers[i]).to.deep.equal(await predictor.predict(input.points, input.n));
      await expectRejects(failing, (err) => expect(err).to.be.instanceOf(NonFinitePredictionError));
    } finally {
      predictor.dispose();
    }
  });
});

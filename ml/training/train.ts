/**
 * Durable-friendly training: a pure function of (table, request, checkpoint) that reports every epoch, emits
 * checkpoints the caller stores, stops gracefully on request, and aborts promptly on a signal.
 *
 * Batching is our own (model.trainOnBatch over batches drawn in epochOrder(seed, epoch)), so the batch order of every
 * epoch is reproducible from the seed alone and resuming from a checkpoint after epoch e gives the same weights as an
 * uninterrupted run (exactly, without dropout; see model.ts). Epoch loss is the size-weighted mean of the batch losses
 * (as Keras reports it); validation loss is computed after the epoch on the held-out rows.
 *
 * Epoch numbers count from 1: onEpoch's `epoch` is the epoch just finished, onCheckpoint's the number of completed
 * epochs (what a resumed run reports as resumedFromEpoch). history and epochsRun include the epochs before a resume.
 *
 * Divergence: a batch loss, validation loss or final metric that is not a finite number ends the run with
 * TrainingDivergedError (diverged.ts) naming the epoch, before that epoch is reported or checkpointed; no model is
 * returned, so a diverged run can never be registered or served.
 */
import * as tf from '@tensorflow/tfjs';
import { epochMetricNames } from '../../common/epoch-metrics';
import { tableSha256 } from '../../datasets/encode';
import { Table } from '../../datasets/table';
import { throwIfAborted } from '../abort';
import { initComputeBackend } from '../backend';
import {
  CheckpointState,
  EpochRecord,
  RunIdentity,
  identityMismatches,
  readCheckpoint,
  restoreCheckpoint,
  saveCheckpoint,
} from './checkpoint';
import { TrainingDivergedError } from './diverged';
import { buildModel, disposeModel } from './model';
import { argmax, modelOutputs, saveTrainedModel } from './predict';
import {
  Preprocessor,
  decodeTargets,
  encodeClasses,
  encodeTargets,
  extractFeatures,
  fitPreprocessor,
  transform,
} from './preprocess';
import { epochOrder, trainValidationSplit } from './split';
import { TrainingOptions, TrainingSpec, TrainingValidationError, validateTrainingRequest } from './spec';

export type { EpochRecord } from './checkpoint';

export interface TrainingInput {
  table: Table;
  target: string;
  features?: string[];
  spec: TrainingSpec;
  options: TrainingOptions;
  /** A checkpoint from onCheckpoint of a run with the same request and data; training continues after its epoch. */
  resumeFrom?: Buffer;
}

export interface EpochEvent {
  epoch: number;
  epochs: number;
  loss: number;
  valLoss?: number;
  metrics: Record<string, number>;
}

export interface TrainingHooks {
  onEpoch?(e: EpochEvent): Promise<void> | void;
  onCheckpoint?(epoch: number, checkpoint: Buffer): Promise<void> | void;
  /** Checked between batches: training rejects with an Error named 'AbortError'. */
  signal?: AbortSignal;
  /** Asked after every epoch: true stops gracefully (a checkpoint is emitted first, so the run can be resumed). */
  shouldStop?(): boolean;
}

/** A type alias (not an interface) so that it is assignable to Record<string, unknown>. */
export type ClassificationMetrics = {
  task: 'classification';
  evaluatedOn: 'validation' | 'training';
  rows: number;
  accuracy: number;
  /**
   * Macro averages over the classes present in the true or predicted labels (a class's precision with no predictions
   * of it, or recall with no rows of it, counts 0: scikit-learn's zero_division default). Absent when fewer than two
   * classes are present: a one-class evaluation measures no discrimination between classes, and scikit-learn's
   * binary precision/F1 are ill-defined there.
   */
  precision?: number;
  recall?: number;
  f1?: number;
  /** confusionMatrix[true][predicted], indexed like `classes`. */
  confusionMatrix: number[][];
  classes: string[];
};

export type RegressionMetrics = {
  task: 'regression';
  evaluatedOn: 'validation' | 'training';
  rows: number;
  /** On the target's original scale. */
  mse: number;
  mae: number;
  /**
   * 1 − SS_res / SS_tot. Absent where undefined: fewer than two rows (scikit-learn warns and returns nan) or a constant
   * target (SS_tot = 0; scikit-learn's force_finite would substitute 1 or 0, a number that measures nothing).
   */
  r2?: number;
};

export interface TrainingResult {
  /** Completed epochs in total (including those before a resume). */
  epochsRun: number;
  /** Completed epochs in the checkpoint this run resumed from; 0 when fresh. */
  resumedFromEpoch: number;
  history: EpochRecord[];
  stoppedEarly: boolean;
  stoppedBy?: 'early-stopping' | 'stop-request';
  finalMetrics: ClassificationMetrics | RegressionMetrics;
  /** The artifact for loadTrainedModel (ml/training/predict.ts). */
  model: Buffer;
  features: string[];
  /** Training rows per second over the epochs of this call (batches only, not validation). */
  samplesPerSecond: number;
}

/** Hands timers and I/O (heartbeats, an abort from a timer) a turn at most every this many ms. */
const YIELD_EVERY_MS = 20;
const EVAL_BATCH = 4096;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Trains the network `spec` on `table`. Rejects with TrainingValidationError for an invalid request (all problems
 * listed), with an Error for a checkpoint of another run, and with an Error named 'AbortError' when hooks.signal aborts.
 * Every tensor it creates is released before it settles.
 */
export async function train(input: TrainingInput, hooks: TrainingHooks = {}): Promise<TrainingResult> {
  const { table, target, spec } = input;
  const v = validateTrainingRequest(table, target, input.features, spec, input.options);
  if (!v.ok) throw new TrainingValidationError(v.problems);
  const { features, options: o } = v;
  const abort = (): void => throwIfAborted(hooks.signal, 'training');
  abort();
  await initComputeBackend();

  const identity: RunIdentity = {
    task: spec.task,
    spec,
    target,
    features,
    optimizer: o.optimizer,
    learningRate: o.learningRate,
    batchSize: o.batchSize,
    validationSplit: o.validationSplit,
    seed: o.seed,
    standardizeTarget: o.standardizeTarget,
    dataSha256: tableSha256(table),
  };
  const parsed = input.resumeFrom ? readCheckpoint(input.resumeFrom) : undefined;
  if (parsed) {
    const diff = identityMismatches(parsed.state.identity, identity);
    if (diff.length > 0)
      throw new Error(`the checkpoint belongs to another training run (differs in ${diff.join(', ')})`);
  }

  const split = trainValidationSplit(table.rows, v.validationRows, o.seed);
  const pre: Preprocessor =
    parsed?.state.preprocessor ?? fitPreprocessor(table, target, features, split.train, spec.task, o.standardizeTarget);
  const d = features.length;
  const k = spec.task === 'classification' ? (pre.classes ?? []).length : 1;
  const trainSet = encodeRows(pre, table, split.train, k);
  const valSet = split.validation.length > 0 ? encodeRows(pre, table, split.validation, k) : undefined;

  const built = buildModel(spec, d, k, o.seed, o.optimizer, o.learningRate);
  const valTensors: tf.Tensor[] = [];
  try {
    let history: EpochRecord[] = [];
    let start = 0;
    let es: CheckpointState['earlyStopping'] = o.earlyStopping ? { best: null, wait: 0 } : null;
    if (parsed) {
      await restoreCheckpoint(parsed, built);
      history = parsed.state.history.slice();
      start = parsed.state.epoch;
      es = o.earlyStopping ? (parsed.state.earlyStopping ?? { best: null, wait: 0 }) : null;
    }
    if (valSet) valTensors.push(tf.tensor2d(valSet.x, [valSet.n, d]), tf.tensor2d(valSet.y, [valSet.n, k]));

    const { train: metricName, val: valMetricName } = epochMetricNames(spec.task);
    let stoppedBy: TrainingResult['stoppedBy'];
    let trainedSamples = 0;
    let trainingMs = 0;
    let lastYield = Date.now();
    let completed = start;
    // Stopping conditions already met when the checkpoint was taken (e.g. resuming a run that early-stopped).
    if (es && o.earlyStopping && es.wait > 0 && es.wait >= o.earlyStopping.patience) stoppedBy = 'early-stopping';

    for (let epoch = start; epoch < o.epochs && !stoppedBy; epoch++) {
      abort();
      const order = epochOrder(trainSet.n, o.seed, epoch);
      let lossSum = 0;
      let metricSum = 0;
      const t0 = performance.now();
      for (let b = 0; b < trainSet.n; b += o.batchSize) {
        abort();
        const size = Math.min(o.batchSize, trainSet.n - b);
        const xb = new Float32Array(size * d);
        const yb = new Float32Array(size * k);
        for (let i = 0; i < size; i++) {
          const r = order[b + i];
          xb.set(trainSet.x.subarray(r * d, (r + 1) * d), i * d);
          yb.set(trainSet.y.subarray(r * k, (r + 1) * k), i * k);
        }
        const xs = tf.tensor2d(xb, [size, d]);
        const ys = tf.tensor2d(yb, [size, k]);
        try {
          const out = (await built.model.trainOnBatch(xs, ys)) as number[];
          if (!Number.isFinite(out[0])) {
            const at = `batch ${b / o.batchSize + 1} of ${Math.ceil(trainSet.n / o.batchSize)}`;
            throw new TrainingDivergedError(epoch + 1, at, out[0], o);
          }
          lossSum += out[0] * size;
          metricSum += out[1] * size;
        } finally {
          xs.dispose();
          ys.dispose();
        }
        if (Date.now() - lastYield >= YIELD_EVERY_MS) {
          await yieldToEventLoop();
          lastYield = Date.now();
        }
      }
      trainingMs += performance.now() - t0;
      trainedSamples += trainSet.n;

      const record: EpochRecord = {
        epoch: epoch + 1,
        loss: lossSum / trainSet.n,
        metrics: { [metricName]: metricSum / trainSet.n },
      };
      if (valSet) {
        const [valLoss, valMetric] = await evaluate(built.model, valTensors[0], valTensors[1]);
        if (!Number.isFinite(valLoss)) throw new TrainingDivergedError(epoch + 1, 'validation loss', valLoss, o);
        record.valLoss = valLoss;
        record.metrics[valMetricName] = valMetric;
      }
      history.push(record);
      completed = epoch + 1;
      await hooks.onEpoch?.({
        epoch: record.epoch,
        epochs: o.epochs,
        loss: record.loss,
        ...(record.valLoss !== undefined ? { valLoss: record.valLoss } : {}),
        metrics: { ...record.metrics },
      });

      if (es && o.earlyStopping) {
        const monitored = record.valLoss ?? record.loss;
        if (es.best === null || monitored < es.best - o.earlyStopping.minDelta) es = { best: monitored, wait: 0 };
        else {
          es = { best: es.best, wait: es.wait + 1 };
          if (es.wait >= Math.max(1, o.earlyStopping.patience)) stoppedBy = 'early-stopping';
        }
      }
      if (!stoppedBy && completed < o.epochs && hooks.shouldStop?.()) stoppedBy = 'stop-request';

      if (completed % o.checkpointEvery === 0 || stoppedBy === 'stop-request') {
        abort();
        const buf = await saveCheckpoint(built, {
          epoch: completed,
          history,
          earlyStopping: es,
          preprocessor: pre,
          identity,
        });
        await hooks.onCheckpoint?.(completed, buf);
      }
      await yieldToEventLoop();
      lastYield = Date.now();
    }
    abort();

    const evalSet = valSet ?? trainSet;
    const evaluatedOn = valSet ? 'validation' : 'training';
    const { values } = await modelOutputs(built.model, evalSet.x, evalSet.n, d);
    const finalMetrics =
      spec.task === 'classification'
        ? classificationMetrics(evalSet.labels as Int32Array, values, k, pre.classes ?? [], evaluatedOn)
        : regressionMetrics(decodeTargets(pre, evalSet.y), decodeTargets(pre, values), evaluatedOn);
    const bad = Object.entries(finalMetrics).find(([, v]) => typeof v === 'number' && !Number.isFinite(v));
    if (bad) throw new TrainingDivergedError(completed, `final metric ${bad[0]}`, bad[1] as number, o);
    const model = await saveTrainedModel(built.model, pre, spec);
    return {
      epochsRun: completed,
      resumedFromEpoch: start,
      history,
      stoppedEarly: stoppedBy !== undefined,
      ...(stoppedBy ? { stoppedBy } : {}),
      finalMetrics,
      model,
      features,
      samplesPerSecond: trainingMs > 0 ? (trainedSamples * 1000) / trainingMs : 0,
    };
  } finally {
    tf.dispose(valTensors);
    disposeModel(built);
  }
}

interface EncodedRows {
  n: number;
  /** Standardised features, n × d. */
  x: Float32Array;
  /** One-hot classes (n × k) or the model-scale target (n × 1). */
  y: Float32Array;
  /** Classification: class indices. */
  labels?: Int32Array;
}

function encodeRows(pre: Preprocessor, table: Table, rows: Int32Array, k: number): EncodedRows {
  const x = transform(pre, extractFeatures(table, pre.features, rows));
  if (pre.task === 'regression') return { n: rows.length, x, y: encodeTargets(pre, table, rows) };
  const labels = encodeClasses(pre, table, rows);
  const y = new Float32Array(rows.length * k);
  for (let i = 0; i < rows.length; i++) y[i * k + labels[i]] = 1;
  return { n: rows.length, x, y, labels };
}

async function evaluate(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): Promise<[number, number]> {
  const out = model.evaluate(x, y, { batchSize: EVAL_BATCH }) as tf.Scalar[];
  try {
    return [(await out[0].data())[0], (await out[1].data())[0]];
  } finally {
    tf.dispose(out);
  }
}

/**
 * Accuracy, macro precision / recall / F1 (over the classes present; absent with fewer than two, see
 * ClassificationMetrics) and the confusion matrix, from true class indices and n×k row-major class probabilities.
 */
export function classificationMetrics(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
  k: number,
  classes: string[],
  evaluatedOn: 'validation' | 'training',
): ClassificationMetrics {
  const n = labels.length;
  const cm = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const row = new Float32Array(k);
    for (let j = 0; j < k; j++) row[j] = probabilities[i * k + j];
    const p = argmax(row);
    cm[labels[i]][p]++;
    if (p === labels[i]) correct++;
  }
  let precision = 0;
  let recall = 0;
  let f1 = 0;
  let present = 0;
  for (let c = 0; c < k; c++) {
    const tp = cm[c][c];
    const actual = cm[c].reduce((s, v) => s + v, 0);
    const predicted = cm.reduce((s, r) => s + r[c], 0);
    if (actual === 0 && predicted === 0) continue;
    present++;
    const p = predicted > 0 ? tp / predicted : 0;
    const r = actual > 0 ? tp / actual : 0;
    precision += p;
    recall += r;
    f1 += p + r > 0 ? (2 * p * r) / (p + r) : 0;
  }
  return {
    task: 'classification',
    evaluatedOn,
    rows: n,
    accuracy: n > 0 ? correct / n : 0,
    ...(present >= 2 ? { precision: precision / present, recall: recall / present, f1: f1 / present } : {}),
    confusionMatrix: cm,
    classes: classes.slice(),
  };
}

/** MSE, MAE and R² (absent for fewer than two rows or a constant target) of predictions on the original scale. */
export function regressionMetrics(
  actual: number[],
  predicted: number[],
  evaluatedOn: 'validation' | 'training',
): RegressionMetrics {
  const n = actual.length;
  let se = 0;
  let ae = 0;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += actual[i];
  mean /= n;
  let ss = 0;
  // Exactly equal targets are constant even when their float64 mean is off by an ulp (SS_tot ~1e-32, not 0).
  const constant = actual.every((v) => v === actual[0]);
  for (let i = 0; i < n; i++) {
    const e = predicted[i] - actual[i];
    se += e * e;
    ae += Math.abs(e);
    ss += (actual[i] - mean) ** 2;
  }
  return {
    task: 'regression',
    evaluatedOn,
    rows: n,
    mse: se / n,
    mae: ae / n,
    ...(n >= 2 && ss > 0 && !constant ? { r2: 1 - se / ss } : {}),
  };
}

/**
 * Training checkpoints: everything needed to continue a run exactly where it stopped, in one Buffer (ml/training/
 * binary.ts layout, magic 'KLNC'): the completed-epoch count, the history so far, the early-stopping state, the fitted
 * preprocessor, what the run was for (so a checkpoint cannot be resumed against another request or dataset), the
 * model's weights and the optimizer's state (iteration count and slots, e.g. Adam's moments and its β-power
 * accumulators).
 *
 * No RNG state is stored because there is none to store: the split and every epoch's batch order are pure functions of
 * the seed (ml/training/split.ts) and initial weights are overwritten on restore. Dropout's masks come from tf's global
 * RNG, so exact resume-equivalence holds for networks without dropout (see model.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { NamedArray, TrainingFormatError, pack, unpack } from './binary';
import { BuiltModel } from './model';
import { Preprocessor } from './preprocess';
import { OptimizerName, TrainingSpec } from './spec';

export const CHECKPOINT_MAGIC = 'KLNC';
export const CHECKPOINT_VERSION = 1;

/** One completed epoch; `epoch` counts from 1. Metrics: accuracy / valAccuracy, or mae / valMae (model scale). */
export interface EpochRecord {
  epoch: number;
  loss: number;
  valLoss?: number;
  metrics: Record<string, number>;
}

/** What a run trains on; a checkpoint only resumes a run whose identity is equal (epochs may differ). */
export interface RunIdentity {
  task: string;
  spec: TrainingSpec;
  target: string;
  features: string[];
  optimizer: OptimizerName;
  learningRate: number;
  batchSize: number;
  validationSplit: number;
  seed: number;
  standardizeTarget: boolean;
  /** sha256 of the table's canonical encoding (datasets/encode.ts). */
  dataSha256: string;
}

export interface CheckpointState {
  /** Completed epochs. */
  epoch: number;
  history: EpochRecord[];
  /** Best monitored loss so far (null before the first epoch) and epochs since it improved; null without early stopping. */
  earlyStopping: { best: number | null; wait: number } | null;
  preprocessor: Preprocessor;
  identity: RunIdentity;
}

/** Adam's private bias-correction accumulators β₁ᵗ, β₂ᵗ: restored bit-exactly rather than recomputed by pow(). */
interface AdamInternals {
  accBeta1?: tf.Variable;
  accBeta2?: tf.Variable;
}

async function toArrays(tensors: { name: string; tensor: tf.Tensor }[]): Promise<NamedArray[]> {
  const out: NamedArray[] = [];
  for (const { name, tensor } of tensors) {
    const data = await tensor.data();
    out.push({ name, shape: tensor.shape.slice(), values: Float32Array.from(data) });
  }
  return out;
}

/** Serialises the model, its optimizer and `state` into one Buffer. */
export async function saveCheckpoint(built: BuiltModel, state: CheckpointState): Promise<Buffer> {
  // getWeights() returns the live variables (not copies): read, never dispose.
  const live = built.model.getWeights();
  const model = await toArrays(
    built.model.weights.map((w, i) => ({ name: `model/${i}/${w.originalName}`, tensor: live[i] })),
  );
  const optWeights = await built.optimizer.getWeights();
  // getWeights()[0] is the iteration count (a fresh int32 scalar we own); the rest are the optimizer's live variables.
  const iterations = (await optWeights[0].tensor.data())[0];
  optWeights[0].tensor.dispose();
  const optimizer = await toArrays(
    optWeights.slice(1).map((w, i) => ({ name: `optimizer/${i}/${w.name}`, tensor: w.tensor })),
  );
  const adam = built.optimizer as unknown as AdamInternals;
  const extra: NamedArray[] = [];
  if (adam.accBeta1 && adam.accBeta2) {
    extra.push(
      ...(await toArrays([
        { name: 'adam/accBeta1', tensor: adam.accBeta1 },
        { name: 'adam/accBeta2', tensor: adam.accBeta2 },
      ])),
    );
  }
  const header = {
    v: CHECKPOINT_VERSION,
    ...state,
    optimizerName: built.optimizer.getClassName(),
    optimizerIterations: iterations,
    counts: { model: model.length, optimizer: optimizer.length, extra: extra.length },
  };
  return pack(CHECKPOINT_MAGIC, header, [...model, ...optimizer, ...extra]);
}

export interface ParsedCheckpoint {
  state: CheckpointState;
  optimizerName: string;
  optimizerIterations: number;
  model: NamedArray[];
  optimizer: NamedArray[];
  extra: NamedArray[];
}

/** Parses a checkpoint Buffer without touching tensors. */
export function readCheckpoint(buf: Buffer): ParsedCheckpoint {
  const { header, arrays } = unpack(buf, CHECKPOINT_MAGIC, 'training checkpoint');
  if (header.v !== CHECKPOINT_VERSION)
    throw new TrainingFormatError(`unsupported checkpoint version ${String(header.v)}`);
  const counts = header.counts as { model: number; optimizer: number; extra: number };
  const h = header as unknown as CheckpointState & { optimizerName: string; optimizerIterations: number };
  return {
    state: {
      epoch: h.epoch,
      history: h.history,
      earlyStopping: h.earlyStopping,
      preprocessor: h.preprocessor,
      identity: h.identity,
    },
    optimizerName: h.optimizerName,
    optimizerIterations: h.optimizerIterations,
    model: arrays.slice(0, counts.model),
    optimizer: arrays.slice(counts.model, counts.model + counts.optimizer),
    extra: arrays.slice(counts.model + counts.optimizer),
  };
}

/** The fields of two identities that differ (empty when the checkpoint belongs to this run). */
export function identityMismatches(a: RunIdentity, b: RunIdentity): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof RunIdentity>;
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

/**
 * Loads a parsed checkpoint into a freshly built (compiled, never trained) model and its optimizer, so that training
 * continues exactly where the checkpointed run stopped. Throws if the shapes or the optimizer kind do not match.
 */
export async function restoreCheckpoint(parsed: ParsedCheckpoint, built: BuiltModel): Promise<void> {
  const weights = built.model.weights;
  if (
    weights.length !== parsed.model.length ||
    weights.some((w, i) => JSON.stringify(w.shape) !== JSON.stringify(parsed.model[i].shape))
  ) {
    throw new TrainingFormatError('checkpoint weights do not match the model architecture');
  }
  if (parsed.optimizerName !== built.optimizer.getClassName()) {
    throw new TrainingFormatError(
      `checkpoint optimizer is ${parsed.optimizerName}, the model's is ${built.optimizer.getClassName()}`,
    );
  }
  const values = parsed.model.map((a) => tf.tensor(a.values, a.shape, 'float32'));
  try {
    built.model.setWeights(values);
  } finally {
    tf.dispose(values);
  }
  // setWeights wraps each tensor in a new variable (which keeps its own reference), so ours can be disposed after.
  const iter = tf.scalar(parsed.optimizerIterations, 'int32');
  const slots = parsed.optimizer.map((a) => ({
    name: a.name.replace(/^optimizer\/\d+\//, ''),
    tensor: tf.tensor(a.values, a.shape, 'float32'),
  }));
  try {
    await built.optimizer.setWeights([{ name: 'iter', tensor: iter }, ...slots]);
  } finally {
    iter.dispose();
    tf.dispose(slots.map((s) => s.tensor));
  }
  const adam = built.optimizer as unknown as AdamInternals;
  for (const a of parsed.extra) {
    const v = a.name === 'adam/accBeta1' ? adam.accBeta1 : a.name === 'adam/accBeta2' ? adam.accBeta2 : undefined;
    if (!v) throw new TrainingFormatError(`checkpoint has optimizer state ${a.name} this optimizer lacks`);
    tf.tidy(() => v.assign(tf.tensor(a.values, a.shape, 'float32')));
  }
}

/**
 * What a training request says (the network and how to train it), its documented limits, and the pure validation of a
 * request against the table it will train on. Nothing here touches TensorFlow: the API can validate before it starts a
 * workflow, and train() validates again (the same function) so a bad request fails before any tensor exists.
 */
import { Table } from '../../datasets/table';

export type Task = 'classification' | 'regression';
export type Activation = 'relu' | 'tanh' | 'sigmoid' | 'linear' | 'elu' | 'selu' | 'softplus';
export type OptimizerName = 'adam' | 'sgd' | 'rmsprop';

export const ACTIVATIONS: readonly Activation[] = ['relu', 'tanh', 'sigmoid', 'linear', 'elu', 'selu', 'softplus'];
export const OPTIMIZERS: readonly OptimizerName[] = ['adam', 'sgd', 'rmsprop'];

export interface LayerSpec {
  units: number;
  activation: Activation;
  /** Dropout rate after this layer, in [0, 1); 0 or absent adds no dropout layer. */
  dropout?: number;
}

/** The hidden layers; the output layer (softmax over the classes, or one linear unit) is added by buildModel. */
export interface TrainingSpec {
  task: Task;
  layers: LayerSpec[];
}

export interface TrainingOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Default 'adam'. */
  optimizer?: OptimizerName;
  /** Fraction of rows held out for validation, in [0, 0.9]; default 0.2; 0 trains on every row. */
  validationSplit?: number;
  /** Seeds the split, the initial weights and every epoch's batch order; default 0. */
  seed?: number;
  /** A checkpoint is emitted after every `checkpointEvery` completed epochs; default 1. */
  checkpointEvery?: number;
  /**
   * Stop when the monitored loss (validation loss, or training loss when validationSplit = 0) has not improved by more
   * than minDelta for `patience` consecutive epochs. The weights of the last epoch are kept (Keras's default).
   */
  earlyStopping?: { patience: number; minDelta: number };
  /** Regression only: train on the standardised target (results are reported on the original scale); default true. */
  standardizeTarget?: boolean;
}

export const TRAINING_LIMITS = {
  maxLayers: 20,
  maxUnits: 4096,
  maxEpochs: 10_000,
  maxBatchSize: 65_536,
  maxFeatures: 10_000,
  maxClasses: 1_000,
  maxValidationSplit: 0.9,
  maxLearningRate: 10,
  maxPatience: 10_000,
} as const;

export const TRAINING_DEFAULTS = {
  optimizer: 'adam',
  validationSplit: 0.2,
  seed: 0,
  checkpointEvery: 1,
  standardizeTarget: true,
} as const;

/** Options with every default applied. */
export interface ResolvedTrainingOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer: OptimizerName;
  validationSplit: number;
  seed: number;
  checkpointEvery: number;
  earlyStopping?: { patience: number; minDelta: number };
  standardizeTarget: boolean;
}

/** One thing wrong with a request; `field` is a path such as `target`, `features[2]`, `spec.layers[1].units`. */
export interface TrainingProblem {
  field: string;
  message: string;
}

export type TrainingValidation =
  | { ok: true; features: string[]; options: ResolvedTrainingOptions; trainRows: number; validationRows: number }
  | { ok: false; problems: TrainingProblem[] };

/** What train() throws for a request validateTrainingRequest rejects; `problems` lists every problem found. */
export class TrainingValidationError extends Error {
  constructor(readonly problems: TrainingProblem[]) {
    super(`invalid training request: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
    this.name = 'TrainingValidationError';
  }
}

/** Rows used for validation out of n (the rest train): floor(n × split). */
export function validationRowCount(n: number, validationSplit: number): number {
  return Math.floor(n * validationSplit);
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Checks a request against the table it trains on and returns the resolved feature list (all number columns except
 * the target when `features` is undefined) and options, or every problem found. Never throws for bad input.
 */
export function validateTrainingRequest(
  table: Table,
  target: string,
  features: string[] | undefined,
  spec: TrainingSpec,
  options: TrainingOptions,
): TrainingValidation {
  const problems: TrainingProblem[] = [];
  const add = (field: string, message: string): void => void problems.push({ field, message });
  const L = TRAINING_LIMITS;

  // --- spec
  const task = spec?.task;
  if (task !== 'classification' && task !== 'regression')
    add('spec.task', `must be 'classification' or 'regression', got ${JSON.stringify(task)}`);
  if (!Array.isArray(spec?.layers)) add('spec.layers', 'must be an array of layers');
  else {
    if (spec.layers.length > L.maxLayers)
      add('spec.layers', `at most ${L.maxLayers} layers, got ${spec.layers.length}`);
    spec.layers.forEach((layer, i) => {
      const f = `spec.layers[${i}]`;
      if (layer === null || typeof layer !== 'object') return add(f, 'must be an object with units and activation');
      if (!isInt(layer.units) || layer.units < 1 || layer.units > L.maxUnits)
        add(`${f}.units`, `must be an integer in 1..${L.maxUnits}, got ${layer.units}`);
      if (!(ACTIVATIONS as readonly string[]).includes(layer.activation)) {
        add(`${f}.activation`, `must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(layer.activation)}`);
      }
      if (layer.dropout !== undefined && !(isNum(layer.dropout) && layer.dropout >= 0 && layer.dropout < 1)) {
        add(`${f}.dropout`, `must be a number in [0, 1), got ${layer.dropout}`);
      }
    });
  }

  // --- options
  const o = options ?? ({} as TrainingOptions);
  if (!isInt(o.epochs) || o.epochs < 1 || o.epochs > L.maxEpochs)
    add('options.epochs', `must be an integer in 1..${L.maxEpochs}, got ${o.epochs}`);
  if (!isInt(o.batchSize) || o.batchSize < 1 || o.batchSize > L.maxBatchSize) {
    add('options.batchSize', `must be an integer in 1..${L.maxBatchSize}, got ${o.batchSize}`);
  }
  if (!isNum(o.learningRate) || o.learningRate <= 0 || o.learningRate > L.maxLearningRate) {
    add('options.learningRate', `must be a number in (0, ${L.maxLearningRate}], got ${o.learningRate}`);
  }
  const optimizer = o.optimizer ?? TRAINING_DEFAULTS.optimizer;
  if (!(OPTIMIZERS as readonly string[]).includes(optimizer))
    add('options.optimizer', `must be one of ${OPTIMIZERS.join(', ')}, got ${JSON.stringify(optimizer)}`);
  const validationSplit = o.validationSplit ?? TRAINING_DEFAULTS.validationSplit;
  if (!isNum(validationSplit) || validationSplit < 0 || validationSplit > L.maxValidationSplit) {
    add('options.validationSplit', `must be a number in [0, ${L.maxValidationSplit}], got ${validationSplit}`);
  }
  const seed = o.seed ?? TRAINING_DEFAULTS.seed;
  if (!isInt(seed)) add('options.seed', `must be a safe integer, got ${seed}`);
  const checkpointEvery = o.checkpointEvery ?? TRAINING_DEFAULTS.checkpointEvery;
  if (!isInt(checkpointEvery) || checkpointEvery < 1 || checkpointEvery > L.maxEpochs) {
    add('options.checkpointEvery', `must be an integer in 1..${L.maxEpochs}, got ${checkpointEvery}`);
  }
  if (o.earlyStopping !== undefined) {
    const es = o.earlyStopping;
    if (es === null || typeof es !== 'object')
      add('options.earlyStopping', 'must be an object with patience and minDelta');
    else {
      if (!isInt(es.patience) || es.patience < 0 || es.patience > L.maxPatience) {
        add('options.earlyStopping.patience', `must be an integer in 0..${L.maxPatience}, got ${es.patience}`);
      }
      if (!isNum(es.minDelta) || es.minDelta < 0)
        add('options.earlyStopping.minDelta', `must be a finite number >= 0, got ${es.minDelta}`);
    }
  }
  const standardizeTarget = o.standardizeTarget ?? TRAINING_DEFAULTS.standardizeTarget;
  if (typeof standardizeTarget !== 'boolean') add('options.standardizeTarget', 'must be a boolean');

  // --- columns
  const columns = table.columns;
  const byName = new Map(columns.map((c, i) => [c.name, i]));
  const targetIndex = typeof target === 'string' ? byName.get(target) : undefined;
  if (typeof target !== 'string' || target === '') add('target', 'must be a column name');
  else if (targetIndex === undefined) add('target', `no column named ${JSON.stringify(target)}`);
  else if (task === 'regression' && columns[targetIndex].type === 'string') {
    add(
      'target',
      `column ${JSON.stringify(target)} is categorical (string); a regression target must be a number column`,
    );
  } else if (task === 'classification') {
    const classes = countClasses(table, targetIndex, L.maxClasses + 1);
    if (classes < 2)
      add('target', `classification needs at least 2 classes; column ${JSON.stringify(target)} has ${classes}`);
    else if (classes > L.maxClasses)
      add(
        'target',
        `at most ${L.maxClasses} classes; column ${JSON.stringify(target)} has more (is it a regression target?)`,
      );
  }

  let resolved: string[] = [];
  if (features === undefined) {
    resolved = columns.filter((c) => c.type === 'number' && c.name !== target).map((c) => c.name);
    if (resolved.length === 0) add('features', 'the table has no number column besides the target');
  } else if (!Array.isArray(features)) add('features', 'must be an array of column names');
  else {
    if (features.length === 0) add('features', 'must name at least one column');
    const seen = new Set<string>();
    features.forEach((name, i) => {
      const f = `features[${i}]`;
      if (typeof name !== 'string') return add(f, 'must be a column name');
      const idx = byName.get(name);
      if (idx === undefined) return add(f, `no column named ${JSON.stringify(name)}`);
      if (name === target) return add(f, `${JSON.stringify(name)} is the target; it cannot also be a feature`);
      if (seen.has(name)) return add(f, `${JSON.stringify(name)} is listed twice`);
      if (columns[idx].type === 'string')
        return add(f, `column ${JSON.stringify(name)} is categorical (string); only number columns can be features`);
      seen.add(name);
    });
    resolved = features;
  }
  if (resolved.length > L.maxFeatures) add('features', `at most ${L.maxFeatures} features, got ${resolved.length}`);

  // --- rows
  let validationRows = 0;
  let trainRows = table.rows;
  if (isNum(validationSplit) && validationSplit >= 0 && validationSplit <= L.maxValidationSplit) {
    validationRows = validationRowCount(table.rows, validationSplit);
    trainRows = table.rows - validationRows;
    if (validationSplit > 0 && validationRows < 1) {
      add(
        'options.validationSplit',
        `${validationSplit} of ${table.rows} rows leaves no validation row; use 0 or a larger split`,
      );
    }
  }
  if (trainRows < 1) add('table', 'the table has no rows to train on');

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    features: resolved,
    options: {
      epochs: o.epochs,
      batchSize: o.batchSize,
      learningRate: o.learningRate,
      optimizer,
      validationSplit,
      seed,
      checkpointEvery,
      ...(o.earlyStopping
        ? { earlyStopping: { patience: o.earlyStopping.patience, minDelta: o.earlyStopping.minDelta } }
        : {}),
      standardizeTarget,
    },
    trainRows,
    validationRows,
  };
}

/** Distinct values of column `col`, counting at most `stopAt`. */
function countClasses(table: Table, col: number, stopAt: number): number {
  const c = table.columns.length;
  const seen = new Set<number>();
  for (let r = 0; r < table.rows && seen.size < stopAt; r++) seen.add(table.values[r * c + col]);
  return seen.size;
}

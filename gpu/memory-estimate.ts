/**
 * Estimates of the device memory (MiB) a job needs, from its inputs alone, used for admission when a request gives no
 * resources.gpuMemoryMb. They are deliberately simple upper-bound-ish formulas, not measurements: every term is listed
 * here, all sizes are float32 (4 bytes), and the result is rounded up to whole MiB.
 *
 *   total = RUNTIME_OVERHEAD_MB (CUDA context, cuDNN/cuBLAS handles, tfjs engine)
 *         + data + block buffers + algorithm state
 *
 * Clustering (n points, d features, k clusters; B = DISTANCE_BLOCK_CELLS = 2^22 cells = MAX_DISTANCE_CELLS_PER_BLOCK
 * (ml/clustering/block-size.ts), so one block buffer is B·4 bytes = 16 MiB):
 *   - data: the input once, n·d·4. The estimate counts it for every algorithm, also where the code streams it from the
 *     host (minibatch-kmeans, som, gmm's EM phase, dbscan's kd-tree path), because a GPU worker's staging can hold it
 *     all; k-means (and the k-means phases of gmm and spectral) keep [x | 1] AND its transpose on the device
 *     (ml/clustering/kmeans/shard.ts: 2·n·(d+1) floats) plus ‖x‖² per row (n floats), which replaces the single copy;
 *   - block buffers: BLOCK_BUFFERS (= 4) buffers of B cells: the distance block, its elementwise intermediate, the
 *     argmin/one-hot and the double-buffered next block;
 *   - state: kmeans / minibatch-kmeans k·(d+1)·4 ×2 (centroids in both layouts; minibatch also a batch of
 *     batchSize·(d+1)·4); gmm means k·d·4 plus covariances k·d·d·4 ('full', default) or k·d·4 ('diag');
 *     som codebook + smoothing buffer 2·units·d·4 (units = rows·cols); spectral eigenvector sets 3·n·b·4 with
 *     b = min(n, 4·⌈(k + max(4, ⌈k/2⌉))/4⌉) (k vectors + guards, ml/clustering/spectral/spectral.ts) plus the
 *     k-means on the n×k embedding; the rbf affinity uploads the scaled data transposed as well (another n·d·4);
 *     dbscan and hierarchical: O(n) per-point arrays, 3·n·4.
 *
 * Training (MLP, Adam): P = Σ (in·out + out) over the hidden layers and the output layer (`classes` units, at least 1);
 *   parameters P·4·4 (weights + 2 Adam moment slots + gradient), activations batchSize·Σunits·4·2 (forward values and
 *   their gradients), data rows·features·4.
 */
import type { ClusteringAlgorithm } from '../common/jobs';

export const MIB = 1024 * 1024;
export const BYTES_PER_FLOAT = 4;
/** CUDA context + library handles + the tfjs engine, before any tensor. */
export const RUNTIME_OVERHEAD_MB = 256;
/** = MAX_DISTANCE_CELLS_PER_BLOCK (ml/clustering/block-size.ts), restated to keep gpu/ free of ml/ imports. */
export const DISTANCE_BLOCK_CELLS = 2 ** 22;
/** Block buffers of DISTANCE_BLOCK_CELLS cells live at once. */
export const BLOCK_BUFFERS = 4;
/**
 * Defaults used when params leave a size out (scikit-learn's n_clusters default;
 * ml/clustering/minibatch-kmeans/minibatch-kmeans.ts).
 */
export const ESTIMATE_DEFAULTS = { k: 8, minibatchBatchSize: 1024, somRows: 10, somCols: 10 } as const;

/** Accepted algorithm names: the API's, plus 'minibatch' for 'minibatch-kmeans'. */
export type EstimateAlgorithm = ClusteringAlgorithm | 'minibatch';

export interface ClusteringShape {
  n: number;
  d: number;
  params?: Record<string, unknown>;
}

export interface MemoryEstimate {
  totalMb: number;
  /** Bytes per term, for logs and explanations. */
  parts: Record<string, number>;
}

function positiveInteger(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return value;
}

function param(params: Record<string, unknown> | undefined, key: string, fallback: number): number {
  const value = params?.[key];
  return value === undefined ? fallback : positiveInteger(`params.${key}`, value);
}

function toMb(parts: Record<string, number>, overheadMb = RUNTIME_OVERHEAD_MB): MemoryEstimate {
  const bytes = Object.values(parts).reduce((a, b) => a + b, 0);
  return { totalMb: overheadMb + Math.ceil(bytes / MIB), parts };
}

/** k-means device footprint for n×d data: [x | 1] and its transpose, row norms, both centroid layouts. */
function kmeansBytes(n: number, d: number, k: number): { data: number; state: number } {
  return { data: (2 * n * (d + 1) + n) * BYTES_PER_FLOAT, state: 2 * k * (d + 1) * BYTES_PER_FLOAT };
}

/** Vectors the spectral eigensolver keeps per point: k wanted + guards, rounded up to a multiple of 4, capped at n. */
export function spectralBlockSize(n: number, k: number): number {
  return Math.min(n, 4 * Math.ceil((k + Math.max(4, Math.ceil(k / 2))) / 4));
}

/** The estimate with its terms (bytes); estimateClusteringMemoryMb returns its totalMb. */
export function estimateClusteringMemory(algorithm: EstimateAlgorithm, shape: ClusteringShape): MemoryEstimate {
  const n = positiveInteger('n', shape.n);
  const d = positiveInteger('d', shape.d);
  const p = shape.params;
  const blocks = BLOCK_BUFFERS * DISTANCE_BLOCK_CELLS * BYTES_PER_FLOAT;
  const input = n * d * BYTES_PER_FLOAT;
  switch (algorithm) {
    case 'kmeans': {
      const km = kmeansBytes(n, d, param(p, 'k', ESTIMATE_DEFAULTS.k));
      return toMb({ data: km.data, blocks, centroids: km.state });
    }
    case 'minibatch':
    case 'minibatch-kmeans': {
      const k = param(p, 'k', ESTIMATE_DEFAULTS.k);
      const batch = Math.min(n, param(p, 'batchSize', ESTIMATE_DEFAULTS.minibatchBatchSize));
      return toMb({
        data: input,
        blocks,
        centroids: 2 * k * (d + 1) * BYTES_PER_FLOAT,
        batch: batch * (d + 1) * BYTES_PER_FLOAT,
      });
    }
    case 'gmm': {
      const k = param(p, 'k', ESTIMATE_DEFAULTS.k);
      const diag = p?.covarianceType === 'diag';
      const km = kmeansBytes(n, d, k);
      return toMb({
        data: km.data,
        blocks,
        means: k * d * BYTES_PER_FLOAT,
        covariances: (diag ? k * d : k * d * d) * BYTES_PER_FLOAT,
      });
    }
    case 'som': {
      const units = param(p, 'rows', ESTIMATE_DEFAULTS.somRows) * param(p, 'cols', ESTIMATE_DEFAULTS.somCols);
      return toMb({ data: input, blocks, codebook: 2 * units * d * BYTES_PER_FLOAT });
    }
    case 'spectral': {
      const k = param(p, 'k', ESTIMATE_DEFAULTS.k);
      const b = spectralBlockSize(n, k);
      const rbf = p?.affinity !== 'nearest-neighbors';
      const km = kmeansBytes(n, k, k);
      return toMb({
        data: rbf ? 2 * input : input,
        blocks,
        eigenvectors: 3 * n * b * BYTES_PER_FLOAT,
        embeddingKmeans: km.data + km.state,
      });
    }
    case 'dbscan':
    case 'hierarchical':
      return toMb({ data: input, blocks, perPoint: 3 * n * BYTES_PER_FLOAT });
    default: {
      const never: never = algorithm;
      throw new RangeError(`no memory estimate for algorithm ${JSON.stringify(never)}`);
    }
  }
}

/** Device memory (MiB) a clustering job needs: see the formulas at the top of this module. */
export function estimateClusteringMemoryMb(algorithm: EstimateAlgorithm, shape: ClusteringShape): number {
  return estimateClusteringMemory(algorithm, shape).totalMb;
}

export interface TrainingShape {
  rows: number;
  features: number;
  /** Output units: the number of classes, or 1 (0 is read as 1) for regression. */
  classes: number;
  /** Hidden layers, as unit counts or LayerSpec-like objects ({ units }). */
  layers: ReadonlyArray<number | { units: number }>;
  batchSize: number;
}

/** The number of trainable parameters (weights + biases) of the MLP, output layer included. */
export function mlpParameterCount(
  features: number,
  layers: ReadonlyArray<number | { units: number }>,
  outputs: number,
): number {
  const widths = [
    features,
    ...layers.map((l, i) => positiveInteger(`layers[${i}].units`, typeof l === 'number' ? l : l.units)),
    Math.max(1, outputs),
  ];
  let params = 0;
  for (let i = 1; i < widths.length; i++) params += widths[i - 1] * widths[i] + widths[i];
  return params;
}

export function estimateTrainingMemory(shape: TrainingShape): MemoryEstimate {
  const rows = positiveInteger('rows', shape.rows);
  const features = positiveInteger('features', shape.features);
  const batchSize = positiveInteger('batchSize', shape.batchSize);
  if (typeof shape.classes !== 'number' || !Number.isInteger(shape.classes) || shape.classes < 0)
    throw new RangeError(`classes must be a non-negative integer, got ${JSON.stringify(shape.classes)}`);
  const outputs = Math.max(1, shape.classes);
  const parameters = mlpParameterCount(features, shape.layers, outputs);
  const units = shape.layers.reduce<number>((sum, l) => sum + (typeof l === 'number' ? l : l.units), 0) + outputs;
  return toMb({
    parameters: parameters * BYTES_PER_FLOAT * 4,
    activations: Math.min(batchSize, rows) * units * BYTES_PER_FLOAT * 2,
    data: rows * features * BYTES_PER_FLOAT,
  });
}

/** Device memory (MiB) an MLP training job needs: see the formulas at the top of this module. */
export function estimateTrainingMemoryMb(shape: TrainingShape): number {
  return estimateTrainingMemory(shape).totalMb;
}

/** = BATCH_PREDICT_CHUNK_ROWS (activities/batch-predict.ts): rows predicted per step, restated to load no activity code. */
export const PREDICT_CHUNK_ROWS = 10_000;

export interface BatchPredictShape {
  /** The model artifact's size: an upper bound on its weights (they are float32 inside it). */
  modelBytes: number;
  rows: number;
  features: number;
  /** The widest layer the model may have (the training schema's limit); activations are a chunk of rows × this. */
  maxLayerUnits: number;
}

/**
 * Batch prediction: the model's weights (at most the artifact's size), one chunk of PREDICT_CHUNK_ROWS rows of input,
 * and two activation buffers of chunk × maxLayerUnits floats (one layer's input and output).
 */
export function estimateBatchPredictMemory(shape: BatchPredictShape): MemoryEstimate {
  const chunk = Math.min(positiveInteger('rows', Math.max(1, shape.rows)), PREDICT_CHUNK_ROWS);
  const features = positiveInteger('features', shape.features);
  const units = positiveInteger('maxLayerUnits', shape.maxLayerUnits);
  return toMb({
    model: Math.max(0, shape.modelBytes),
    data: chunk * features * BYTES_PER_FLOAT,
    activations: 2 * chunk * units * BYTES_PER_FLOAT,
  });
}

export function estimateBatchPredictMemoryMb(shape: BatchPredictShape): number {
  return estimateBatchPredictMemory(shape).totalMb;
}

/**
 * The block size shared by every blocked distance computation in clustering (k-means and its shards, gmm's E-step,
 * quality scores, predictions). Its own module, free of TensorFlow.js, so that anything can read it cheaply
 * (gpu/memory-estimate.ts restates it as DISTANCE_BLOCK_CELLS; its test checks the two agree).
 */

/**
 * Most cells (rows × centroids) of a distance matrix materialised at once: 2^22 float32 = 16 MiB. A block step holds
 * about three matrices of that size (scores, the int32 one-hot and its float32 cast), so peak device memory per step
 * stays near 50 MiB on top of the data itself, whatever n is.
 */
export const MAX_DISTANCE_CELLS_PER_BLOCK = 1 << 22;

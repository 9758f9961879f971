/** A deterministic xorshift generator of numbers in [0, 1), for cutting test inputs at reproducible places. */
export function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/** `bytes` cut into pieces of 1 to `max` bytes: streaming parsers must not care where a chunk ends. */
export function randomChunks(bytes: Buffer, rnd: () => number, max: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length;) {
    const size = 1 + Math.floor(rnd() * max);
    out.push(bytes.subarray(i, i + size));
    i += size;
  }
  return out;
}

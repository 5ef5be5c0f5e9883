// Seeded SKU picks the ledger benches share, so that a row labelled "the
// ledger bench's picks" draws the same keys wherever it runs.

/** A seeded linear congruential generator of floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296);
}

/**
 * Storefront traffic is Zipfian: a few SKUs get most of it. n picks of SKU
 * indexes 0 … skus-1 with s = 1 (index 0 the most popular).
 */
export function zipfPicks(n: number, skus: number, seed: number): number[] {
  const cdf: number[] = [];
  let total = 0;
  for (let i = 0; i < skus; i++) total += 1 / (i + 1);
  let acc = 0;
  for (let i = 0; i < skus; i++) cdf.push((acc += 1 / (i + 1) / total));
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const u = random();
    let lo = 0, hi = skus - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  });
}

/** n picks of SKU indexes 0 … skus-1, each as likely. */
export function uniformPicks(n: number, skus: number, seed: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => Math.floor(random() * skus));
}

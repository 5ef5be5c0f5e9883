// The "meaningful changes only" push policy. Marketplaces throttle and some
// charge per update, and a listing does not need every unit of a slow drift:
// it needs to know when an item goes in or out of stock, when it becomes
// scarce, and when the figure moved a lot. A figure that is none of these is
// dropped (counted as handled, so the checkpoint passes it).
//
// Memory: the adapter keeps the last pushed figure of every SKU of the
// channel (one Map entry per SKU ever pushed: ~100 bytes each), which is the
// listing itself and cannot be bounded below that without forgetting what
// the marketplace shows. It is not persisted: after a restart the first
// figure of each SKU is pushed once (unknown last value = meaningful).

export interface PushPolicyOptions {
  lowStock: number; // a figure ≤ lowStock is "low"; crossing that line is meaningful (0 disables)
  minChangeRatio: number; // |new − last| / last at or above this is meaningful, e.g. 0.1 for 10 %
}

export type PushReason = "first" | "zero_crossing" | "low_stock_crossing" | "relative_change";

/** Why `next` should be pushed given the last pushed figure, or null to drop it. */
export function meaningfulChange(last: number | undefined, next: number, options: PushPolicyOptions): PushReason | null {
  if (last === undefined) return "first";
  if (last === next) return null;
  if ((last === 0) !== (next === 0)) return "zero_crossing";
  if (options.lowStock > 0 && (last <= options.lowStock) !== (next <= options.lowStock)) return "low_stock_crossing";
  if (last > 0 && Math.abs(next - last) / last >= options.minChangeRatio) return "relative_change";
  return null;
}

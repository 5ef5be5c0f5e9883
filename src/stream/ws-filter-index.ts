// The WebSocket stream's clients indexed by their filter, so that fanning out
// a released message visits only the clients it matches instead of every
// client (a storefront watching 100 SKUs should not cost anything when one of
// the other 9,900 changes).
//
// Each subscription is filed once for deltas and once for channel messages,
// under the narrowest key that `matches()` (ws-subscription.ts) allows:
//   deltas     open, or neither skus nor locations: `everyDelta`
//              (a channels-only filter gets every delta: matches() says so);
//              skus only: under each sku; locations only: under each location;
//              both: under the smaller of the two sets, and checked with
//              matches() on the visit (both must hold).
//   channel    open: every channel message; no channels: none;
//              channels without skus: under each channel;
//              channels and skus: under the smaller set, checked with matches().
// An empty array files nothing, so it matches nothing, as matches() says.
// Open subscriptions (no filter at all) are kept apart: they get every
// message, so the caller sends them the whole batch without a per-message visit.

import type { StreamMessage } from "./messages.js";
import { matches, type Filter } from "./ws-subscription.js";

interface Entry<C> {
  readonly client: C;
  readonly filter: Filter;
  readonly check: boolean; // filed under one of two sets: matches() decides on the visit
}

type Buckets<C> = Map<string, Set<Entry<C>>>;

/** Where one entry was filed, to take it out again. */
interface Filing<C> {
  entry: Entry<C>;
  delta: { buckets: Buckets<C>; keys: ReadonlySet<string> } | "every" | null;
  channel: { buckets: Buckets<C>; keys: ReadonlySet<string> } | null;
}

function fileUnder<C>(buckets: Buckets<C>, keys: ReadonlySet<string>, entry: Entry<C>): void {
  for (const key of keys) {
    let set = buckets.get(key);
    if (set === undefined) buckets.set(key, (set = new Set()));
    set.add(entry);
  }
}

function takeOut<C>(buckets: Buckets<C>, keys: ReadonlySet<string>, entry: Entry<C>): void {
  for (const key of keys) {
    const set = buckets.get(key);
    if (set === undefined) continue;
    set.delete(entry);
    if (set.size === 0) buckets.delete(key);
  }
}

/** Clients by filter: which ones a message goes to, without looking at the others. */
export class FilterIndex<C> {
  /** Subscriptions with no filter: every message goes to them. */
  readonly open = new Set<C>();
  private readonly filings = new Map<C, Filing<C>>();
  private readonly everyDelta = new Set<Entry<C>>(); // channels-only filters
  private readonly deltaBySku: Buckets<C> = new Map();
  private readonly deltaByLocation: Buckets<C> = new Map();
  private readonly channelByChannel: Buckets<C> = new Map();
  private readonly channelBySku: Buckets<C> = new Map();

  /** Clients filed (open ones included). */
  get size(): number {
    return this.filings.size + this.open.size;
  }

  /** Files `client` under `filter`, replacing its previous filter if it had one. */
  add(client: C, filter: Filter): void {
    this.remove(client);
    if (filter.open) {
      this.open.add(client);
      return;
    }
    const { skus, locations, channels } = filter;
    const both = skus !== null && locations !== null;
    const withSkus = channels !== null && skus !== null;
    // One entry per client; `check` is true when either half needs matches() on the visit.
    const entry: Entry<C> = { client, filter, check: both || withSkus };
    const filing: Filing<C> = { entry, delta: null, channel: null };
    if (skus === null && locations === null) {
      this.everyDelta.add(entry);
      filing.delta = "every";
    } else if (locations === null || (skus !== null && skus.size <= locations.size)) {
      filing.delta = { buckets: this.deltaBySku, keys: skus! };
    } else {
      filing.delta = { buckets: this.deltaByLocation, keys: locations };
    }
    if (channels !== null) {
      filing.channel = skus !== null && skus.size < channels.size
        ? { buckets: this.channelBySku, keys: skus }
        : { buckets: this.channelByChannel, keys: channels };
    }
    if (filing.delta !== null && filing.delta !== "every") fileUnder(filing.delta.buckets, filing.delta.keys, entry);
    if (filing.channel !== null) fileUnder(filing.channel.buckets, filing.channel.keys, entry);
    this.filings.set(client, filing);
  }

  /** Takes `client` out of the index (no-op when it is not in it). */
  remove(client: C): void {
    if (this.open.delete(client)) return;
    const filing = this.filings.get(client);
    if (filing === undefined) return;
    this.filings.delete(client);
    if (filing.delta === "every") this.everyDelta.delete(filing.entry);
    else if (filing.delta !== null) takeOut(filing.delta.buckets, filing.delta.keys, filing.entry);
    if (filing.channel !== null) takeOut(filing.channel.buckets, filing.channel.keys, filing.entry);
  }

  /**
   * Calls `visit(client, at)` once for each filtered client `message` matches;
   * open clients are not visited (see `open`). Each client is filed in one
   * place per message type, so it is visited at most once per message.
   */
  forEachFiltered(message: StreamMessage, at: number, visit: (client: C, at: number) => void): void {
    if (message.type === "delta") {
      for (const entry of this.everyDelta) visit(entry.client, at);
      visitBucket(this.deltaBySku.get(message.sku), message, at, visit);
      visitBucket(this.deltaByLocation.get(message.location), message, at, visit);
    } else {
      visitBucket(this.channelByChannel.get(message.channel), message, at, visit);
      visitBucket(this.channelBySku.get(message.sku), message, at, visit);
    }
  }
}

function visitBucket<C>(bucket: Set<Entry<C>> | undefined, message: StreamMessage, at: number, visit: (client: C, at: number) => void): void {
  if (bucket === undefined) return;
  for (const entry of bucket) {
    if (!entry.check || matches(entry.filter, message)) visit(entry.client, at);
  }
}

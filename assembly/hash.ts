// Hashing for the ledger's open-addressing tables: id bytes (SKU, location,
// channel and reservation ids) and (SKU, location) index pairs. Fast on short
// keys (8 bytes per step) and never zero, so a slot's stored hash can double as
// an "occupied" mark.

const P1: u64 = 0x9E3779B185EBCA87;
const P2: u64 = 0xC2B2AE3D27D4EB4F;

@inline
function mix(h: u64): u64 {
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  return h;
}

/** Hash of `len` bytes at `ptr`; the result is never 0. */
export function hashBytes(ptr: usize, len: u32): u32 {
  let h: u64 = P1 ^ (<u64>len * P2);
  let p = ptr;
  const end8 = ptr + (len & ~7);
  while (p < end8) {
    h = rotl<u64>(h ^ (load<u64>(p) * P2), 31) * P1;
    p += 8;
  }
  const rest = ptr + len - p;
  if (rest > 0) {
    let tail: u64;
    if (len >= 8) {
      // The last 8 bytes, shifted so only the unhashed ones remain (no byte loop).
      tail = load<u64>(ptr + len - 8) >> (<u64>(8 - rest) << 3);
    } else {
      tail = 0;
      for (let i: usize = 0; i < rest; i++) tail |= (<u64>load<u8>(p + i)) << (<u64>i << 3);
    }
    h = rotl<u64>(h ^ (tail * P2), 31) * P1;
  }
  const r = <u32>(mix(h) >> 32);
  return r == 0 ? 1 : r;
}

/**
 * Whether `len` bytes at a and b are equal: 8 bytes a step with unaligned
 * loads, the last step overlapping the previous one, never reading outside
 * either range. (memory.compare goes byte by byte when the two are not
 * equally aligned, which ids in the arena rarely are.)
 */
@inline
export function bytesEqual(a: usize, b: usize, len: u32): bool {
  if (len >= 8) {
    const last = <usize>len - 8;
    for (let i: usize = 0; i < last; i += 8) if (load<u64>(a + i) != load<u64>(b + i)) return false;
    return load<u64>(a + last) == load<u64>(b + last);
  }
  if (len >= 4) return load<u32>(a) == load<u32>(b) && load<u32>(a + len - 4) == load<u32>(b + len - 4);
  for (let i: usize = 0; i < <usize>len; i++) if (load<u8>(a + i) != load<u8>(b + i)) return false;
  return true;
}

/** Hash of an index pair; never 0. */
@inline
export function hashPair(a: u32, b: u32): u32 {
  const r = <u32>(mix((<u64>a << 32 | <u64>b) * P1 + P2) >> 32);
  return r == 0 ? 1 : r;
}

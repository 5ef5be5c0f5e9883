// One copy of bytes between buffers, for the short ones the hot paths move
// (journal records, ids into msgpack): a subarray view and set() cost ~60 ns,
// a byte loop ~1 ns a byte, so up to 32 bytes the loop wins. A copy of a whole
// buffer needs no view at all.

/** Copies src[start, end) to dst at `at`. */
export function copyBytes(dst: Uint8Array, at: number, src: Uint8Array, start: number, end: number): void {
  const length = end - start;
  if (length <= 32) for (let i = 0; i < length; i++) dst[at + i] = src[start + i];
  else dst.set(start === 0 && end === src.length ? src : src.subarray(start, end), at);
}

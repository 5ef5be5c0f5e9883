// Atomics.waitAsync, typed: Node 20 has it, TypeScript's ES2022 library does
// not declare it. It waits without blocking the thread's event loop.

type WaitAsyncResult = { async: false; value: string } | { async: true; value: Promise<string> };

export const waitAsync = (Atomics as unknown as {
  waitAsync(ta: Int32Array, index: number, value: number): WaitAsyncResult;
}).waitAsync;

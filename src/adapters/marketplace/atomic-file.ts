// Replaces a file so that a crash at any instant leaves either the old
// content or the new one, never a mix: write a temporary file beside it,
// fsync it, rename it over the target, fsync the directory (so the rename
// itself is durable). Readers ignore the temporary file.

import { open, rename } from "node:fs/promises";
import { dirname } from "node:path";

/** The temporary name used while `path` is being replaced (ignored when reading). */
export function tmpPathFor(path: string): string {
  return `${path}.tmp`;
}

/** Durably replaces `path` with `data`. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = tmpPathFor(path);
  const file = await open(tmp, "w", 0o644);
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

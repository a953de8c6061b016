import { stat } from "node:fs/promises";

/**
 * Identifies a file's current content without reading it: a replacement by rename gives a new
 * inode, an edit in place a new modification time or size. `undefined` when there is no file.
 */
export async function fileVersion(path: string): Promise<string | undefined> {
  try {
    const info = await stat(path, { bigint: true });
    return `${info.ino}:${info.mtimeNs}:${info.size}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

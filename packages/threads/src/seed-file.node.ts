// The sealed seed's file in Node: written atomically and readable by its owner only.
import { readFile, rename, writeFile } from "node:fs/promises";

/** Writes a seed file atomically (write, then rename), readable by the owner only. */
export async function writeSeedFile(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

/** Reads a seed file's text. */
export async function readSeedFile(file: string): Promise<string> {
  return readFile(file, "utf8");
}

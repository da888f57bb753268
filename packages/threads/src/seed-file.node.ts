// The sealed seed's file in Node: written atomically and readable by its owner only.
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "@mosaic/protocol";

/** Writes a seed file atomically and durably (fsync'd before it replaces the old one), readable by the owner only. */
export async function writeSeedFile(file: string, text: string): Promise<void> {
  await writeFileAtomic(file, text, { mode: 0o600 });
}

/** Reads a seed file's text. */
export async function readSeedFile(file: string): Promise<string> {
  return readFile(file, "utf8");
}

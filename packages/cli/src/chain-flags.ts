// What every chain-facing command shares: the paying wallet's key file, and contract reverts decoded by name.
import { readFile } from "node:fs/promises";
import type { Interface } from "ethers";

/** Reads a private key from the first line of a file (0x optional); a TypeError naming the flag otherwise. */
export async function readWalletKey(file: string, flag = "--wallet-key-file"): Promise<string> {
  const line = ((await readFile(file, "utf8")).split(/\r?\n/, 1)[0] ?? "").trim();
  const key = line.startsWith("0x") ? line : `0x${line}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(key))
    throw new TypeError(`${flag} ${file}: expected a private key, 64 hex characters (0x optional), on the first line`);
  return key;
}

/** A contract's custom error that ethers left as "unknown custom error", decoded with the first ABI that knows it. */
export function decodeRevert(err: unknown, ...interfaces: Interface[]): { name: string; args: string } | undefined {
  const data = (err as { data?: unknown }).data;
  if (typeof data !== "string" || !/^0x[0-9a-fA-F]{8}/.test(data)) return undefined;
  for (const iface of interfaces) {
    const parsed = iface.parseError(data);
    if (parsed !== null) return { name: parsed.name, args: parsed.args.map((a) => String(a)).join(", ") };
  }
  return undefined;
}

// The vault in this browser: its thread and its passphrase-sealed seed in one IndexedDB database per network (a
// devnet and a public network never mix), through @mosaic/vault's browser vault; scrypt runs in a worker.
import type { sealSeed, unsealSeed } from "@mosaic/threads";
import { createBrowserVault, hasBrowserVault, type StepRunner, unlockBrowserVault, type Vault } from "@mosaic/vault";
import { type WorkerClient, workerClient } from "../worker-rpc.ts";

/** The two passphrases differ, or the passphrase is too short. */
export class PassphraseError extends Error {
  override name = "PassphraseError";
}

let kdf: WorkerClient | undefined;
const kdfWorker = (): WorkerClient =>
  (kdf ??= workerClient(new Worker(new URL("./kdf.worker.ts", import.meta.url), { type: "module", name: "mosaic-kdf" })));

/** sealSeed and unsealSeed, run in the KDF worker (same arguments, same errors by name). */
export const workerKdf = {
  seal: ((seed, passphrase, options) =>
    kdfWorker().call<string>({ op: "seal", seed, passphrase, params: options?.params }, options?.onProgress)) as typeof sealSeed,
  unseal: ((sealed, passphrase, options) =>
    kdfWorker().call<Uint8Array>({ op: "unseal", sealed, passphrase }, options?.onProgress)) as typeof unsealSeed,
};

export const vaultDatabase = (network: string) => `mosaic-vault-${network}`;

export function vaultExists(network: string): Promise<boolean> {
  return hasBrowserVault(vaultDatabase(network));
}

/** Checks a new passphrase (as `mosaic vault init` asks: 8 characters at least, typed twice). */
export function checkNewPassphrase(passphrase: string, again: string): void {
  if (passphrase.length < 8) throw new PassphraseError("the passphrase needs at least 8 characters; a few unrelated words are best");
  if (passphrase !== again) throw new PassphraseError("the two passphrases differ: type the same one twice");
}

const LABELS: Record<string, string> = {
  sealing: "Sealing your seed under the passphrase",
  unlocking: "Checking the passphrase",
  opening: "Opening the vault",
};

/** A StepRunner that reports each step's label and fraction done. */
export function stepsTo(onProgress: (label: string, fraction: number | undefined) => void): StepRunner {
  return (label, _unit, work) => {
    const shown = LABELS[label] ?? label;
    onProgress(shown, undefined);
    return work({ update: (done, total) => onProgress(shown, total > 0 ? done / total : undefined) });
  };
}

/**
 * Creates a vault here with a new random root seed, or `seed` (recovered through guardians: then under a device name
 * of its own, so this browser never writes the lost browser's log).
 */
export function createVault(
  network: string,
  passphrase: string,
  onProgress: (label: string, fraction: number | undefined) => void,
  seed?: Uint8Array,
): Promise<Vault> {
  const device =
    seed === undefined
      ? undefined
      : `browser-${[...crypto.getRandomValues(new Uint8Array(4))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  return createBrowserVault({ name: vaultDatabase(network), passphrase, seed, device, steps: stepsTo(onProgress), kdf: workerKdf });
}

/** Opens the vault here with its passphrase (WrongPassphraseError when it is not the one). */
export function unlockVault(
  network: string,
  passphrase: string,
  onProgress: (label: string, fraction: number | undefined) => void,
): Promise<Vault> {
  return unlockBrowserVault({ name: vaultDatabase(network), passphrase, steps: stepsTo(onProgress), kdf: workerKdf });
}

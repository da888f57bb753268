// The vault in this browser: its thread and its passphrase-sealed seed in one IndexedDB database per network (a
// devnet and a public network never mix), through @mosaic/vault's browser vault; scrypt runs in a worker.
import type { NetworkFile } from "@mosaic/protocol";
import type { sealSeed, unsealSeed } from "@mosaic/threads";
import { createBrowserVault, hasBrowserVault, type StepRunner, unlockBrowserVault, type Vault } from "@mosaic/vault";
import { type WorkerClient, workerClient } from "../worker-rpc.ts";

/** Another tab or window of this browser has the vault open: two writers of one log would fork it. */
export class VaultInUseError extends Error {
  override name = "VaultInUseError";
}

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

/**
 * Which vault of this browser a network uses: its name, chain and registry, so two networks that share a name (two
 * devnets on other chains, a test and a production deployment) never share a vault. A devnet re-run on the same
 * chain with the same addresses is the same key; its old job records are told apart as the CLI does
 * (StaleJobRecordError).
 */
export const vaultKey = (file: NetworkFile) =>
  `${file.name}-${file.chainId}-${file.contracts.jobRegistry.address.slice(2, 10).toLowerCase()}`;

export const vaultDatabase = (key: string) => `mosaic-vault-${key}`;

/**
 * Opens a vault while holding this browser's lock on it (Web Locks, shared by every tab of the origin) until the vault
 * is closed; VaultInUseError when another tab holds it. A tab that goes away releases its lock.
 */
function underTabLock(key: string, open: () => Promise<Vault>): Promise<Vault> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (locks === undefined) return open();
  return new Promise<Vault>((resolve, reject) => {
    locks
      .request(`mosaic-vault:${key}`, { ifAvailable: true }, async (lock) => {
        if (lock === null)
          return reject(
            new VaultInUseError(
              "this vault is open in another tab or window of this browser: lock it there (or close that tab), then try again",
            ),
          );
        let vault: Vault;
        try {
          vault = await open();
        } catch (err) {
          return reject(err);
        }
        const closed = new Promise<void>((release) => {
          const close = vault.close.bind(vault);
          vault.close = async () => {
            try {
              await close();
            } finally {
              release();
            }
          };
        });
        resolve(vault);
        await closed;
      })
      .catch(reject);
  });
}

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
  return underTabLock(network, () =>
    createBrowserVault({ name: vaultDatabase(network), passphrase, seed, device, steps: stepsTo(onProgress), kdf: workerKdf }),
  );
}

/** Opens the vault here with its passphrase (WrongPassphraseError when it is not the one). */
export function unlockVault(
  network: string,
  passphrase: string,
  onProgress: (label: string, fraction: number | undefined) => void,
): Promise<Vault> {
  return underTabLock(network, () =>
    unlockBrowserVault({ name: vaultDatabase(network), passphrase, steps: stepsTo(onProgress), kdf: workerKdf }),
  );
}

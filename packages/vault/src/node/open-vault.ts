// Opening a vault whose database is a LevelDB directory on disk.
import { openDiskStores } from "@mosaic/threads";
import { Vault, type VaultInit } from "../vault.js";

/** Opens (or creates) the vault whose LevelDB lives in `dir`; closing the vault closes the database. */
export async function openVault(dir: string, init: VaultInit): Promise<Vault> {
  const stores = await openDiskStores(dir);
  try {
    return await Vault.open(stores, { ...init, ownedStores: stores });
  } catch (err) {
    await stores.close();
    throw err;
  }
}

// The ability catalog specs are checked against, from abilities' manifests (the vault's built-ins, for the CLI and
// the app alike): which collections each owns and which fields they hold.
import type { AbilityCatalog } from "./spec.js";

/** The part of an ability's manifest a catalog needs (the vault's AbilityManifest has it). */
export interface CatalogManifest {
  name: string;
  owns: Readonly<Record<string, { readonly fields: Iterable<string> }>>;
}

/** `{ ability: { collection: fields } }` for validateSpec's `abilities`, from the abilities' manifests. */
export function abilityCatalog(abilities: Iterable<{ manifest: CatalogManifest }>): AbilityCatalog {
  const out: Record<string, Record<string, string[]>> = {};
  for (const { manifest } of abilities)
    out[manifest.name] = Object.fromEntries(Object.entries(manifest.owns).map(([collection, owned]) => [collection, [...owned.fields]]));
  return out;
}

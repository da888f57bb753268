// Data abilities: plugins that collect and use a person's data, each confined to what its manifest grants.
import type { Collection, CollectionConfig, Doc, Query, Thread } from "@mosaic/threads";
import { AbilityAccessError, AbilityManifestError } from "./errors.js";

/** The document types abilities work with, re-exported so that an ability needs no package but this one. */
export type { Collection, Doc, Query } from "@mosaic/threads";

/** Events the vault delivers to the abilities that declare them. */
export const ABILITY_EVENTS = ["job:new", "alert:received", "timer"] as const;
export type AbilityEventName = (typeof ABILITY_EVENTS)[number];

/** One collection an ability owns: the fields it holds (what a job may ask to read) and its indexes. */
export interface OwnedCollection {
  description: string;
  fields: string[];
  indexes?: string[];
}

/** What an ability is and what it may touch. The vault grants exactly this and nothing more. */
export interface AbilityManifest {
  /** [a-z][a-z0-9-]{1,40}; "vault" is reserved. */
  name: string;
  /** Semantic version, e.g. 1.0.0. */
  version: string;
  description: string;
  /** The collections this ability owns (reads and writes), by short name. */
  owns: Record<string, OwnedCollection>;
  /** Other abilities' collections it may read, as "ability/collection". @default [] */
  reads?: string[];
  /** The events it handles. @default [] */
  handles?: AbilityEventName[];
}

/** A read-only view of a collection: what an ability gets for the data its manifest lets it read. */
export interface ReadableCollection<T extends Doc> {
  readonly name: string;
  readonly size: number;
  get(id: string): T | undefined;
  find(query?: Query<T>): T[];
}

export type AbilityHandler = (ctx: AbilityContext, payload: unknown) => unknown | Promise<unknown>;

/** An ability: its manifest, the validators of the collections it owns, and its event handlers. */
export interface AbilityDefinition {
  manifest: AbilityManifest;
  /** Validator and indexes per owned collection (short name); a validator throws a TypeError naming the field. */
  collections?: Record<string, Omit<CollectionConfig<Doc>, "indexes">>;
  /** One handler for each event the manifest declares, and no others. */
  on?: Partial<Record<AbilityEventName, AbilityHandler>>;
  /**
   * How map programs see an owned collection (short name), where its documents are not already one row each
   * (location fixes are stored a day per document). @default each document is one row
   */
  rows?: Record<string, (docs: readonly Doc[]) => Record<string, unknown>[]>;
}

const NAME = /^[a-z][a-z0-9-]{1,40}$/;
const SHORT = /^[a-z][a-z0-9-]{0,40}$/;
const SEMVER = /^\d{1,6}\.\d{1,6}\.\d{1,6}(?:-[0-9A-Za-z.-]{1,40})?$/;
const FIELD = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
/** Collections of the vault itself (consents, audit, ledger, guardians) live under this name. */
export const VAULT_NAMESPACE = "vault";

/** The thread collection name of an ability's collection. */
export function collectionName(ability: string, short: string): string {
  return `${ability}/${short}`;
}

function fail(ability: unknown, msg: string): never {
  throw new AbilityManifestError(`ability ${JSON.stringify(ability)}: ${msg}`);
}

/** Checks a manifest (which may come from a third party) and returns it; AbilityManifestError names the field. */
export function validateManifest(value: unknown): AbilityManifest {
  if (value === null || typeof value !== "object") fail(value, "manifest: expected an object");
  const m = value as Partial<AbilityManifest>;
  if (typeof m.name !== "string" || !NAME.test(m.name) || m.name === VAULT_NAMESPACE) {
    fail(m.name, `name: expected [a-z][a-z0-9-]{1,40} other than "${VAULT_NAMESPACE}"`);
  }
  if (typeof m.version !== "string" || !SEMVER.test(m.version))
    fail(m.name, `version: expected semver like 1.0.0, got ${JSON.stringify(m.version)}`);
  if (typeof m.description !== "string" || m.description.length === 0 || m.description.length > 500)
    fail(m.name, "description: 1..500 characters");
  if (m.owns === null || typeof m.owns !== "object" || Array.isArray(m.owns)) fail(m.name, "owns: expected a map of collections");
  const owned = Object.entries(m.owns);
  if (owned.length > 32) fail(m.name, `owns: at most 32 collections, got ${owned.length}`);
  for (const [short, c] of owned) {
    if (!SHORT.test(short)) fail(m.name, `owns.${short}: expected [a-z][a-z0-9-]{0,40}`);
    if (c === null || typeof c !== "object") fail(m.name, `owns.${short}: expected {description, fields}`);
    if (typeof c.description !== "string" || c.description.length > 500) fail(m.name, `owns.${short}.description: expected a string`);
    if (!Array.isArray(c.fields) || c.fields.length > 64 || !c.fields.every((f) => typeof f === "string" && FIELD.test(f))) {
      fail(m.name, `owns.${short}.fields: expected up to 64 field names`);
    }
    if (c.indexes !== undefined && (!Array.isArray(c.indexes) || !c.indexes.every((f) => c.fields.includes(f)))) {
      fail(m.name, `owns.${short}.indexes: every index must be one of its fields`);
    }
  }
  const reads = m.reads ?? [];
  if (!Array.isArray(reads) || reads.length > 64) fail(m.name, 'reads: expected up to 64 "ability/collection" names');
  for (const r of reads) {
    const [a, c, ...rest] = typeof r === "string" ? r.split("/") : [];
    if (a === undefined || c === undefined || rest.length > 0 || !NAME.test(a) || !SHORT.test(c)) {
      fail(m.name, `reads: expected "ability/collection", got ${JSON.stringify(r)}`);
    }
    if (a === VAULT_NAMESPACE) fail(m.name, `reads: ${r} belongs to the vault itself and is never granted`);
  }
  const handles = m.handles ?? [];
  if (!Array.isArray(handles) || !handles.every((h) => (ABILITY_EVENTS as readonly string[]).includes(h))) {
    fail(m.name, `handles: expected some of ${ABILITY_EVENTS.join(", ")}`);
  }
  return { name: m.name, version: m.version, description: m.description, owns: m.owns, reads, handles } as AbilityManifest;
}

/** Validates a definition's manifest and that its handlers match the events it declares. */
export function defineAbility(definition: AbilityDefinition): AbilityDefinition {
  const manifest = validateManifest(definition.manifest);
  for (const short of Object.keys(definition.collections ?? {})) {
    if (!(short in manifest.owns)) fail(manifest.name, `collections.${short}: not in owns`);
  }
  for (const event of ABILITY_EVENTS) {
    const declared = manifest.handles?.includes(event) ?? false;
    const handler = definition.on?.[event];
    if (declared && typeof handler !== "function") fail(manifest.name, `handles ${event} but on.${event} is not a function`);
    if (!declared && handler !== undefined) fail(manifest.name, `on.${event} given but the manifest does not declare it in handles`);
  }
  return { ...definition, manifest };
}

/**
 * What an ability's code is handed: its own collections to write, the collections its manifest lets it read,
 * and nothing else. The Vault object, the thread and the keys are never reachable from here.
 */
export class AbilityContext {
  readonly #thread: Thread;
  readonly #manifest: AbilityManifest;
  readonly #clock: () => number;

  constructor(thread: Thread, manifest: AbilityManifest, clock: () => number) {
    this.#thread = thread;
    this.#manifest = manifest;
    this.#clock = clock;
  }

  get ability(): string {
    return this.#manifest.name;
  }

  /** Wall-clock time in ms, from the vault's clock (tests set it). */
  now(): number {
    return this.#clock();
  }

  #full(name: string): string {
    return name.includes("/") ? name : collectionName(this.#manifest.name, name);
  }

  /** One of this ability's own collections, to read and write. */
  collection<T extends Doc>(name: string): Collection<T> {
    const full = this.#full(name);
    const [owner, short] = full.split("/");
    if (owner !== this.#manifest.name || short === undefined || !(short in this.#manifest.owns)) {
      throw new AbilityAccessError(this.#manifest.name, full, "write");
    }
    return this.#thread.collection<T>(full);
  }

  /** A collection this ability owns or may read per its manifest, read-only. */
  read<T extends Doc>(name: string): ReadableCollection<T> {
    const full = this.#full(name);
    const [owner, short] = full.split("/");
    const own = owner === this.#manifest.name && short !== undefined && short in this.#manifest.owns;
    if (!own && !(this.#manifest.reads ?? []).includes(full)) throw new AbilityAccessError(this.#manifest.name, full, "read");
    const c = this.#thread.collection<T>(full);
    return {
      name: full,
      get size() {
        return c.size;
      },
      get: (id) => c.get(id),
      find: (query) => c.find(query),
    };
  }
}

/** The thread collection configs every loaded ability needs, keyed by full collection name. */
export function abilityCollections(definitions: readonly AbilityDefinition[]): Record<string, CollectionConfig<Doc>> {
  const out: Record<string, CollectionConfig<Doc>> = {};
  for (const d of definitions) {
    for (const [short, owned] of Object.entries(d.manifest.owns)) {
      out[collectionName(d.manifest.name, short)] = { ...d.collections?.[short], indexes: owned.indexes ?? [] };
    }
  }
  return out;
}

/** Checks a set of abilities can be loaded together: unique names, and every read names a collection someone owns. */
export function checkAbilitySet(definitions: readonly AbilityDefinition[]): void {
  const names = new Set<string>();
  const owned = new Set<string>();
  for (const d of definitions) {
    if (names.has(d.manifest.name)) fail(d.manifest.name, "another loaded ability has the same name");
    names.add(d.manifest.name);
    for (const short of Object.keys(d.manifest.owns)) owned.add(collectionName(d.manifest.name, short));
  }
  for (const d of definitions) {
    for (const r of d.manifest.reads ?? []) if (!owned.has(r)) fail(d.manifest.name, `reads ${r}, which no loaded ability owns`);
  }
}

// Typed document views over a thread's events: last-writer-wins per document by (HLC, log ID), with indexes and queries.
import type { HlcTime } from "./record.js";
import { compareStamps } from "./hlc.js";

/** A stored document: any dag-cbor map with a string `_id`. */
export type Doc = { _id: string } & Record<string, unknown>;

/** A scalar an index or a condition can compare. */
export type Scalar = string | number | boolean;

/** A condition on one field: a value to equal, or bounds. */
export type Condition = Scalar | { eq?: Scalar; gt?: Scalar; gte?: Scalar; lt?: Scalar; lte?: Scalar };

export interface Query<T extends Doc> {
  /** Every condition must hold. */
  where?: { [K in keyof T & string]?: Condition };
  /** Sort by this field (ascending unless `desc`); `_id` order otherwise. */
  orderBy?: keyof T & string;
  desc?: boolean;
  limit?: number;
}

export interface CollectionConfig<T extends Doc> {
  /**
   * Checks a document before it is written and when it arrives from another device; throws a TypeError naming
   * the field. @default accepts any map
   */
  validate?: (doc: unknown) => T;
  /** Fields to index for equality and range queries. @default [] */
  indexes?: readonly (keyof T & string)[];
}

/** The state of one document id: the winning write, or a tombstone. */
export interface DocEntry {
  doc: Doc | null;
  time: HlcTime;
  log: string;
}

function compareScalars(a: Scalar, b: Scalar): number {
  if (typeof a !== typeof b) return typeof a < typeof b ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function isScalar(v: unknown): v is Scalar {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

function holds(value: unknown, c: Condition): boolean {
  if (isScalar(c)) return value === c;
  if (!isScalar(value)) return false;
  if (c.eq !== undefined && value !== c.eq) return false;
  if (c.gt !== undefined && !(typeof value === typeof c.gt && compareScalars(value, c.gt) > 0)) return false;
  if (c.gte !== undefined && !(typeof value === typeof c.gte && compareScalars(value, c.gte) >= 0)) return false;
  if (c.lt !== undefined && !(typeof value === typeof c.lt && compareScalars(value, c.lt) < 0)) return false;
  if (c.lte !== undefined && !(typeof value === typeof c.lte && compareScalars(value, c.lte) <= 0)) return false;
  return true;
}

/** One field's index: ids by value for equality, and a lazily sorted list for ranges. */
class FieldIndex {
  readonly byValue = new Map<Scalar, Set<string>>();
  #sorted: [Scalar, string][] | undefined;

  add(value: unknown, id: string): void {
    if (!isScalar(value)) return;
    let ids = this.byValue.get(value);
    if (ids === undefined) {
      ids = new Set();
      this.byValue.set(value, ids);
    }
    ids.add(id);
    this.#sorted = undefined;
  }

  remove(value: unknown, id: string): void {
    if (!isScalar(value)) return;
    const ids = this.byValue.get(value);
    if (ids === undefined) return;
    ids.delete(id);
    if (ids.size === 0) this.byValue.delete(value);
    this.#sorted = undefined;
  }

  /** Ids whose value meets a range condition, by binary search over the sorted values. */
  range(c: Exclude<Condition, Scalar>): string[] {
    if (this.#sorted === undefined) {
      this.#sorted = [];
      for (const [v, ids] of this.byValue) for (const id of ids) this.#sorted.push([v, id]);
      this.#sorted.sort((a, b) => compareScalars(a[0], b[0]));
    }
    const sorted = this.#sorted;
    const low = c.gte ?? c.gt;
    let i = 0;
    if (low !== undefined) {
      let hi = sorted.length;
      while (i < hi) {
        const mid = (i + hi) >>> 1;
        if (compareScalars((sorted[mid] as [Scalar, string])[0], low) < 0) i = mid + 1;
        else hi = mid;
      }
    }
    const out: string[] = [];
    for (; i < sorted.length; i++) {
      const [v, id] = sorted[i] as [Scalar, string];
      if (!holds(v, c)) {
        const high = c.lte ?? c.lt;
        if (high !== undefined && compareScalars(v, high) >= 0) break;
        continue;
      }
      out.push(id);
    }
    return out;
  }
}

/** The documents of one collection, as every write so far resolves them. */
export class CollectionState<T extends Doc = Doc> {
  readonly entries = new Map<string, DocEntry>();
  readonly #indexes = new Map<string, FieldIndex>();
  #live = 0;

  constructor(
    readonly name: string,
    readonly config: CollectionConfig<T> = {},
  ) {
    for (const field of config.indexes ?? []) this.#indexes.set(field, new FieldIndex());
  }

  /** Applies a write if it is later than what the document holds; returns whether it won. */
  apply(id: string, doc: Doc | null, time: HlcTime, log: string): boolean {
    const current = this.entries.get(id);
    if (current !== undefined && compareStamps(current.time, current.log, time, log) >= 0) return false;
    if (current?.doc) {
      for (const [field, index] of this.#indexes) index.remove(current.doc[field], id);
      this.#live--;
    }
    if (doc !== null) {
      for (const [field, index] of this.#indexes) index.add(doc[field], id);
      this.#live++;
    }
    this.entries.set(id, { doc, time, log });
    return true;
  }

  get size(): number {
    return this.#live;
  }

  get(id: string): T | undefined {
    return (this.entries.get(id)?.doc ?? undefined) as T | undefined;
  }

  find(query: Query<T> = {}): T[] {
    const where = Object.entries(query.where ?? {}) as [string, Condition][];
    let candidates: Iterable<string> | undefined;
    for (const [field, c] of where) {
      const index = this.#indexes.get(field);
      if (index === undefined) continue;
      candidates = isScalar(c) ? (index.byValue.get(c) ?? []) : c.eq !== undefined ? (index.byValue.get(c.eq) ?? []) : index.range(c);
      break;
    }
    const out: T[] = [];
    const check = (doc: Doc | null | undefined) => doc != null && where.every(([field, c]) => holds(doc[field], c));
    if (candidates === undefined) {
      for (const entry of this.entries.values()) if (check(entry.doc)) out.push(entry.doc as T);
    } else {
      for (const id of candidates) {
        const doc = this.entries.get(id)?.doc;
        if (check(doc)) out.push(doc as T);
      }
    }
    const key = query.orderBy ?? "_id";
    const sign = query.desc ? -1 : 1;
    out.sort((a, b) => {
      const x = a[key];
      const y = b[key];
      if (!isScalar(x) || !isScalar(y)) return isScalar(x) ? -sign : isScalar(y) ? sign : 0;
      return sign * compareScalars(x, y) || (a._id < b._id ? -1 : a._id > b._id ? 1 : 0);
    });
    return query.limit === undefined ? out : out.slice(0, query.limit);
  }
}

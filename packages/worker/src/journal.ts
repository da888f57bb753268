// A job's journal on disk: every announcement, verdict and proposal, appended as a JSON line, replayed on restart.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, truncateSync, writeSync } from "node:fs";
import path from "node:path";
import { namedError, type RejectionReason } from "@mosaic/protocol";

/** The journal file is damaged before its last line: the node stops rather than guess what it held. */
export class JournalCorruptError extends namedError("JournalCorruptError") {}

/** One line of the journal. */
export type JournalEntry =
  | { e: "opened"; specCid: string; groupRoot: string; collectionDeadline: number }
  | { e: "announced"; cid: string }
  | { e: "accepted"; cid: string; nullifier: string; payload: number[] }
  | { e: "rejected"; cid: string; reason: RejectionReason; message?: string }
  | { e: "refused"; reason: string }
  | { e: "proposed"; bundleCid: string; txHash: string; count: number; treeRoot: string }
  | { e: "below-minimum"; count: number; minParticipants: number }
  | { e: "finalized"; txHash?: string }
  // Shared mode (shared.ts): this aggregator's prep bundle announced on-chain, a collected report left out of the
  // aggregate (named reason), and the noised aggregate share committed.
  | { e: "prep-announced"; cid: string; txHash: string }
  | { e: "excluded"; nullifier: string; reason: RejectionReason; message?: string }
  | { e: "share-committed"; root: string; count: number; bundleCid: string; txHash: string }
  | { e: "share-revealed"; txHash: string; withheld?: string };

/** What a replayed journal says about a job. */
export interface JournalState {
  opened?: Extract<JournalEntry, { e: "opened" }>;
  /** Announced CIDs without a verdict yet: fetched and verified again after a restart. */
  pending: Set<string>;
  /** Every CID announced, with or without a verdict. */
  announced: Set<string>;
  /** CIDs last rejected because their block could not be fetched: judged again when the block arrives another way. */
  unavailable: Set<string>;
  accepted: Map<string, { cid: string; nullifier: string; payload: number[] }>;
  rejected: Partial<Record<RejectionReason, number>>;
  refused?: string;
  proposed?: Extract<JournalEntry, { e: "proposed" }>;
  /** Collection closed with fewer accepted submissions than the job's minimum: nothing was proposed. */
  belowMinimum?: Extract<JournalEntry, { e: "below-minimum" }>;
  finalized: boolean;
  prepAnnounced?: Extract<JournalEntry, { e: "prep-announced" }>;
  /** Shared mode: collected reports left out of the aggregate, by nullifier, with the reason. */
  excluded: Map<string, RejectionReason>;
  shareCommitted?: Extract<JournalEntry, { e: "share-committed" }>;
  /** The noised share was revealed (or, the two sets differing, deliberately not: `withheld` says why). */
  shareRevealed?: Extract<JournalEntry, { e: "share-revealed" }>;
}

export function emptyJournalState(): JournalState {
  return {
    pending: new Set(),
    announced: new Set(),
    unavailable: new Set(),
    accepted: new Map(),
    rejected: {},
    finalized: false,
    excluded: new Map(),
  };
}

/** Applies one entry to a state; the same function serves replay and live updates, so the two cannot differ. */
export function applyEntry(state: JournalState, entry: JournalEntry): void {
  switch (entry.e) {
    case "opened":
      state.opened = entry;
      break;
    case "announced":
      state.announced.add(entry.cid);
      state.pending.add(entry.cid);
      state.unavailable.delete(entry.cid);
      break;
    case "accepted":
      state.pending.delete(entry.cid);
      state.accepted.set(entry.nullifier, { cid: entry.cid, nullifier: entry.nullifier, payload: entry.payload });
      break;
    case "rejected":
      state.pending.delete(entry.cid);
      state.rejected[entry.reason] = (state.rejected[entry.reason] ?? 0) + 1;
      if (entry.reason === "BlockUnavailableError") state.unavailable.add(entry.cid);
      break;
    case "refused":
      state.refused = entry.reason;
      break;
    case "proposed":
      state.proposed = entry;
      break;
    case "below-minimum":
      state.belowMinimum = entry;
      break;
    case "finalized":
      state.finalized = true;
      break;
    case "prep-announced":
      state.prepAnnounced = entry;
      break;
    case "excluded":
      if (!state.excluded.has(entry.nullifier)) state.rejected[entry.reason] = (state.rejected[entry.reason] ?? 0) + 1;
      state.excluded.set(entry.nullifier, entry.reason);
      break;
    case "share-committed":
      state.shareCommitted = entry;
      break;
    case "share-revealed":
      state.shareRevealed = entry;
      break;
  }
}

/**
 * An append-only JSON-lines file. Each append is one write(2) of whole lines, so a killed process leaves at
 * most a torn last line, which replay drops (and truncates away); `sync()` makes appended lines durable
 * across power loss too. Damage anywhere else is JournalCorruptError.
 */
export class Journal {
  readonly file: string;
  readonly state: JournalState;
  #fd: number;

  private constructor(file: string, fd: number, state: JournalState) {
    this.file = file;
    this.#fd = fd;
    this.state = state;
  }

  /** Opens (creating) the journal at `file` and replays it. */
  static open(file: string): Journal {
    mkdirSync(path.dirname(file), { recursive: true });
    const state = emptyJournalState();
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    const lines = text.split("\n");
    let good = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] as string;
      const last = i === lines.length - 1;
      if (last) {
        // A complete file ends with "\n", so the last piece is empty; anything else is a torn write.
        break;
      }
      const corrupt = (why: string) => new JournalCorruptError(`${file}:${i + 1}: ${why}; move the file away to start this job afresh`);
      let entry: JournalEntry;
      try {
        entry = JSON.parse(line) as JournalEntry;
      } catch (err) {
        throw corrupt((err as Error).message);
      }
      if (typeof entry !== "object" || entry === null || typeof entry.e !== "string") throw corrupt("not an entry");
      applyEntry(state, entry);
      good += Buffer.byteLength(line) + 1;
    }
    if (good < Buffer.byteLength(text)) truncateSync(file, good);
    return new Journal(file, openSync(file, "a"), state);
  }

  /** Appends entries in one write and applies them to `state`. */
  append(...entries: JournalEntry[]): void {
    if (entries.length === 0) return;
    writeSync(this.#fd, `${entries.map((e) => JSON.stringify(e)).join("\n")}\n`);
    for (const e of entries) applyEntry(this.state, e);
  }

  /** Flushes appended lines to the disk. */
  sync(): void {
    fsyncSync(this.#fd);
  }

  close(): void {
    if (this.#fd < 0) return;
    fsyncSync(this.#fd);
    closeSync(this.#fd);
    this.#fd = -1;
  }
}

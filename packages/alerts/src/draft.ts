// Drafts: how m editors, different people on different machines, sign one entry or one change of editors. A draft is
// a JSON file passed on by e-mail or chat; each editor checks it, adds a signature, and the one who completes it
// anchors it. Nothing in a draft is trusted: it is parsed strictly and every signature is recovered.
import { type Block, fromBase64, fromHex, to0xHex, toBase64 } from "@mosaic/protocol";
import { getAddress } from "ethers";
import {
  type AlertEntry,
  type AlertFeedRef,
  checkEditorSet,
  checkSignatures,
  type DigestSigner,
  decodeEntry,
  type EditorSet,
  editorsDigest,
  encodeEntry,
  entryCidOf,
  entryDigest,
  feedRefProblem,
  MAX_EDITORS,
  recoverSigner,
  sameFeed,
  signDigest,
} from "./entry.js";
import {
  DuplicateSignatureError,
  ForeignSignatureError,
  MalformedDraftError,
  SignersNotSortedError,
  WrongDraftKindError,
} from "./feed-errors.js";

/** A draft of entry `seq`: the entry block (base64) and the signatures so far (0x-hex, ascending signer). */
export interface EntryDraft {
  v: 1;
  kind: "entry";
  feed: AlertFeedRef;
  epoch: number;
  seq: number;
  entry: string;
  signatures: string[];
}

/** A draft of a change of editors after `epoch`: the new editors (ascending) and threshold, and the signatures so far. */
export interface EditorsDraft {
  v: 1;
  kind: "editors";
  feed: AlertFeedRef;
  epoch: number;
  editors: string[];
  threshold: number;
  signatures: string[];
}

export type AlertDraft = EntryDraft | EditorsDraft;

/** The largest draft file parseDraft reads, in characters. */
export const MAX_DRAFT_CHARS = 1 << 20;

const KEYS: Record<AlertDraft["kind"], string[]> = {
  entry: ["entry", "epoch", "feed", "kind", "seq", "signatures", "v"],
  editors: ["editors", "epoch", "feed", "kind", "signatures", "threshold", "v"],
};

function malformed(message: string): never {
  throw new MalformedDraftError(`draft: ${message}`);
}

/**
 * Reads a draft file strictly: MalformedDraftError for text over MAX_DRAFT_CHARS, not JSON, a missing or unknown
 * field, a bad feed/epoch/seq/editor set, signatures that are not 65 bytes of 0x-hex, or an entry block that names
 * another feed, seq or epoch than the draft; the entry block's own errors (MalformedEntryError, InvalidCapError, …)
 * as decodeEntry throws them. The signatures must recover (MalformedSignatureError) in strictly ascending signer order
 * (SignersNotSortedError); whether the signers are editors needs the chain: checkDraft.
 */
export function parseDraft(text: string): AlertDraft {
  if (typeof text !== "string") throw new TypeError(`text: expected a string, got ${typeof text}`);
  if (text.length > MAX_DRAFT_CHARS) malformed(`${text.length} characters, over the ${MAX_DRAFT_CHARS} limit`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    malformed(`not JSON (${(err as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) malformed("expected a JSON object");
  const d = value as Record<string, unknown>;
  if (d.kind !== "entry" && d.kind !== "editors") malformed(`kind: expected "entry" or "editors", got ${JSON.stringify(d.kind)}`);
  const keys = KEYS[d.kind];
  for (const key of Object.keys(d)) if (!keys.includes(key)) malformed(`unknown field ${JSON.stringify(key)} in a ${d.kind} draft`);
  for (const key of keys) if (!(key in d)) malformed(`no ${key}`);
  if (d.v !== 1) malformed(`v: expected 1, got ${JSON.stringify(d.v)}`);
  const refProblem = feedRefProblem(d.feed);
  if (refProblem !== undefined) malformed(`feed: ${refProblem}`);
  const feed = d.feed as AlertFeedRef;
  if (!Number.isSafeInteger(d.epoch) || (d.epoch as number) < 0)
    malformed(`epoch: expected an integer >= 0, got ${JSON.stringify(d.epoch)}`);
  const epoch = d.epoch as number;
  if (!Array.isArray(d.signatures) || d.signatures.length > MAX_EDITORS)
    malformed(
      `signatures: expected an array of at most ${MAX_EDITORS}, got ${Array.isArray(d.signatures) ? d.signatures.length : typeof d.signatures}`,
    );
  const signatures = (d.signatures as unknown[]).map((s, i) => {
    if (typeof s !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(s)) malformed(`signatures[${i}]: expected 65 bytes of 0x-hex`);
    return s.toLowerCase();
  });
  let draft: AlertDraft;
  if (d.kind === "entry") {
    if (!Number.isSafeInteger(d.seq) || (d.seq as number) < 1) malformed(`seq: expected an integer >= 1, got ${JSON.stringify(d.seq)}`);
    const seq = d.seq as number;
    let bytes: Uint8Array;
    try {
      bytes = fromBase64(d.entry as string, { field: "entry" });
    } catch (err) {
      malformed((err as Error).message);
    }
    const entry = decodeEntry(bytes);
    if (!sameFeed(entry.feed, feed) || entry.seq !== seq || entry.epoch !== epoch)
      malformed(
        `the entry block is entry ${entry.seq} at epoch ${entry.epoch} of feed ${entry.feed.feedId} (${entry.feed.contract}, chain ${entry.feed.chainId}), the draft says entry ${seq} at epoch ${epoch} of feed ${feed.feedId} (${feed.contract}, chain ${feed.chainId})`,
      );
    draft = { v: 1, kind: "entry", feed: { ...feed }, epoch, seq, entry: toBase64(bytes), signatures };
  } else {
    let set: EditorSet;
    try {
      set = checkEditorSet({ editors: d.editors as string[], threshold: d.threshold as number });
    } catch (err) {
      malformed((err as Error).message);
    }
    draft = {
      v: 1,
      kind: "editors",
      feed: { ...feed },
      epoch,
      editors: set.editors.map((e) => getAddress(e)),
      threshold: set.threshold,
      signatures,
    };
  }
  draftSigners(draft);
  return draft;
}

/** A draft as the JSON file editors pass on (two-space indented, a final newline). */
export function encodeDraft(d: AlertDraft): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}

/** An unsigned draft of an entry (its block, or the entry, encoded with encodeEntry). */
export function entryDraft(entry: AlertEntry | Block): EntryDraft {
  const block = "bytes" in entry && entry.bytes instanceof Uint8Array ? entry : encodeEntry(entry as AlertEntry);
  const decoded = decodeEntry(block.bytes, entryCidOf(block.bytes));
  return {
    v: 1,
    kind: "entry",
    feed: { ...decoded.feed },
    epoch: decoded.epoch,
    seq: decoded.seq,
    entry: toBase64(block.bytes),
    signatures: [],
  };
}

/** An unsigned draft of the editors of `ref` after `epoch` (the current epoch) becoming `set`. */
export function editorsDraft(ref: AlertFeedRef, epoch: number, set: EditorSet): EditorsDraft {
  // editorsDigest checks every argument.
  editorsDigest(ref, epoch, set.editors, set.threshold);
  return {
    v: 1,
    kind: "editors",
    feed: { ...ref },
    epoch,
    editors: set.editors.map((e) => getAddress(e)),
    threshold: set.threshold,
    signatures: [],
  };
}

/** The entry block and entry of an entry draft; WrongDraftKindError for an editors draft. */
export function draftEntry(d: AlertDraft): { block: Block; entry: AlertEntry } {
  if (d.kind !== "entry") throw new WrongDraftKindError(`an ${d.kind} draft was given where an entry draft is expected`);
  const bytes = fromBase64(d.entry, { field: "draft.entry" });
  const cid = entryCidOf(bytes);
  return { block: { cid, bytes }, entry: decodeEntry(bytes, cid) };
}

/** The 32 bytes the draft's editors sign: entryDigest of its entry block, or editorsDigest of its editor set. */
export function draftDigest(d: AlertDraft): Uint8Array {
  if (d.kind === "entry") return entryDigest(d.feed, d.epoch, d.seq, draftEntry(d).block.cid);
  if (d.kind === "editors") return editorsDigest(d.feed, d.epoch, d.editors, d.threshold);
  throw new WrongDraftKindError(`draft kind ${JSON.stringify((d as { kind: unknown }).kind)}: expected "entry" or "editors"`);
}

/** The draft's signatures as bytes, in order. */
export function draftSignatures(d: AlertDraft): Uint8Array[] {
  return d.signatures.map((s, i) => fromHex(s, { length: 65, field: `signatures[${i}]` }));
}

/**
 * Who signed the draft so far (checksummed), each signature recovered over draftDigest: MalformedSignatureError for
 * one that does not, SignersNotSortedError unless strictly ascending (a duplicate included).
 */
export function draftSigners(d: AlertDraft): string[] {
  const digest = draftDigest(d);
  let previous = 0n;
  return draftSignatures(d).map((sig, i) => {
    const signer = recoverSigner(digest, sig, i);
    if (BigInt(signer) <= previous)
      throw new SignersNotSortedError(`draft signature ${i} is by ${signer}, not above the signer before it (or a duplicate)`, i, signer);
    previous = BigInt(signer);
    return signer;
  });
}

/**
 * Checks a draft against the editors of its epoch (the chain's editorsAt(feed, d.epoch)): every signature by an editor
 * (ForeignSignatureError), recovering (MalformedSignatureError), strictly ascending (SignersNotSortedError). Returns
 * the signers and whether they reach the threshold, when the draft can be anchored.
 */
export function checkDraft(d: AlertDraft, editors: EditorSet): { signers: string[]; complete: boolean } {
  checkEditorSet(editors);
  const sigs = draftSignatures(d);
  if (sigs.length === 0) return { signers: [], complete: false };
  // checkSignatures with the threshold lowered to what is there: the same order of checks as the contract.
  const signers = checkSignatures(draftDigest(d), sigs, { editors: editors.editors, threshold: Math.min(sigs.length, editors.threshold) });
  return { signers, complete: signers.length >= editors.threshold };
}

/**
 * Adds `signer`'s signature to a draft, keeping ascending signer order; returns a new draft (the one given is not
 * changed). DuplicateSignatureError when this signer has signed it already; with `options.editors`,
 * ForeignSignatureError when the signer is not one of them (nothing is added).
 */
export async function addSignature(d: AlertDraft, signer: DigestSigner, options: { editors?: EditorSet } = {}): Promise<AlertDraft> {
  const digest = draftDigest(d);
  const existing = draftSigners(d);
  const signature = await signDigest(digest, signer);
  const who = recoverSigner(digest, signature);
  if (existing.includes(who)) throw new DuplicateSignatureError(`${who} has already signed this draft: pass it on to another editor`);
  if (options.editors !== undefined && !checkEditorSet(options.editors).editors.some((e) => e.toLowerCase() === who.toLowerCase()))
    throw new ForeignSignatureError(`${who} is not an editor of epoch ${d.epoch} of feed ${d.feed.feedId}`, existing.length, who);
  const all = [...draftSignatures(d), signature].map((sig, i) => ({
    sig,
    at: BigInt(i === existing.length ? who : (existing[i] as string)),
  }));
  all.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return { ...d, feed: { ...d.feed }, signatures: all.map((s) => to0xHex(s.sig)) };
}

// A feed as people see it: each verified entry's alert with its state after the Updates and Cancels that follow it.
// Corrections never rewrite an entry: the feed keeps every message, and the view says which ones still stand.
import type { CID } from "@mosaic/protocol";
import { capKey, capReferences, parseCapTime } from "./cap.js";
import type { AlertEntry, AlertFeedRef } from "./entry.js";
import type { CapAlert } from "./types.js";

/** An entry that passed every check: its CID is the one anchored, its signers are editors of its epoch. */
export interface VerifiedEntry {
  ref: AlertFeedRef;
  seq: number;
  epoch: number;
  cid: CID;
  entry: AlertEntry;
  /** The editors whose signatures the chain anchored with it (checksummed, ascending). */
  signers: string[];
  /** The entry block's bytes (what a replica stores and serves). */
  bytes: Uint8Array;
  /** The signatures anchored with it, ascending by signer (what an announcement carries). */
  signatures: Uint8Array[];
}

/**
 * active: an Alert or Update that stands; updated: superseded by a later Update (`by`); cancelled: a later Cancel
 * withdrew it (`by`); expired: every info's `expires` is past; record: an Ack, Error or Cancel message itself.
 */
export type AlertState = "active" | "updated" | "cancelled" | "expired" | "record";

export interface FeedItem {
  seq: number;
  cid: string;
  /** capKey of the alert: "sender,identifier,sent". */
  key: string;
  cap: CapAlert;
  state: AlertState;
  /** The entry that updated or cancelled it. */
  by?: { seq: number; key: string };
}

/**
 * The feed's items, oldest first, with their states at `nowS` (unix seconds). An Update supersedes the earlier
 * messages it references and is itself active; a Cancel cancels the earlier ones it references (a cancellation
 * stands even if an Update follows); a message never affects itself or a later one, nor one of another feed, nor a
 * record (an Ack, Error or Cancel message stays "record"), and a reference to a message not in the feed changes nothing.
 * A reference applies to every earlier message of the feed with that key: a message published twice is updated or
 * cancelled as a whole (the vault's alert-filter reads references the same way). An active alert whose every info has
 * an `expires` in the past is expired.
 */
export function feedView(entries: readonly Pick<VerifiedEntry, "ref" | "seq" | "cid" | "entry">[], nowS: number): FeedItem[] {
  if (!Number.isFinite(nowS)) throw new RangeError(`nowS: expected unix seconds, got ${nowS}`);
  const items: FeedItem[] = [];
  /** Indexes into `items` of the messages seen so far, by feed and key. */
  const byKey = new Map<string, number[]>();
  for (const e of entries) {
    const cap = e.entry.cap;
    const key = capKey(cap);
    const item: FeedItem = {
      seq: e.seq,
      cid: e.cid.toString(),
      key,
      cap,
      state: cap.msgType === "Alert" || cap.msgType === "Update" ? "active" : "record",
    };
    const at = items.length;
    items.push(item);
    const feed = `${e.ref.chainId}:${e.ref.contract}:${e.ref.feedId}:`;
    if (cap.msgType === "Update" || cap.msgType === "Cancel") {
      for (const referenced of new Set(capReferences(cap))) {
        // Only earlier messages of the same feed: byKey holds nothing later, and not this one yet (it is added below).
        for (const i of byKey.get(feed + referenced) ?? []) {
          const target = items[i] as FeedItem;
          if (target.state === "record") continue;
          if (cap.msgType === "Cancel") {
            target.state = "cancelled";
            target.by = { seq: e.seq, key };
          } else if (target.state !== "cancelled") {
            target.state = "updated";
            target.by = { seq: e.seq, key };
          }
        }
      }
    }
    const same = byKey.get(feed + key);
    if (same === undefined) byKey.set(feed + key, [at]);
    else same.push(at);
  }
  return items.map((item) => (item.state === "active" && isExpired(item.cap, nowS) ? { ...item, state: "expired" } : item));
}

function isExpired(cap: CapAlert, nowS: number): boolean {
  if (cap.info.length === 0) return false;
  return cap.info.every((info) => info.expires !== undefined && parseCapTime(info.expires) < nowS);
}

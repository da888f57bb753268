/**
 * @packageDocumentation
 *
 * Public alerts: OASIS CAP 1.2 messages (a strict XML reader, validation against the CAP schema, rendering), their
 * areas as shapes to test points against, and feeds whose entries m of n editors sign, anchored on-chain
 * (AlertFeeds): entries, drafts passed between editors, the feed's view after updates and cancellations, syncing a
 * feed from any replica against the on-chain head, and the gossipsub announcements. Runs in Node and in browsers.
 */
export * from "./announce.js";
export * from "./cap.js";
export * from "./cap-schema.js";
export * from "./chain.js";
export * from "./draft.js";
export * from "./entry.js";
export * from "./errors.js";
export * from "./feed-errors.js";
export * from "./feed-view.js";
export * from "./geo.js";
export * from "./sync.js";
export * from "./text.js";
export * from "./types.js";
export * from "./xml.js";

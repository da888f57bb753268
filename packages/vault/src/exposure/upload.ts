// Uploading this vault's keys after a positive test: the last 14 days' keys, proved by an upload identity that is a
// member of the health authority's registrar group, published from a throwaway libp2p node to the feed's upload topic.
import {
  type ArtifactPaths,
  type CreatePublishNode,
  type Group,
  Identity,
  type PublishResult,
  type PublishSubmissionInit,
  proveMembership,
  publishSubmissionWith,
  type SemaphoreProof,
} from "@mosaic/avatar";
import {
  checkUploadKeys,
  encodeUpload,
  exposureUploadTopic,
  type KeyUpload,
  keysToUpload,
  type PublishedKey,
  type ReportType,
  REPORT_TYPES,
  unixDayOf,
  uploadMessage,
  uploadPeriod,
  uploadScope,
} from "@mosaic/exposure";
import type { Block } from "@mosaic/protocol";
import { hkdf } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha2";
import type { Vault } from "../vault.js";
import type { FeedRef } from "./feed.js";
import { exposureRoot } from "./keys.js";

/** HKDF info of the upload identity: another identity than the avatar's, so uploads and job answers cannot be linked. */
export const UPLOAD_IDENTITY_INFO = "mosaic/exposure/upload-identity/v1";

/**
 * The Semaphore identity this vault uploads its keys with: HKDF-SHA256(root seed, -, UPLOAD_IDENTITY_INFO, 32).
 * Not the avatar (deriveAvatarIdentity), so the authority that admits it to its group cannot link the uploader to
 * the vault's job answers. Its commitment is what the user hands the health authority to be admitted.
 */
export function uploadIdentity(vault: Vault): Identity {
  return new Identity(hkdf(sha256, vault.rootSeed, undefined, UPLOAD_IDENTITY_INFO, 32));
}

/** The gossipsub topic a feed's key server takes upload announcements on: exposure's, the one the key server uses. */
export { exposureUploadTopic };

/** Makes the upload's Semaphore proof (elsewhere than this thread, say); message and scope are uploadMessage's and uploadScope's. */
export type ProveUpload = (identity: Identity, group: Group, message: bigint, scope: bigint) => Promise<SemaphoreProof>;

export interface PrepareUploadInit {
  /** The health authority's feed. */
  feed: FeedRef;
  /** The feed's registrar group, synced, with this vault's upload identity admitted. */
  group: Group;
  /** Unix seconds: the keys of the 14 days before `now`'s day are uploaded (today's is still in use). */
  now: number;
  /** What the diagnosis was. @default "confirmed-test" */
  reportType?: ReportType;
  /** Unix day symptoms began; each key then carries its days since onset. @default null (no symptoms, or not said) */
  onsetDay?: number | null;
  /** The Semaphore wasm and zkey (file paths in Node, URLs in a browser). Unused when `prove` is given. */
  artifacts?: ArtifactPaths;
  /** @default Semaphore's generateProof with `artifacts`, on this thread */
  prove?: ProveUpload;
}

/** GAEN's days since onset: the key's day minus the onset day, null beyond ±14 (the risk model's range) or unknown. */
function daysSinceOnset(keyDay: number, onsetDay: number | null): number | null {
  if (onsetDay === null) return null;
  const d = keyDay - onsetDay;
  return d >= -14 && d <= 14 ? d : null;
}

/** Avatar's Semaphore prover, on this thread. */
const defaultProve =
  (artifacts: ArtifactPaths | undefined): ProveUpload =>
  async (identity, group, message, scope) => {
    if (artifacts === undefined)
      throw new TypeError("artifacts: pass the Semaphore wasm and zkey (artifactPaths() in Node, URLs in a browser)");
    return proveMembership(identity, group, message, scope, artifacts);
  };

/**
 * The upload of this vault's keys of the 14 days before `now` (keysToUpload, each with the report type and days since
 * onset), checked (checkUploadKeys: KeyOutsideWindowError) and proved by the upload identity for the feed's current
 * period: scope uploadScope(feed, period), message uploadMessage(keys). One upload per person per period: the
 * proof's nullifier is the same for any second one. Nothing leaves the vault here.
 */
export async function prepareUpload(vault: Vault, init: PrepareUploadInit): Promise<KeyUpload> {
  const { feed, now } = init;
  const reportType = init.reportType ?? "confirmed-test";
  if (!REPORT_TYPES.includes(reportType))
    throw new TypeError(`reportType: expected one of ${REPORT_TYPES.join(", ")}, got ${JSON.stringify(reportType)}`);
  const onsetDay = init.onsetDay ?? null;
  if (onsetDay !== null && (!Number.isSafeInteger(onsetDay) || onsetDay < 0 || onsetDay > unixDayOf(now)))
    throw new RangeError(`onsetDay: expected a unix day no later than today (${unixDayOf(now)}), got ${onsetDay}`);
  const keys: PublishedKey[] = keysToUpload(exposureRoot(vault), now).map((k) => ({
    ...k,
    reportType,
    daysSinceOnsetOfSymptoms: daysSinceOnset(Math.floor(k.rollingStartIntervalNumber / 144), onsetDay),
  }));
  checkUploadKeys(keys, now);
  const period = uploadPeriod(now);
  const scope = uploadScope(feed.chainId, feed.feeds, feed.feedId, period);
  const prove = init.prove ?? defaultProve(init.artifacts);
  const proof = await prove(uploadIdentity(vault), init.group, uploadMessage(keys), scope);
  return { version: 1, chainId: feed.chainId, feeds: feed.feeds.toLowerCase(), feedId: feed.feedId, period, keys, proof };
}

export interface UploadKeysInit extends Omit<PublishSubmissionInit, "topic"> {}

/**
 * Publishes a prepared upload (encodeUpload's block) from a throwaway libp2p node made by `createNode` (avatar's
 * publishSubmissionWith: a new peer id each call) to the feed's upload topic, handing it to `peers` (the authority's
 * key server, or relays). Returns the block and what the publish did; keep neither beyond showing them.
 */
export async function uploadKeysWith(
  createNode: CreatePublishNode,
  upload: KeyUpload,
  init: UploadKeysInit,
): Promise<{ block: Block; published: PublishResult }> {
  const block = await encodeUpload(upload);
  const topic = exposureUploadTopic(upload.chainId, upload.feeds, upload.feedId);
  const published = await publishSubmissionWith(createNode, block, { ...init, topic });
  return { block, published };
}

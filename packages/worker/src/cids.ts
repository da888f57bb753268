// The one form a submission CID takes on a reducer node: CIDv1, dag-cbor, sha2-256 (what encodeSubmission makes and
// what a reduce-tree leaf names). The same bytes announced under another codec (raw "bafkrei…") or as CIDv0 ("Qm…")
// are the same block (blocks are stored and fetched by multihash), so they are taken as that CID; a CID with any
// other hash (identity above all: its "block" is inside the CID and resolves without anyone holding it) is refused.
import { CID, MalformedSubmissionError, parseCid } from "@mosaic/protocol";

const DAG_CBOR = 0x71;
const SHA2_256 = 0x12;

/**
 * The CIDv1 dag-cbor sha2-256 of the block `cid` names (a string is parsed first). Throws MalformedSubmissionError for
 * anything not a CID, or one whose multihash is not a 32-byte sha2-256 (identity, other hash functions).
 */
export function submissionCidOf(cid: CID | string): CID {
  const parsed = typeof cid === "string" ? parseCid(cid) : cid;
  const mh = parsed.multihash;
  if (mh.code !== SHA2_256 || mh.size !== 32 || mh.digest.length !== 32)
    throw new MalformedSubmissionError(
      `CID ${parsed.toString().slice(0, 80)} has multihash code 0x${mh.code.toString(16)} (${mh.size} bytes); a submission CID is sha2-256`,
    );
  if (parsed.version === 1 && parsed.code === DAG_CBOR) return parsed;
  return CID.createV1(DAG_CBOR, mh);
}

// Jobs in Node: the portable job board (../job-board.ts) with Node's TCP libp2p nodes and group trees cached in the
// vault's directory.
import { createIpfsNode, type IpfsNode } from "@mosaic/protocol";
import type { HandOver } from "../submissions.js";
import { type HandOverLimits, handOverTrying as handOverTryingWith, type JobBoard, jobBoard, type NodeJobBoardInit } from "../job-board.js";

export { HandOverAbandonedError, type HandOverLimits, type NodeJobBoard, type NodeJobBoardInit } from "../job-board.js";

/** A dial-only Node node (TCP): what reducers listen on. */
const dialOnlyNode = (): Promise<IpfsNode> => createIpfsNode({ listen: [] });

/**
 * The components listJobs, prepareJob and answerConfirmed take, in Node: jobBoard with dial-only TCP nodes (and the
 * group trees cached in `init.cacheDir`).
 */
export function nodeJobBoard(init: NodeJobBoardInit): JobBoard {
  return jobBoard({ ...init, createNode: dialOnlyNode });
}

/** The portable handOverTrying from dial-only TCP nodes (unless `limits.createNode` says otherwise). */
export function handOverTrying(alternates: ReadonlyMap<string, readonly string[]>, limits: HandOverLimits = {}): HandOver {
  return handOverTryingWith(alternates, { createNode: dialOnlyNode, ...limits });
}

/** handOverTrying with no alternates: each reducer at the one address given. */
export const handOverFromThrowawayNode: HandOver = handOverTrying(new Map());

// Event scanning: which Semaphore events a sync asks for, and applying one query's logs to a state, each checked
// against the tree it rebuilds.
import { Semaphore__factory, SNARK_SCALAR_FIELD } from "@mosaic/protocol";
import { type Log, type LogDescription, toBeHex, zeroPadValue } from "ethers";
import { malformed } from "./errors.js";
import { ADD_SLICE, MAX_SIZE } from "./limits.js";
import type { RootOp, SyncState } from "./root-history.js";
import type { GroupSyncProgress } from "./types.js";
import { yieldToEventLoop } from "./yield.js";

const semaphoreInterface = Semaphore__factory.createInterface();
const MEMBER_EVENTS = ["MemberAdded", "MembersAdded", "MemberUpdated", "MemberRemoved", "GroupMerkleTreeDurationUpdated"] as const;
export const EVENT_TOPICS = MEMBER_EVENTS.map((name) => semaphoreInterface.getEvent(name)!.topicHash);

/** The second topic of every event of group `groupId`. */
export function groupTopicOf(groupId: bigint): string {
  return zeroPadValue(toBeHex(groupId), 32);
}

/** The group and contract the logs must come from, and how closely to check them. */
export interface ApplyContext {
  groupId: bigint;
  /** The Semaphore contract, checksummed. */
  address: string;
  groupTopic: string;
  verifyEventRoots: boolean;
  onProgress: ((progress: GroupSyncProgress) => void) | undefined;
}

/** Applies one query's logs to `state` (a private copy), checking each against the tree it rebuilds. */
export async function applyLogs(
  state: SyncState,
  logs: Log[],
  range: { from: number; to: number; head: number },
  ctx: ApplyContext,
  signal: AbortSignal | undefined,
): Promise<number> {
  const { from, to, head } = range;
  const sorted = logs.slice().sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
  let [lastBlock, lastIndex] = state.lastPosition();
  const tree = state.tree;
  // Additions are hashed together, then each event's root is checked against the prefix it ended at.
  let run: { op: Extract<RootOp, { kind: "add" }>; leaves: bigint[] }[] = [];
  let runLeaves = 0;
  let pendingSize = tree.size;
  const flush = async () => {
    if (run.length === 0) return;
    const leaves: bigint[] = [];
    for (const r of run) for (const leaf of r.leaves) leaves.push(leaf);
    tree.insertMany(leaves);
    for (const { op } of run) {
      const end = op.start + op.count;
      const root = end === tree.size ? tree.root : ctx.verifyEventRoots ? tree.prefixRoot(end) : op.root;
      if (root !== op.root) throw malformed(op.block, op.logIndex, `states root ${op.root}, but the rebuilt tree's is ${root}`);
      state.pushOp(op);
    }
    const last = run.at(-1)!.op;
    run = [];
    runLeaves = 0;
    ctx.onProgress?.({ block: last.block, head, members: tree.size });
    await yieldToEventLoop(signal);
  };
  const groupTopic = ctx.groupTopic.toLowerCase();
  for (const log of sorted) {
    const { blockNumber: block, index: logIndex } = log;
    if (!Number.isSafeInteger(block) || block < from || block > to || !Number.isSafeInteger(logIndex) || logIndex < 0) {
      throw malformed(block, logIndex, `is outside the blocks ${from}..${to} that were asked for`);
    }
    if (block < lastBlock || (block === lastBlock && logIndex <= lastIndex)) {
      throw malformed(block, logIndex, `comes after block ${lastBlock} log ${lastIndex}, out of order or twice`);
    }
    [lastBlock, lastIndex] = [block, logIndex];
    if (log.removed) throw malformed(block, logIndex, "is marked removed");
    if (log.address?.toLowerCase() !== ctx.address.toLowerCase() || log.topics[1]?.toLowerCase() !== groupTopic) {
      throw malformed(block, logIndex, `is from ${log.address} for topic ${log.topics[1]}, not group ${ctx.groupId} on ${ctx.address}`);
    }
    let event: LogDescription | null = null;
    try {
      event = semaphoreInterface.parseLog({ topics: [...log.topics], data: log.data });
    } catch {
      event = null;
    }
    if (event === null || event.args[0] !== ctx.groupId)
      throw malformed(block, logIndex, "does not decode as a Semaphore event of this group");
    switch (event.name) {
      case "MemberAdded":
      case "MembersAdded": {
        const start = event.args[1] as bigint;
        const leaves: bigint[] = event.name === "MemberAdded" ? [event.args[2] as bigint] : [...(event.args[2] as bigint[])];
        const root = event.args[3] as bigint;
        if (start !== BigInt(pendingSize))
          throw malformed(block, logIndex, `adds at index ${start}, but the group has ${pendingSize} members`);
        if (leaves.length === 0) throw malformed(block, logIndex, "adds no members (the contract reverts on that)");
        if (pendingSize + leaves.length > MAX_SIZE) throw malformed(block, logIndex, `grows the group past ${MAX_SIZE} members`);
        leaves.forEach((leaf, i) => {
          if (leaf === 0n || leaf >= SNARK_SCALAR_FIELD) throw malformed(block, logIndex, `adds ${leaf}, not a nonzero field element`);
          if (state.memberIndex.has(leaf)) throw malformed(block, logIndex, `adds ${leaf}, already a member`);
          state.memberIndex.set(leaf, pendingSize + i);
        });
        run.push({ op: { kind: "add", block, logIndex, start: pendingSize, count: leaves.length, root }, leaves });
        pendingSize += leaves.length;
        runLeaves += leaves.length;
        if (runLeaves >= ADD_SLICE) await flush();
        break;
      }
      case "MemberUpdated":
      case "MemberRemoved": {
        await flush();
        const removed = event.name === "MemberRemoved";
        const index = event.args[1] as bigint;
        const old = event.args[2] as bigint;
        const next = removed ? 0n : (event.args[3] as bigint);
        const root = event.args[removed ? 3 : 4] as bigint;
        if (index >= BigInt(tree.size) || state.memberIndex.get(old) !== Number(index)) {
          throw malformed(block, logIndex, `changes member ${old} at index ${index}, which is not there`);
        }
        if (next >= SNARK_SCALAR_FIELD) throw malformed(block, logIndex, `sets ${next}, not a field element`);
        if (next !== 0n && state.memberIndex.has(next)) throw malformed(block, logIndex, `sets ${next}, already a member`);
        const at = Number(index);
        tree.update(at, next);
        if (tree.root !== root) throw malformed(block, logIndex, `states root ${root}, but the rebuilt tree's is ${tree.root}`);
        state.memberIndex.delete(old);
        if (next !== 0n) state.memberIndex.set(next, at);
        state.pushOp({ kind: removed ? "remove" : "update", block, logIndex, index: at, old, next, root });
        break;
      }
      case "GroupMerkleTreeDurationUpdated": {
        await flush();
        const old = event.args[1] as bigint;
        const next = event.args[2] as bigint;
        const known = state.durations.at(-1)?.next ?? state.duration;
        if (known !== undefined && known !== old) throw malformed(block, logIndex, `changes the duration from ${old}, but it was ${known}`);
        state.durations.push({ block, logIndex, old, next });
        break;
      }
      default:
        throw malformed(block, logIndex, `is a ${event.name} event, which was not asked for`);
    }
    signal?.throwIfAborted();
  }
  await flush();
  return sorted.length;
}

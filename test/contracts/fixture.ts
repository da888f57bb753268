// What the JobRegistry tests share: a group size fit for big trees, reduce params, random leaves, sending witnesses.
import {
  artifactPaths,
  encodePayload,
  encodeSubmission,
  type EnvelopeArg,
  envelopeArg,
  type Group,
  PROOF_DEPTH,
  type Submission,
} from "@mosaic/avatar";
import {
  type JobRef,
  jobScope,
  type MosaicContracts,
  type ProposedResult,
  payloadDigest,
  proposeResult,
  type ReducerSpec,
  specDigestOf,
} from "@mosaic/protocol";
import { type Leaf, type ReduceResult, reduceTree, submissionCid, type TreeNodes, type Witness } from "@mosaic/mapreduce";
import type { Identity } from "@semaphore-protocol/identity";
import {
  AbiCoder,
  type ContractTransactionResponse,
  getBytes,
  keccak256,
  type Provider,
  type Signer,
  solidityPacked,
  toUtf8Bytes,
  ZeroHash as ZERO_HASH,
} from "ethers";
import { type ShareLeaf, shareLeafHash } from "../../packages/mapreduce/src/shared/share-set.js";

/**
 * Makes Semaphore report `size` members for a group, by writing the LeanIMT's size word: a proposal's count may not
 * exceed the group size, and registering 100,000 identities one by one would take hours. Only the size changes
 * (the root fixed at posting is untouched), which is all JobRegistry reads.
 */
export async function setGroupSize(
  c: MosaicContracts,
  provider: Provider,
  setStorageAt: (address: string, slot: bigint, value: bigint) => Promise<void>,
  groupId: bigint,
  size: bigint,
): Promise<void> {
  const current = await c.avatarGroups.groupSize(groupId);
  for (let slot = 0n; slot < 16n; slot++) {
    const at = BigInt(keccak256(AbiCoder.defaultAbiCoder().encode(["uint256", "uint256"], [groupId, slot])));
    if (BigInt(await provider.getStorage(c.addresses.semaphore, at)) !== current) continue;
    await setStorageAt(c.addresses.semaphore, at, size);
    if ((await c.avatarGroups.groupSize(groupId)) === size) return;
    await setStorageAt(c.addresses.semaphore, at, current);
  }
  throw new Error("setGroupSize: Semaphore's tree size slot not found");
}

/** A real spec CID (CIDv1 dag-cbor sha2-256) and the digest postJob records of it. */
export const SPEC_CID = "bafyreihasknu6tahjkrmqpbth76em6krdenlrwdbhvlo2i5mzz5vzzzn74";
export const SPEC_DIGEST = specDigestOf(SPEC_CID);

export const KINDS = { sum: 0, count: 1, histogram: 2, mean: 3, quantile: 4 } as const;

/** The payload bounds the contract tests post jobs with: every entry in [-BOUND, BOUND]. */
export const BOUND = 1000;

/** The contract's ReduceParams for a reducer spec; payload bounds [-BOUND, BOUND] unless given. */
export function reduceParams(
  reducer: ReducerSpec,
  payloadLength: number,
  bounds: { min: number[]; max: number[] } = {
    min: new Array<number>(payloadLength).fill(-BOUND),
    max: new Array<number>(payloadLength).fill(BOUND),
  },
) {
  return { kind: KINDS[reducer.kind], payloadLength, edges: reducer.kind === "quantile" ? reducer.edges : [], ...bounds };
}

/** `n` leaves with distinct pseudo-random nullifiers and payloads of `width` entries in [-50, 50]. */
export function randomLeaves(n: number, width: number, seed: number): Leaf[] {
  let x = seed >>> 0 || 1;
  const next = () => {
    // xorshift32: reproducible and cheap.
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
  const seen = new Set<string>();
  const out: Leaf[] = [];
  while (out.length < n) {
    const nullifier = (BigInt(next()) * 4_294_967_296n + BigInt(next())).toString();
    if (seen.has(nullifier)) continue;
    seen.add(nullifier);
    const submission = submissionCid(getBytes(keccak256(toUtf8Bytes(nullifier))));
    out.push({ nullifier, submission, value: Array.from({ length: width }, () => (next() % 101) - 50) });
  }
  return out;
}

export function honestTree(n: number, reducer: ReducerSpec, width: number, seed: number): ReduceResult {
  return reduceTree(randomLeaves(n, width, seed), reducer, width);
}

/** Sends a witness: `registry.<fn>(jobId, index, ...args)`. */
export function challenge(
  c: MosaicContracts,
  signer: Signer,
  jobId: bigint,
  index: bigint,
  w: Witness,
): Promise<ContractTransactionResponse> {
  const fn = c.jobRegistry.connect(signer).getFunction(w.fn) as unknown as (...args: unknown[]) => Promise<ContractTransactionResponse>;
  return fn(jobId, index, ...w.args);
}

/** A leaf whose submission can be opened on-chain, with the envelope that opens it. */
export interface OpenableLeaf {
  leaf: Leaf;
  envelope: EnvelopeArg;
}

/**
 * `n` leaves like randomLeaves', each CID the digest of a real v1 envelope for `job` (payload hash and scope right,
 * proof points made up), so answerLeaf can publish it; challengeSubmission would find its proof InvalidProof.
 */
export async function openableLeaves(n: number, width: number, seed: number, job: JobRef): Promise<OpenableLeaf[]> {
  const scope = jobScope(job.chainId, job.registry, job.jobId).toString();
  return Promise.all(
    randomLeaves(n, width, seed).map(async ({ nullifier, value }, i) => {
      const sub: Submission = {
        version: 1,
        job,
        payload: value,
        proof: {
          merkleTreeDepth: PROOF_DEPTH,
          merkleTreeRoot: String(seed),
          nullifier,
          message: payloadDigest(encodePayload(value)).toString(),
          scope,
          points: Array.from({ length: 8 }, (_, k) => String(seed + 8 * i + k)) as Submission["proof"]["points"],
        },
      };
      return { leaf: { nullifier, submission: (await encodeSubmission(sub)).cid.toString(), value }, envelope: envelopeArg(sub) };
    }),
  );
}

/** Every node of a tree a data request may name: each leaf (level 0), and each paired node above, as [level, position]. */
export function askableNodes(tree: TreeNodes): [number, number][] {
  const out: [number, number][] = tree.leaves.map((_, i): [number, number] => [0, i]);
  for (let level = 1; level < tree.levels.length; level++)
    for (let i = 0; 2 * i + 1 < (tree.levels[level - 1] as unknown[]).length; i++) out.push([level, i]);
  return out;
}

/** Proposes `result` for `jobId` from `by` (commit, then reveal) with `bond` attached; returns the proposal's index. */
export async function proposeTree(
  c: MosaicContracts,
  by: Signer,
  jobId: bigint,
  result: Omit<ProposedResult, "bundleCid">,
  bond: bigint,
  bundleCid = "bafybundle",
): Promise<bigint> {
  return (await proposeResult(c.jobRegistry.connect(by), jobId, { ...result, bundleCid }, { bond })).index;
}

// ------------------------------------------------------------------------------------------- shared mode (SharedJobs)

/** A shared-mode report's share-set leaf, with a real Semaphore proof of `message` for `job` by `identity` in `group`. */
export async function proveShareLeaf(identity: Identity, group: Group, job: JobRef, message: bigint): Promise<ShareLeaf> {
  const { generateProof } = await import("@semaphore-protocol/proof");
  const proof = await generateProof(identity, group, message, jobScope(job.chainId, job.registry, job.jobId), PROOF_DEPTH, artifactPaths());
  return { nullifier: BigInt(proof.nullifier), message, points: proof.points.map(BigInt) };
}

/** The contract's ShareLeaf argument. */
export function shareLeafArg(leaf: ShareLeaf): { nullifier: bigint; message: bigint; points: bigint[] } {
  return { nullifier: leaf.nullifier, message: leaf.message, points: [...leaf.points] };
}

/**
 * A share-set tree over leaves in the order given, sorted or not (shareSetRoot refuses unsorted ones): what a faulty
 * aggregator could commit. Same hashing and path form as shareSetRoot and shareSetPath.
 */
export function anyOrderShareSet(leaves: readonly ShareLeaf[]): { root: string; path: (index: number) => string[] } {
  const levels: string[][] = [leaves.map(shareLeafHash)];
  for (let level = levels[0] as string[]; level.length > 1; ) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(
        i + 1 < level.length
          ? keccak256(solidityPacked(["uint8", "bytes32", "bytes32"], [1, level[i], level[i + 1]]))
          : (level[i] as string),
      );
    levels.push(next);
    level = next;
  }
  const top = levels[levels.length - 1] as string[];
  return {
    root: leaves.length === 0 ? ZERO_HASH : (top[0] as string),
    path: (index) => {
      const out: string[] = [];
      let position = index;
      for (const level of levels.slice(0, -1)) {
        if (!(position === level.length - 1 && level.length % 2 === 1)) out.push(level[position ^ 1] as string);
        position >>= 1;
      }
      return out;
    },
  };
}

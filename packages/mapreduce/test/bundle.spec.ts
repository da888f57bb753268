import { BlockUnavailableError, type Block, CID, encodeBlock, getBlock, type ReducerSpec } from "@mosaic/protocol";
import { expect } from "chai";
import { AbiCoder, keccak256 } from "ethers";
import fc from "fast-check";
import { sha256 } from "multiformats/hashes/sha2";
import {
  BUNDLE_VERSION,
  BundleBlockTooLargeError,
  type BundleBlockGetter,
  BundleChunkError,
  BundleLinkError,
  BundleVersionError,
  type EncodedBundle,
  encodeBundle,
  findFaults,
  type Leaf,
  leafInclusion,
  MAX_BUNDLE_BLOCK_BYTES,
  MalformedBundleError,
  openBundle,
  type ReduceResult,
  reduceTree,
  submissionCid,
  submissionDigest,
  treeNodes,
  verifyLeafInclusion,
} from "../src/index.js";

const abi = AbiCoder.defaultAbiCoder();
const SUM: ReducerSpec = { kind: "sum" };
const MEAN: ReducerSpec = { kind: "mean" };
const JOB = { chain: 31337, registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3", id: 1 };
const SPEC = CID.parse("bafyreihasknu6tahjkrmqpbth76em6krdenlrwdbhvlo2i5mzz5vzzzn74");

/** A submission CID per leaf (different jobs get different ones, as their envelopes name the job). */
function cidOf(i: number, job = 1): string {
  const digest = new Uint8Array(32);
  new DataView(digest.buffer).setUint32(0, i);
  new DataView(digest.buffer).setUint32(4, job);
  return submissionCid(digest);
}

function leaves(n: number, width = 2, job = 1): Leaf[] {
  return Array.from({ length: n }, (_, i) => ({
    nullifier: String(10n ** 70n + BigInt(i) * 7_919n + BigInt(job)),
    submission: cidOf(i, job),
    value: Array.from({ length: width }, (_, k) => ((i * 31 + k * 7) % 97) - 20),
  }));
}

/** A blockstore as an attacker fills it: any bytes under any CID. */
class Store {
  readonly blocks = new Map<string, Uint8Array>();
  gets = 0;
  put(...blocks: Block[]): void {
    for (const b of blocks) this.blocks.set(b.cid.toString(), b.bytes);
  }
  putBundle(bundle: EncodedBundle): CID {
    this.put(...bundle.blocks, bundle.root);
    return bundle.root.cid;
  }
  /** protocol's getBlock over this store: streamed, refused once over maxBytes. */
  readonly getBlock: BundleBlockGetter = (cid, options) => {
    this.gets++;
    const bytes = this.blocks.get(cid.toString());
    const store = {
      async *get() {
        if (bytes === undefined) throw new BlockUnavailableError(`no block ${cid}`);
        for (let at = 0; at < bytes.length; at += 65536) yield bytes.subarray(at, at + 65536);
      },
    };
    return getBlock(store as never, cid, options);
  };
}

async function bundleOf(result: ReduceResult, reducer = SUM, payloadLength = 2, values?: number[][][]): Promise<EncodedBundle> {
  return encodeBundle({ job: JOB, spec: SPEC, reducer, payloadLength, result, values });
}

/** Awaits `p` and expects it to fail with the error named `expected` (and of that class, when a class is given). */
async function expectName(p: Promise<unknown>, expected: string | (abstract new (...args: never[]) => Error)): Promise<Error> {
  const name = typeof expected === "string" ? expected : expected.name;
  try {
    await p;
  } catch (err) {
    expect((err as Error).name, (err as Error).message).to.equal(name);
    if (typeof expected !== "string") expect(err).to.be.instanceOf(expected);
    return err as Error;
  }
  expect.fail(`expected ${name}`);
}

/** ReduceTree.rootOf as the contract computes it, with ethers' ABI coder: the reference for verifyLeafInclusion. */
function contractRootOf(leaf: Leaf, index: number, count: number, path: { sibling: string; value: number[] }[]): string {
  let h = keccak256(
    abi.encode(["uint8", "uint256", "bytes32", "int256[]"], [0, BigInt(leaf.nullifier), submissionDigest(leaf.submission), leaf.value]),
  );
  let k = 0;
  for (let n = count, p = index; n > 1; n = (n + 1) >> 1, p >>= 1) {
    if (p === n - 1 && (n & 1) === 1) continue;
    const a = path[k++] as { sibling: string; value: number[] };
    h =
      (p & 1) === 0
        ? keccak256(abi.encode(["uint8", "bytes32", "bytes32", "int256[]"], [1, h, a.sibling, a.value]))
        : keccak256(abi.encode(["uint8", "bytes32", "bytes32", "int256[]"], [1, a.sibling, h, a.value]));
  }
  if (k !== path.length) throw new Error("WrongPathLength");
  return h;
}

describe("result bundles", () => {
  describe("encodeBundle and openBundle", () => {
    it("test_roundTrip_readsBackTheTreeAndItsValues", async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 40 }), fc.boolean(), async (n, mean) => {
          const reducer = mean ? MEAN : SUM;
          const result = reduceTree(leaves(n), reducer, 2);
          const bundle = await bundleOf(result, reducer);
          const store = new Store();
          const reader = await openBundle(store.putBundle(bundle), store.getBlock);
          expect(reader.header).to.deep.include({ version: BUNDLE_VERSION, count: n, treeRoot: result.treeRoot, reducer: reducer.kind });
          expect(reader.header.job).to.deep.equal(JOB);
          expect(reader.header.aggregate).to.deep.equal(result.aggregate);
          const all = await reader.readAll();
          expect(all.leaves).to.deep.equal(result.leaves);
          expect(all.levels).to.deep.equal(result.levels);
          const nodes = n === 0 ? [] : treeNodes(result, reducer, 2).levels;
          expect(all.values).to.deep.equal(nodes.map((level, l) => (l === 0 ? [] : level.map((node) => node.value))));
          expect(findFaults({ ...result, ...all }, reducer, 2)).to.equal(undefined);
        }),
        { numRuns: 40, seed: 17 },
      );
    });

    it("test_bigBundle_isATreeOfBlocksUnderTheLimit_deterministic_andReadLazily", async function () {
      this.timeout(60_000);
      const result = reduceTree(leaves(20_000, 7), SUM, 7);
      const bundle = await bundleOf(result, SUM, 7);
      const again = await bundleOf(result, SUM, 7);
      expect(again.root.cid.toString()).to.equal(bundle.root.cid.toString());
      const all = [bundle.root, ...bundle.blocks];
      expect(Math.max(...all.map((b) => b.bytes.length))).to.be.at.most(MAX_BUNDLE_BLOCK_BYTES);
      expect(bundle.blocks.length).to.be.greaterThan(20);
      expect(new Set(all.map((b) => b.cid.toString())).size).to.equal(all.length);
      const store = new Store();
      const reader = await openBundle(store.putBundle(bundle), store.getBlock);
      const target = result.leaves[12_345] as Leaf;
      const proof = await leafInclusion(reader, target.nullifier);
      expect(proof?.index).to.equal(12_345);
      expect(proof?.leaf).to.deep.equal(target);
      expect(verifyLeafInclusion(result.treeRoot, proof as never, 20_000)).to.equal(true);
      // The root, the one leaf chunk the root's first nullifiers point to, at most a hash and a value chunk per level.
      const levels = Math.ceil(Math.log2(20_000));
      expect(reader.fetched.blocks).to.be.at.most(2 + 2 * levels);
      const total = all.reduce((sum, b) => sum + b.bytes.length, 0);
      expect(reader.fetched.bytes).to.be.lessThan(total / 3);
      expect(await reader.leaf(19_999)).to.deep.equal(result.leaves[19_999]);
      expect(await reader.hash(3, 7)).to.equal(result.levels[3]?.[7]);
    });

    it("test_encodeBundle_refusesABlockOverTheLimit", async () => {
      const big = [{ nullifier: "1", submission: cidOf(1), value: Array.from({ length: 30_000 }, () => 2 ** 52) }];
      const result = reduceTree(big, SUM, 30_000);
      await expectName(bundleOf(result, SUM, 30_000), BundleBlockTooLargeError);
    });
  });

  describe("hostile bundles", () => {
    /** An honest 3,000-leaf bundle of 8-entry payloads (several leaf chunks), its root fields, and a store holding it. */
    async function honest() {
      const result = reduceTree(leaves(3_000, 8), SUM, 8);
      const bundle = await bundleOf(result, SUM, 8);
      const store = new Store();
      store.putBundle(bundle);
      const { decodeCbor } = await import("@mosaic/protocol");
      const root = decodeCbor(bundle.root.bytes) as Record<string, unknown> & { leaves: CID[]; hashes: CID[][]; values: CID[][] };
      expect(root.leaves.length).to.be.greaterThan(1);
      return { result, bundle, store, root };
    }

    /** Stores a forged root and opens it. */
    async function openForged(store: Store, root: unknown) {
      const block = await encodeBlock(root);
      store.put(block);
      return openBundle(block.cid, store.getBlock);
    }

    it("test_openBundle_versionOneOrNoBundle_isBundleVersionError", async () => {
      const { result, store } = await honest();
      const v1 = await encodeBlock({ v: 1, job: JOB, count: result.count, treeRoot: result.treeRoot, leaves: [], levels: [] });
      store.put(v1);
      await expectName(openBundle(v1.cid, store.getBlock), BundleVersionError);
      const list = await encodeBlock([1, 2, 3]);
      store.put(list);
      await expectName(openBundle(list.cid, store.getBlock), BundleVersionError);
      expect(new BundleVersionError("x")).to.be.instanceOf(Error);
    });

    it("test_openBundle_linkOfTheWrongKind_isBundleLinkError", async () => {
      const { store, root } = await honest();
      const raw = CID.createV1(0x55, (root.leaves[0] as CID).multihash);
      await expectName(openForged(store, { ...root, leaves: [raw, ...root.leaves.slice(1)] }), BundleLinkError);
      await expectName(openForged(store, { ...root, leaves: [root.leaves[0]?.toString(), ...root.leaves.slice(1)] }), BundleLinkError);
      await expectName(openForged(store, { ...root, spec: "bafy" }), BundleLinkError);
      await expectName(openBundle(CID.createV1(0x55, (root.leaves[0] as CID).multihash), store.getBlock), BundleLinkError);
    });

    it("test_openBundle_duplicateLink_isBundleLinkError", async () => {
      const { store, root } = await honest();
      const leavesLinks = [root.leaves[0], root.leaves[0], ...root.leaves.slice(2)];
      await expectName(openForged(store, { ...root, leaves: leavesLinks }), BundleLinkError);
      // A level's hash chunk linked again as another level's: one block cannot be in two places.
      const hashes = root.hashes.map((links, l) => (l === 1 ? [root.hashes[0]?.[0]] : links));
      await expectName(openForged(store, { ...root, hashes }), BundleLinkError);
    });

    it("test_openBundle_rootThatDoesNotAddUp_isMalformedBundleError", async () => {
      const { store, root, result } = await honest();
      await expectName(openForged(store, { ...root, count: result.count + 5_000 }), MalformedBundleError);
      await expectName(openForged(store, { ...root, count: -1 }), MalformedBundleError);
      await expectName(openForged(store, { ...root, extra: 1 }), MalformedBundleError);
      await expectName(openForged(store, { ...root, values: root.values.slice(1) }), MalformedBundleError);
      await expectName(openForged(store, { ...root, chunk: { leaves: 0, hashes: 1, values: 1 } }), MalformedBundleError);
      await expectName(openForged(store, { ...root, aggregate: [1] }), MalformedBundleError);
      await expectName(openForged(store, { ...root, firsts: (root.firsts as string[]).slice(1) }), MalformedBundleError);
    });

    it("test_reader_chunkOfTheWrongKindOrPlace_isBundleChunkError_andOtherChunksStillRead", async () => {
      const { store, root, result } = await honest();
      // Another bundle's chunks, so no link repeats within the forged root.
      const otherLeaves = leaves(3_000, 8, 2).map((leaf) => ({ ...leaf, value: leaf.value.map((x) => x + 1) }));
      const other = await bundleOf(reduceTree(otherLeaves, SUM, 8), SUM, 8);
      const otherRoot = (await import("@mosaic/protocol")).decodeCbor(other.root.bytes) as typeof root;
      store.putBundle(other);
      // A node chunk (hashes, then values) passed where a leaf chunk is expected.
      const asLeaves = await openForged(store, { ...root, leaves: [otherRoot.hashes[0]?.[0], ...root.leaves.slice(1)] });
      await expectName(asLeaves.leaf(0), BundleChunkError);
      const valuesAsLeaves = await openForged(store, { ...root, leaves: [otherRoot.values[1]?.[0], ...root.leaves.slice(1)] });
      await expectName(valuesAsLeaves.leaf(0), BundleChunkError);
      // Two leaf chunks swapped: each holds another position's leaves.
      const swapped = await openForged(store, { ...root, leaves: [root.leaves[1], root.leaves[0], ...root.leaves.slice(2)] });
      await expectName(swapped.leaf(0), BundleChunkError);
      await expectName(swapped.readAll(), BundleChunkError);
      // The bad chunk fails; the rest of the bundle still reads, and again the bad one fails the same way.
      expect(await asLeaves.hash(0, 0)).to.equal(result.levels[0]?.[0]);
      await expectName(asLeaves.leaf(0), BundleChunkError);
      // A root naming another first nullifier for a chunk than the chunk holds.
      const firsts = [...(root.firsts as string[])];
      firsts[1] = "7";
      const misnamed = await openForged(store, { ...root, firsts });
      await expectName(misnamed.leaf(1_500), BundleChunkError);
      // The bundle root itself linked as a chunk.
      const bundleRoot = (await encodeBlock(root)).cid;
      const rootAsChunk = await openForged(store, { ...root, leaves: [bundleRoot, ...root.leaves.slice(1)] });
      await expectName(rootAsChunk.leaf(0), BundleChunkError);
    });

    it("test_reader_chunkLengthDisagreeingWithCount_isBundleChunkError", async () => {
      // A 2,999-leaf tree has the shape of a 3,000-leaf one link for link; the root claims 3,000.
      const { store, root } = await honest();
      const short = await bundleOf(reduceTree(leaves(2_999, 8), SUM, 8), SUM, 8);
      store.put(...short.blocks);
      const shortRoot = (await import("@mosaic/protocol")).decodeCbor(short.root.bytes) as typeof root;
      const reader = await openForged(store, { ...shortRoot, count: 3_000 });
      expect(reader.header.count).to.equal(3_000);
      await expectName(reader.leaf(2_998), BundleChunkError);
      await expectName(reader.hash(0, 0), BundleChunkError);
      await expectName(reader.readAll(), BundleChunkError);
    });

    it("test_reader_oversizedOrForeignBlock_isRefused", async () => {
      const { store, root } = await honest();
      // An oversized root: refused by size before it is decoded.
      const huge = await encodeBlock({ ...root, pad: new Uint8Array(MAX_BUNDLE_BLOCK_BYTES) });
      store.put(huge);
      await expectName(openBundle(huge.cid, store.getBlock), BundleBlockTooLargeError);
      // A getter that ignores maxBytes is caught after it returns.
      const careless: BundleBlockGetter = async (cid) => store.blocks.get(cid.toString()) as Uint8Array;
      await expectName(openBundle(huge.cid, careless), BundleBlockTooLargeError);
      // An oversized chunk.
      const bigChunk = await encodeBlock({ k: "leaves", level: 0, i: 0, items: [], pad: new Uint8Array(MAX_BUNDLE_BLOCK_BYTES) });
      store.put(bigChunk);
      const reader = await openForged(store, { ...root, leaves: [bigChunk.cid, ...root.leaves.slice(1)] });
      await expectName(reader.leaf(0), BundleBlockTooLargeError);
      // Bytes that are not the block their CID names.
      const liar: BundleBlockGetter = async (cid) =>
        cid.equals(root.leaves[0] as CID) ? new Uint8Array([0xa0]) : store.getBlock(cid, { maxBytes: MAX_BUNDLE_BLOCK_BYTES });
      const lied = await openBundle((await encodeBlock(root)).cid, liar);
      await expectName(lied.leaf(0), BundleLinkError);
      // A reader's budget for a whole bundle.
      const honestReader = await openBundle((await encodeBlock(root)).cid, store.getBlock);
      await expectName(honestReader.readAll({ maxBytes: 100_000 }), BundleBlockTooLargeError);
      // A missing chunk: the getter's own error, unchanged.
      const missing = await openForged(store, {
        ...root,
        leaves: [CID.createV1(0x71, await sha256.digest(new Uint8Array([1]))), ...root.leaves.slice(1)],
      });
      await expectName(missing.leaf(0), "BlockUnavailableError");
    });
  });

  describe("leaf inclusion", () => {
    it("test_verifyLeafInclusion_everyLeafOfEveryTree_asTheContractHashesIt", async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 33 }), async (n) => {
          const result = reduceTree(leaves(n), SUM, 2);
          const store = new Store();
          const reader = await openBundle(store.putBundle(await bundleOf(result)), store.getBlock);
          for (const leaf of result.leaves) {
            const proof = await leafInclusion(reader, leaf.nullifier);
            expect(proof).to.not.equal(undefined);
            const p = proof as NonNullable<typeof proof>;
            expect(verifyLeafInclusion(result.treeRoot, p, n)).to.equal(true);
            expect(verifyLeafInclusion(result.treeRoot, p, BigInt(n))).to.equal(true);
            expect(contractRootOf(p.leaf, p.index, n, p.path)).to.equal(result.treeRoot);
          }
        }),
        { numRuns: 33, seed: 5 },
      );
    });

    it("test_leafInclusion_absentNullifier_isUndefined", async () => {
      const result = reduceTree(leaves(3_000, 8), SUM, 8);
      const store = new Store();
      const reader = await openBundle(store.putBundle(await bundleOf(result, SUM, 8)), store.getBlock);
      expect(await leafInclusion(reader, "1")).to.equal(undefined);
      expect(await leafInclusion(reader, (BigInt(result.leaves[5]?.nullifier as string) + 1n).toString())).to.equal(undefined);
      expect(await leafInclusion(reader, (2n ** 255n).toString())).to.equal(undefined);
      await expectName(leafInclusion(reader, "0x12"), "TypeError");
      const empty = await openBundle(store.putBundle(await bundleOf(reduceTree([], SUM, 2))), store.getBlock);
      expect(await leafInclusion(empty, "1")).to.equal(undefined);
    });

    it("test_verifyLeafInclusion_forgedPathsAndForeignLeaves_areFalse", async () => {
      const result = reduceTree(leaves(13), SUM, 2);
      const other = reduceTree(leaves(13, 2, 2), SUM, 2);
      const store = new Store();
      const reader = await openBundle(store.putBundle(await bundleOf(result)), store.getBlock);
      const otherReader = await openBundle(store.putBundle(await bundleOf(other)), store.getBlock);
      const proof = (await leafInclusion(reader, (result.leaves[4] as Leaf).nullifier)) as NonNullable<
        Awaited<ReturnType<typeof leafInclusion>>
      >;
      expect(verifyLeafInclusion(result.treeRoot, proof, 13)).to.equal(true);
      const flip = (hex: string) => `${hex.slice(0, -1)}${hex.endsWith("0") ? "1" : "0"}`;
      const forged = [
        { ...proof, path: proof.path.map((a, k) => (k === 1 ? { ...a, sibling: flip(a.sibling) } : a)) },
        { ...proof, path: proof.path.map((a, k) => (k === 2 ? { ...a, value: a.value.map((x) => x + 1) } : a)) },
        { ...proof, path: proof.path.slice(1) },
        { ...proof, path: [...proof.path, proof.path[0] as (typeof proof.path)[number]] },
        { ...proof, index: 5 },
        { ...proof, index: 13 },
        { ...proof, index: -1 },
        { ...proof, leaf: { ...proof.leaf, value: [proof.leaf.value[0] as number, (proof.leaf.value[1] as number) + 1] } },
        { ...proof, leaf: { ...proof.leaf, nullifier: "not a number" } },
        { ...proof, path: [{ sibling: "0x12", value: [1, 2] }, ...proof.path.slice(1)] },
      ];
      for (const f of forged) expect(verifyLeafInclusion(result.treeRoot, f, 13), JSON.stringify(f)).to.equal(false);
      // A count whose tree carries this leaf where the real one pairs it (the chain's count is the one to use).
      expect(verifyLeafInclusion(result.treeRoot, proof, 5)).to.equal(false);
      expect(verifyLeafInclusion(result.treeRoot, proof, 0)).to.equal(false);
      expect(verifyLeafInclusion(result.treeRoot, null as never, 13)).to.equal(false);
      // A leaf of another job, with its own valid path there, is not in this job's tree, and the other way round.
      const foreign = (await leafInclusion(otherReader, (other.leaves[4] as Leaf).nullifier)) as typeof proof;
      expect(verifyLeafInclusion(other.treeRoot, foreign, 13)).to.equal(true);
      expect(verifyLeafInclusion(result.treeRoot, foreign, 13)).to.equal(false);
      expect(verifyLeafInclusion(other.treeRoot, proof, 13)).to.equal(false);
      // This job's leaf with the other tree's path at the same place.
      expect(verifyLeafInclusion(result.treeRoot, { ...proof, path: foreign.path }, 13)).to.equal(false);
    });
  });
});

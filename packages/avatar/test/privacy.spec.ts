// Unlinkability across jobs, measured on real Semaphore proofs: what two envelopes of one member share, and
// whether an observer holding every envelope of two jobs can pair up the members better than chance.
import { randomBytes, randomInt } from "node:crypto";
import * as dagCbor from "@ipld/dag-cbor";
import { type Block, encodeBlock } from "@mosaic/protocol";
import { expect } from "chai";
import { decodeLocalSubmission, encodeSubmission, type Submission } from "../src/envelope.js";
import { deriveAvatarIdentity } from "../src/identity.js";
import { Group, proveSubmission, verifySubmission } from "../src/proof.js";
import { features, matchThreshold, maxWeightMatching, type Observed, observe, strategiesFor } from "./observer.js";

const registry = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
const jobA = { chainId: 31337n, registry, jobId: 101n };
const jobB = { chainId: 31337n, registry, jobId: 102n };
// Every member sends the same payload to a job, so the payload carries no member signal here: linkage through
// payload values is what the local-DP noise of the map step bounds, separately from this test.
const payloadA = [3, 1, 4, 1, 5, 9, 2];
const payloadB = [2, 7, 1, 8, 2, 8, 1];
const MEMBERS = 64;
const FALSE_ALARM = 1e-4;

/** The fields two envelopes of one member for two jobs may share: the group, the proof system, the deployment. */
const MAY_SHARE = ["depth", "job.chain", "job.registry", "root", "v"];

// The strategy count (and so the threshold) follows from the envelope's shape alone: count it on a dummy one.
const dummy: Submission = {
  version: 1,
  job: jobA,
  payload: payloadA,
  proof: {
    merkleTreeDepth: 20,
    merkleTreeRoot: "1",
    nullifier: "2",
    message: "3",
    scope: "4",
    points: ["5", "6", "7", "8", "9", "10", "11", "12"],
  },
};
const STRATEGIES = strategiesFor(features(await encodeSubmission(dummy))).length;
const THRESHOLD = matchThreshold(MEMBERS, STRATEGIES, FALSE_ALARM);

describe("privacy: one member's submissions to two jobs are unlinkable (real Semaphore proofs)", () => {
  const seeds = Array.from({ length: MEMBERS }, () => randomBytes(32));
  const identities = seeds.map((s) => deriveAvatarIdentity(s));
  const group = new Group(identities.map((i) => i.commitment));
  const subsA: Submission[] = [];
  const subsB: Submission[] = [];
  const blocksA: Block[] = [];
  const blocksB: Block[] = [];

  before(async function () {
    this.timeout(900_000);
    // Sequential on purpose: snarkjs already proves on a pool of os.cpus() threads (about 1.8 s of CPU in
    // 1 s of wall time per proof on 2 cores), so a second prover gains nothing here; and snarkjs' pool
    // (web-worker) cannot start inside a worker_thread at all.
    for (const identity of identities) {
      subsA.push(await proveSubmission(identity, group, jobA, payloadA));
      subsB.push(await proveSubmission(identity, group, jobB, payloadB));
    }
    for (const s of subsA) blocksA.push(await encodeSubmission(s));
    for (const s of subsB) blocksB.push(await encodeSubmission(s));
  });

  it("every one of the 128 envelopes decodes and verifies, with 128 distinct nullifiers", async () => {
    for (const [job, blocks, payload] of [
      [jobA, blocksA, payloadA],
      [jobB, blocksB, payloadB],
    ] as const) {
      const seen = new Set<string>();
      for (const b of blocks) {
        const sub = decodeLocalSubmission(b.bytes);
        await verifySubmission(sub, {
          job,
          groupRoot: group.root,
          bounds: { length: 7, min: Array(7).fill(0), max: Array(7).fill(9) },
          seenNullifiers: seen,
        });
        expect(sub.payload).to.deep.equal(payload);
        seen.add(sub.proof.nullifier);
      }
    }
    expect(new Set([...subsA, ...subsB].map((s) => s.proof.nullifier)).size).to.equal(2 * MEMBERS);
  });

  it(`same member, two jobs: only ${MAY_SHARE.join(", ")} are shared; every other field and every 32-byte word differs`, () => {
    const [a, b] = [blocksA[0] as Block, blocksB[0] as Block];
    expect(subsA[0]?.proof.nullifier).to.not.equal(subsB[0]?.proof.nullifier);
    const fa = features(a);
    const fb = features(b);
    // Field by field: the same path with the same value.
    const leaves = (f: typeof fa) =>
      new Map<string, string>([
        ...[...f.words].map(([k, w]) => [k, Buffer.from(w.bytes).toString("hex")] as [string, string]),
        ...[...f.numbers].filter(([k]) => k !== "length").map(([k, n]) => [k, String(n)] as [string, string]),
        ...[...f.strings].map(([k, s]) => [k, `"${s}"`] as [string, string]),
      ]);
    const la = leaves(fa);
    const lb = leaves(fb);
    expect([...la.keys()].sort()).to.deep.equal([...lb.keys()].sort());
    const shared = [...la.keys()].filter((k) => la.get(k) === lb.get(k)).sort();
    expect(shared).to.deep.equal(MAY_SHARE);
    // Word by word, across fields: no 32-byte word of one envelope appears anywhere in the other but the root,
    // nor does any 8-byte run of one (CID digest included).
    const words = (f: typeof fa) => [...f.words].filter(([k]) => k !== "root").map(([, w]) => Buffer.from(w.bytes).toString("hex"));
    const wa = words(fa);
    const wb = words(fb);
    expect(wa).to.have.length(12);
    expect(wa.filter((w) => wb.includes(w))).to.deep.equal([]);
    const runs = (ws: string[]) => new Set(ws.flatMap((w) => Array.from({ length: 25 }, (_, i) => w.slice(2 * i, 2 * i + 16))));
    const rb = runs(wb);
    expect([...runs(wa)].filter((r) => rb.has(r))).to.deep.equal([]);
    expect(a.cid.equals(b.cid)).to.equal(false);
  });

  it("the observer's matcher finds the maximum-weight matching (checked by brute force)", () => {
    const perms = (n: number): number[][] =>
      n === 0 ? [[]] : perms(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + (trial % 6);
      const w = Array.from({ length: n }, () => Array.from({ length: n }, () => randomInt(-50, 50)));
      const total = (m: number[]) => m.reduce((s, j, i) => s + (w[i]?.[j] as number), 0);
      const best = Math.max(...perms(n).map(total));
      const m = maxWeightMatching(w);
      expect(new Set(m).size).to.equal(n);
      expect(total(m)).to.equal(best);
    }
  });

  describe(`linkage: ${MEMBERS} members answer jobs A and B; an observer with every envelope of both`, () => {
    /** Shuffles both sets, lets the observer match them, and returns the most correct pairs any strategy found. */
    const attack = (envA: Observed[], envB: Observed[]) => {
      const permA = shuffled(MEMBERS);
      const permB = shuffled(MEMBERS);
      const setA = permA.map((m) => envA[m] as Observed);
      const setB = permB.map((m) => envB[m] as Observed);
      const results = observe(setA, setB).map(({ name, matching }) => ({
        name,
        correct: matching.filter((b, a) => permB[b] === permA[a]).length,
      }));
      results.sort((x, y) => y.correct - x.correct);
      return { strategies: results.length, best: results[0] as { name: string; correct: number } };
    };

    it(`pairs up no more members than chance: max over ${STRATEGIES} strategies of correct matches < ${THRESHOLD} (P ≤ ${FALSE_ALARM} under no linkage, Bonferroni)`, () => {
      // Under no linkage each strategy's correct count is the fixed-point count of a uniformly random
      // permutation (mean 1, variance 1, P(X >= k) ≈ 1 - Σ_{j<k} e^-1/j!); THRESHOLD is the least k with
      // strategies × P(X >= k) < FALSE_ALARM.
      const { strategies, best } = attack(blocksA, blocksB);
      expect(strategies).to.equal(STRATEGIES);
      console.log(`      observer: best strategy ${best.name} paired ${best.correct} of ${MEMBERS} (threshold ${THRESHOLD})`);
      expect(best.correct, `${best.name} paired ${best.correct} of ${MEMBERS} members`).to.be.below(THRESHOLD);
    });

    it("positive control: the same observer links a leaky envelope that reuses a nullifier across jobs", async () => {
      const leakyB = await Promise.all(
        blocksB.map((b, m) => reencode(b, (e) => (e.nullifier = (dagCbor.decode((blocksA[m] as Block).bytes) as any).nullifier))),
      );
      const { best } = attack(blocksA, leakyB);
      console.log(`      observer: best strategy ${best.name} paired ${best.correct} of ${MEMBERS}`);
      expect(best.correct, best.name).to.equal(MEMBERS);
    });

    it("positive control: the same observer links a per-member tag even when 96 of its 256 bits differ between jobs", async () => {
      const tags = Array.from({ length: MEMBERS }, () => randomBytes(32));
      const leakyA = await Promise.all(blocksA.map((b, m) => reencode(b, (e) => (e.tag = tags[m]))));
      const leakyB = await Promise.all(blocksB.map((b, m) => reencode(b, (e) => (e.tag = flipBits(tags[m] as Uint8Array, 96)))));
      const { strategies, best } = attack(leakyA, leakyB);
      const threshold = matchThreshold(MEMBERS, strategies, FALSE_ALARM);
      console.log(
        `      observer: best strategy ${best.name} paired ${best.correct} of ${MEMBERS} (${strategies} strategies, threshold ${threshold})`,
      );
      expect(best.correct, best.name).to.be.at.least(Math.max(threshold, MEMBERS / 2));
    });
  });
});

/** A uniformly random permutation of 0..n-1 (Fisher–Yates over a CSPRNG). */
function shuffled(n: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [p[i], p[j]] = [p[j] as number, p[i] as number];
  }
  return p;
}

/** The envelope decoded, changed by `change`, and encoded again (a deliberately leaky variant). */
async function reencode(block: Block, change: (e: Record<string, any>) => void): Promise<Block> {
  const e = dagCbor.decode(block.bytes) as Record<string, any>;
  change(e);
  return encodeBlock(e);
}

/** `bytes` with exactly `count` distinct bits flipped, chosen at random. */
function flipBits(bytes: Uint8Array, count: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  const bits = shuffled(bytes.length * 8).slice(0, count);
  for (const bit of bits) out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
  return out;
}

// The watcher's walk over a withheld tree (finding 2 of the adversarial review): against a liar whose sorted leaves
// are the honest ones minus some, plus invented ones, asking nextWalkLeaves' positions round after round reaches an
// invented leaf within the registry's 64 requests per proposal and a handful of rounds.
import { expect } from "chai";
import fc from "fast-check";
import { MAX_REQUESTS_PER_REQUESTER, nextWalkLeaves, WALK_BATCH } from "../src/watcher.js";

/** Whether `sorted` (ascending, distinct) holds `x`: a binary search, as a Set of 100,000 bigints costs more to build. */
function holds(sorted: readonly bigint[], x: bigint): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as bigint) < x) lo = mid + 1;
    else hi = mid;
  }
  return sorted[lo] === x;
}

/** `a` and `b` (each ascending, distinct, no value in both) as one ascending array. */
function merged(a: readonly bigint[], b: readonly bigint[]): bigint[] {
  const out: bigint[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && (a[i] as bigint) < (b[j] as bigint))) out.push(a[i++] as bigint);
    else out.push(b[j++] as bigint);
  }
  return out;
}

/** Walks `liar` (sorted nullifiers) knowing `known`; returns the rounds and requests it took to publish a leaf not known. */
function walkUntilFound(liar: bigint[], known: bigint[]): { rounds: number; requests: number; found: boolean } {
  const published = new Map<number, bigint>();
  let requests = 0;
  for (let rounds = 1; requests < MAX_REQUESTS_PER_REQUESTER; rounds++) {
    const sorted = [...published].sort((a, b) => a[0] - b[0]).map(([position, nullifier]) => ({ position, nullifier }));
    const room = Math.min(WALK_BATCH, MAX_REQUESTS_PER_REQUESTER - requests);
    const { positions } = nextWalkLeaves(liar.length, known, sorted, room);
    if (positions.length === 0) return { rounds, requests, found: false };
    for (const position of positions) {
      expect(position).to.be.within(0, liar.length - 1);
      published.set(position, liar[position] as bigint);
    }
    requests += positions.length;
    // The watcher judges every published leaf: one it does not know is an invented one here.
    if (positions.some((position) => !holds(known, liar[position] as bigint))) return { rounds, requests, found: true };
  }
  return { rounds: Infinity, requests, found: false };
}

describe("nextWalkLeaves: the watcher's search for an invented leaf", () => {
  it("test_walk_findsAnInventedLeaf_within64Requests_forTreesUpTo100000Leaves", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        (honest, invented, dropped, seed) => {
          let x = seed;
          const step = () => {
            x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
            return x;
          };
          const nullifierOf = (state: number) => BigInt(state) * 65_536n + BigInt(state & 0xffff);
          const next = () => nullifierOf(step());
          // The honest leaves, sorted and distinct. A nullifier rises with the 32-bit state it is made from, so the
          // states are sorted as numbers (a typed array's native sort) rather than 100,000 bigints through a comparator.
          const states = Float64Array.from({ length: honest }, step).sort();
          const known = [...states].filter((state, i) => i === 0 || state !== states[i - 1]).map(nullifierOf);
          // The liar drops a few honest leaves and invents more than it dropped: it counts more than the watcher knows.
          const kept = known.filter((_, i) => i % Math.max(1, Math.floor(known.length / (dropped + 1))) !== 1 || dropped === 0);
          const fake = Array.from({ length: invented + (known.length - kept.length) }, () => next() * 3n + 1n).filter(
            (n) => !holds(known, n),
          );
          // Sorted and distinct, as a proposal's leaves are: kept is already, and no invented leaf is an honest one.
          const liar = merged(
            kept,
            [...new Set(fake)].sort((a, b) => (a < b ? -1 : 1)),
          );
          if (liar.length <= known.length) return;
          const walked = walkUntilFound(liar, known);
          expect(walked.found, `honest ${known.length}, liar ${liar.length}`).to.equal(true);
          expect(walked.requests).to.be.at.most(MAX_REQUESTS_PER_REQUESTER);
          expect(walked.rounds).to.be.at.most(6);
        },
      ),
      { seed: 20_261_204, numRuns: 200 },
    );
  });

  it("test_walk_firstRoundStartsAtLeafZero_andNeverAsksTwice", () => {
    const first = nextWalkLeaves(40, [1n, 2n, 3n], [], 16);
    expect(first.positions[0]).to.equal(0);
    expect(new Set(first.positions).size).to.equal(first.positions.length);
    const again = nextWalkLeaves(
      40,
      [1n, 2n, 3n],
      first.positions.map((position) => ({ position, nullifier: BigInt(position) })),
      16,
    );
    for (const position of again.positions) expect(first.positions).to.not.include(position);
    expect(nextWalkLeaves(5, [1n], [], 0).positions).to.deep.equal([]);
  });
});

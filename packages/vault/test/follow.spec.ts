// Following the registry across a chain reset: a re-run devnet keeps its chain id and contract addresses, so the block
// the vault stopped at must be checked to still be this chain's (number and hash) before following resumes there.
import { randomBytes } from "node:crypto";
import type { JobRegistry } from "@mosaic/protocol";
import { expect } from "chai";
import { memoryStores } from "../../../test/helpers.js";
import { followedTo, followJobs, type JobBoardComponents, Vault } from "../src/index.js";

describe("vault: followJobs across a chain reset", function () {
  this.timeout(30_000);
  const registryAddress = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
  const key = `31337:${registryAddress}`;

  /** A chain the test plays: `head`, each block's hash from `run` (another run, other hashes); records the log reads. */
  function chain(run: string, head: number) {
    const reads: [number, number][] = [];
    const provider = {
      getBlockNumber: async () => head,
      getBlock: async (n: number) => (n <= head ? { hash: `0x${run}${n.toString(16).padStart(8, "0")}` } : null),
    };
    const registry = {
      getAddress: async () => registryAddress,
      runner: { provider },
      filters: { JobPosted: () => ({}) },
      queryFilter: async (_f: unknown, from: number, to: number) => {
        reads.push([from, to]);
        return [];
      },
    } as unknown as JobRegistry;
    const components = { registry, chainId: 31337n, now: async () => 0 } as unknown as JobBoardComponents;
    return { components, reads };
  }

  async function followOnce(vault: Vault, components: JobBoardComponents, errors: Error[]): Promise<void> {
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 300);
    await followJobs(components, vault, {
      fromBlock: 0,
      pollMs: 1000,
      signal: stop.signal,
      onJob: () => undefined,
      onError: (e) => errors.push(e),
    });
  }

  it("starts again from the deploy block when the block it stopped at is past the new chain's head", async () => {
    const vault = await Vault.open(memoryStores(), { rootSeed: randomBytes(32), clock: () => 0 });
    const errors: Error[] = [];
    await followOnce(vault, chain("aa", 100).components, errors);
    expect(followedTo(vault, key)).to.equal(100);
    const reset = chain("bb", 20);
    await followOnce(vault, reset.components, errors);
    expect(errors.map((e) => e.name)).to.deep.equal(["ChainResetError"]);
    expect(reset.reads).to.deep.equal([[0, 20]]);
    expect(followedTo(vault, key)).to.equal(20);
  });

  it("starts again when the block it stopped at has another hash, though the new chain is already past it", async () => {
    const vault = await Vault.open(memoryStores(), { rootSeed: randomBytes(32), clock: () => 0 });
    const errors: Error[] = [];
    await followOnce(vault, chain("aa", 100).components, errors);
    const same = chain("aa", 130);
    await followOnce(vault, same.components, errors);
    expect(errors).to.deep.equal([]);
    expect(same.reads).to.deep.equal([[101, 130]]);
    const reset = chain("bb", 150);
    await followOnce(vault, reset.components, errors);
    expect(errors.map((e) => e.name)).to.deep.equal(["ChainResetError"]);
    expect(reset.reads).to.deep.equal([[0, 150]]);
    expect(followedTo(vault, key)).to.equal(150);
  });
});

// JobRegistry's and ReducerDirectory's gas, held to the committed snapshot test/contracts/gas-snapshot.json: a figure may not grow more
// than 5% unnoticed, the lifecycle may not depend on the leaf count and stays under 500k, and every fraud proof (and
// the settlement of an unanswered data request, which faults too) stays under its target.
// UPDATE_GAS_SNAPSHOT=1 rewrites the snapshot with the figures measured (review the diff before committing it).
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { deployMosaic } from "@mosaic/protocol";
import { expect } from "chai";
import { type ContractTransactionResponse, parseEther, type Signer } from "ethers";
import { network } from "hardhat";
import {
  DATA_FIGURES,
  FRAUD_FIGURES,
  FRAUD_TARGET,
  LIFECYCLE_SIZES,
  lifecycleSpread,
  measureGas,
  TARGETED_FIGURES,
} from "../../bench/lib/gas.js";

const SNAPSHOT = fileURLToPath(new URL("./gas-snapshot.json", import.meta.url));
const SNAPSHOT_NAME = "test/contracts/gas-snapshot.json";
/** How much a figure may grow over the snapshot before the test fails. */
const TOLERANCE = 0.05;
/** How far apart the lifecycle figures at 10, 1,000 and 100,000 leaves may be: calldata bytes, not work. */
const MAX_SPREAD = 1_000;
/** Issue 15: a job's whole honest lifecycle (post, commit, reveal, finalise, withdraw) under 500k gas. */
const LIFECYCLE_TARGET = 500_000;

/** ReducerDirectory's figures: what each call costs an operator (or a pruner). */
const DIRECTORY_FIGURES = [
  "gas.directory_announce",
  "gas.directory_announce_update",
  "gas.directory_announce_max",
  "gas.directory_withdraw",
  "gas.directory_prune",
] as const;

/**
 * ReducerDirectory's gas on a fresh in-process chain: a first announce with two typical multiaddrs, replacing it with
 * two others, the largest record the contract takes (8 multiaddrs of 256 bytes) replacing a small one, a withdraw and
 * a prune (each of a two-multiaddr record, with another operator moved into its position).
 */
async function measureDirectoryGas(): Promise<Record<string, number>> {
  const connection = await network.connect();
  try {
    const [deployer, a, b, c] = (await connection.ethers.getSigners()) as unknown as [Signer, Signer, Signer, Signer];
    const mosaic = await deployMosaic(deployer, { unbondingDelay: 86_400n, proposalBond: parseEther("0.01") });
    const directory = mosaic.reducerDirectory;
    for (const op of [a, b, c]) await (await mosaic.jobRegistry.connect(op).stake({ value: parseEther("1") })).wait();
    const gasOf = async (sent: Promise<ContractTransactionResponse>) => Number((await (await sent).wait())?.gasUsed);
    const peerId = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
    const addrs = (host: string) => [`/ip4/${host}/tcp/4001/p2p/${peerId}`, `/ip4/${host}/tcp/4002/ws/p2p/${peerId}`];
    const figures: Record<string, number> = {};
    figures["gas.directory_announce"] = await gasOf(directory.connect(a).announce(peerId, addrs("203.0.113.7")));
    figures["gas.directory_announce_update"] = await gasOf(directory.connect(a).announce(peerId, addrs("203.0.113.8")));
    await (await directory.connect(b).announce(peerId, addrs("198.51.100.2"))).wait();
    await (await directory.connect(c).announce(peerId, ["/ip4/192.0.2.1/tcp/1"])).wait();
    const largest = Array.from({ length: 8 }, (_, i) => `/dns4/${String(i).repeat(244)}/tcp/1`);
    figures["gas.directory_announce_max"] = await gasOf(directory.connect(c).announce("Q".repeat(128), largest));
    figures["gas.directory_withdraw"] = await gasOf(directory.connect(a).withdraw());
    await (await mosaic.jobRegistry.connect(b).requestUnstake(parseEther("1"))).wait();
    figures["gas.directory_prune"] = await gasOf(directory.connect(deployer).prune(await b.getAddress()));
    return figures;
  } finally {
    await connection.close();
  }
}

describe("JobRegistry and ReducerDirectory gas", () => {
  let measured: Record<string, number>;
  let snapshot: Record<string, number>;
  before(async function () {
    this.timeout(300_000);
    measured = { ...(await measureGas()), ...(await measureDirectoryGas()) };
    if (process.env.UPDATE_GAS_SNAPSHOT === "1") writeFileSync(SNAPSHOT, `${JSON.stringify(measured, null, 2)}\n`);
    snapshot = JSON.parse(readFileSync(SNAPSHOT, "utf8")) as Record<string, number>;
    console.log(`      measured: ${JSON.stringify(measured)}`);
  });

  it("test_gas_everyFigureInSnapshot_noneGrewOver5Percent", () => {
    const problems: string[] = [];
    for (const name of [...Object.keys(FRAUD_FIGURES), ...Object.keys(DATA_FIGURES), ...DIRECTORY_FIGURES])
      if (measured[name] === undefined) problems.push(`${name}: not measured`);
    // A renamed or dropped figure must not linger in the snapshot.
    for (const name of Object.keys(snapshot))
      if (measured[name] === undefined) problems.push(`${name}: in ${SNAPSHOT_NAME} but no longer measured; remove it`);
    for (const [name, now] of Object.entries(measured)) {
      const old = snapshot[name];
      if (old === undefined) {
        problems.push(`${name}: missing from ${SNAPSHOT_NAME} (measured ${now}); add it`);
        continue;
      }
      if (now > old * (1 + TOLERANCE))
        problems.push(
          `${name}: grew from ${old} to ${now} gas (+${(((now - old) / old) * 100).toFixed(1)}%); update ${SNAPSHOT_NAME} if the growth is intended (UPDATE_GAS_SNAPSHOT=1 rewrites it)`,
        );
      else if (now < old * (1 - TOLERANCE)) console.log(`      ${name} fell from ${old} to ${now} gas: consider updating ${SNAPSHOT_NAME}`);
    }
    expect(problems, problems.join("\n")).to.deep.equal([]);
  });

  it("test_gas_lifecycle_independentOfLeafCount", () => {
    for (const n of LIFECYCLE_SIZES) expect(measured[`gas.lifecycle_n${n}`], `gas.lifecycle_n${n}`).to.be.a("number");
    expect(lifecycleSpread(measured), "spread of the lifecycle figures").to.be.at.most(MAX_SPREAD);
  });

  it("test_gas_lifecycle_under500k", () => {
    for (const n of LIFECYCLE_SIZES) expect(measured[`gas.lifecycle_n${n}`], `gas.lifecycle_n${n}`).to.be.at.most(LIFECYCLE_TARGET);
  });

  it("test_gas_finalizeWorst_farBelowTheBlockCap", () => {
    // The most proposals and data requests the rules allow: finalisation stays a small part of a 16.7M-gas transaction.
    expect(measured["gas.finalize_worst"], "gas.finalize_worst").to.be.a("number").and.at.most(1_000_000);
  });

  it("test_gas_fraudProofs_under600k", () => {
    for (const name of TARGETED_FIGURES) {
      expect(measured[name], name).to.be.a("number");
      expect(measured[name], name).to.be.at.most(FRAUD_TARGET);
    }
  });

  it("test_gas_directory_boundedAndCheap", () => {
    for (const name of DIRECTORY_FIGURES) expect(measured[name], name).to.be.a("number").and.greaterThan(0);
    // The largest record (about 2.2 KB in 80 storage slots) is bounded by the contract's limits: under 7% of a
    // 30M-gas block, paid once by the operator that chose to write it.
    expect(measured["gas.directory_announce_max"], "gas.directory_announce_max").to.be.at.most(2_000_000);
    // Removing a record refunds storage: cheaper than writing it.
    for (const name of ["gas.directory_withdraw", "gas.directory_prune"] as const)
      expect(measured[name], name).to.be.below(measured["gas.directory_announce"] as number);
  });
});

// JobRegistry's gas, held to the committed snapshot test/contracts/gas-snapshot.json: a figure may not grow more
// than 5% unnoticed, the lifecycle may not depend on the leaf count and stays under 500k, and every fraud proof (and
// the settlement of an unanswered data request, which faults too) stays under its target.
// UPDATE_GAS_SNAPSHOT=1 rewrites the snapshot with the figures measured (review the diff before committing it).
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
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

describe("JobRegistry gas", () => {
  let measured: Record<string, number>;
  let snapshot: Record<string, number>;
  before(async function () {
    this.timeout(300_000);
    measured = await measureGas();
    if (process.env.UPDATE_GAS_SNAPSHOT === "1") writeFileSync(SNAPSHOT, `${JSON.stringify(measured, null, 2)}\n`);
    snapshot = JSON.parse(readFileSync(SNAPSHOT, "utf8")) as Record<string, number>;
    console.log(`      measured: ${JSON.stringify(measured)}`);
  });

  it("test_gas_everyFigureInSnapshot_noneGrewOver5Percent", () => {
    const problems: string[] = [];
    for (const name of [...Object.keys(FRAUD_FIGURES), ...Object.keys(DATA_FIGURES)])
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
});

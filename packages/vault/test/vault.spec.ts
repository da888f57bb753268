// The vault over its thread: encrypted at rest, consent before egress, an audit of every byte, and the privacy budget.
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { kmPerDayJob, MapProgramTimeoutError, MapOutputShapeError, symptomsByRegionJob } from "@mosaic/mapreduce";
import { ConsentRequiredError } from "@mosaic/protocol";
import { expect } from "chai";
import { captureState, expectRejects, memoryStores } from "../../../test/helpers.js";
import {
  AlreadySubmittedError,
  ConsentWithdrawnError,
  DEFAULT_BUDGET,
  EgressMismatchError,
  jobKey,
  openVault,
  PrivacyBudgetExceededError,
  Vault,
} from "../src/node.js";

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(path.join(e.parentPath, e.name));
  return out;
}

describe("vault: threads at rest, consent, egress and budget", () => {
  let dir: string;
  const seed = randomBytes(32);
  const windowEnd = 1_700_006_400;
  const spec = kmPerDayJob({ collectionDeadline: windowEnd, epsilon: { num: 8, den: 1 } });
  const job = (jobId: bigint) => ({ chainId: 31337n, registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3", jobId });
  const marker = 12.3456789;
  let now = Date.UTC(2026, 10, 1);
  const clock = () => now;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "mosaic-vault-"));
    now = Date.UTC(2026, 10, 1);
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  async function withTrip(vault: Vault): Promise<void> {
    await vault.addLocations([
      { t: windowEnd - 3600, lat: 0, lon: 0 },
      { t: windowEnd - 1800, lat: 0, lon: 0.1 },
    ]);
  }

  it("keeps nothing in plaintext on disk and reads everything back after reopening", async () => {
    const vault = await openVault(dir, { rootSeed: seed });
    await vault.addLocations([{ t: 1_700_000_000, lat: marker, lon: -9.1 }]);
    await vault.close();
    const reopened = await openVault(dir, { rootSeed: seed });
    expect(reopened.locations()).to.deep.equal([{ t: 1_700_000_000, lat: marker, lon: -9.1 }]);
    await reopened.close();
    // "lat" as a dag-cbor map key (0x63 then the three letters): the bare three letters turn up by chance in a few
    // hundred kilobytes of ciphertext (a fresh-clone run found 6c6174 in a LevelDB table), the key's four bytes 256 times less often.
    const needles = [Buffer.from(String(marker)), Buffer.from("location-history"), Buffer.from([0x63, ...Buffer.from("lat")])];
    const le = Buffer.alloc(8);
    le.writeDoubleBE(marker);
    needles.push(le);
    for (const f of await filesUnder(dir)) {
      const bytes = await readFile(f);
      for (const n of needles) expect(bytes.includes(n), `${f} contains ${n.toString("hex")}`).to.equal(false);
    }
  });

  it("opened with another seed, the same database shows nothing of this vault, and the vault is intact", async () => {
    const vault = await openVault(dir, { rootSeed: seed });
    await withTrip(vault);
    await vault.close();
    const stranger = await openVault(dir, { rootSeed: randomBytes(32) });
    expect(stranger.locations()).to.deep.equal([]);
    await stranger.close();
    const again = await openVault(dir, { rootSeed: seed });
    expect(again.locations()).to.have.length(2);
    await again.close();
  });

  it("rejects an impossible fix by name and stores none of the batch", async () => {
    const stores = memoryStores();
    const vault = await Vault.open(stores, { rootSeed: seed });
    const before = await captureState(stores);
    for (const bad of [
      { t: 2, lat: 91, lon: 0 },
      { t: 2, lat: 0, lon: Number.NaN },
      { t: 1.5, lat: 0, lon: 0 },
    ]) {
      await expectRejects(vault.addLocations([{ t: 1, lat: 1, lon: 1 }, bad]), Error, /points\[1\]\.(lat|lon|t)/);
    }
    expect(await captureState(stores)).to.deep.equal(before);
    expect(vault.locations()).to.deep.equal([]);
  });

  it("lets nothing out without consent, nor after withdrawal; the audit log matches every byte sent, once", async () => {
    const stores = memoryStores();
    const vault = await Vault.open(stores, { rootSeed: seed, clock });
    await withTrip(vault);
    const request = await vault.review(spec, job(1n));
    // Six days under 1 km, one day (11 km) in the 10-25 km band.
    expect(request.preview.raw).to.deep.equal([6, 0, 0, 1, 0, 0]);
    expect(request.preview.payload).to.have.length(6);
    expect(request.programText.join(" ")).to.match(/distance/i);
    expect(request.notes["location-history"]).to.deep.equal({ daysWithData: 1 });
    expect(request.budget).to.include({ remaining: "16", after: "8", fits: true });
    const bytes = new Uint8Array([1, 2, 3]);
    const payload = request.preview.payload;

    let before = await captureState(stores);
    await expectRejects(vault.egress(request.jobKey, bytes, payload), ConsentRequiredError, /consent first/);
    expect(await captureState(stores)).to.deep.equal(before);

    await vault.consent(spec, request);
    expect(vault.consentedPayload(request.jobKey)).to.deep.equal(payload);
    await vault.withdraw(request.jobKey);
    expect(vault.budget().remaining).to.equal("16");
    before = await captureState(stores);
    await expectRejects(vault.egress(request.jobKey, bytes, payload), ConsentWithdrawnError, /withdrawn/);
    expect(await captureState(stores)).to.deep.equal(before);

    await vault.consent(spec, request);
    before = await captureState(stores);
    await expectRejects(vault.egress(request.jobKey, bytes, [...payload.slice(1), 0]), EgressMismatchError, /nothing was sent/);
    expect(await captureState(stores)).to.deep.equal(before);

    expect(await vault.egress(request.jobKey, bytes, payload)).to.equal(bytes);
    before = await captureState(stores);
    await expectRejects(vault.egress(request.jobKey, bytes, payload), AlreadySubmittedError, /leaves once/);
    await expectRejects(vault.withdraw(request.jobKey), AlreadySubmittedError, /cannot be recalled/);
    await expectRejects(vault.consent(spec, request), AlreadySubmittedError);
    expect(await captureState(stores)).to.deep.equal(before);

    const audit = vault.audit();
    expect(audit).to.have.length(1);
    expect(audit[0]).to.include({
      jobKey: request.jobKey,
      bytes: "010203",
      purpose: spec.purpose,
      programHash: request.programHash,
      time: now,
    });
    expect(audit[0]?.fieldsRead).to.deep.equal(["location-history/points.t", "location-history/points.lat", "location-history/points.lon"]);
    expect(vault.consents()[0]).to.include({ jobKey: request.jobKey, submitted: now });
    expect(vault.ledger().map((e) => e.state)).to.deep.equal(["spent"]);
  });

  it("refuses a job that reads an ability or a field the vault does not hold, before running anything", async () => {
    const vault = await Vault.open(memoryStores(), { rootSeed: seed });
    const unknownAbility = { ...spec, reads: [{ ability: "bank-statements", collection: "payments", fields: ["amount"] }] };
    await expectRejects(vault.review(unknownAbility, job(2n)), Error, /bank-statements.*will not run it/);
    const unknownField = { ...spec, reads: [{ ability: "location-history", collection: "points", fields: ["t", "contacts"] }] };
    await expectRejects(vault.review(unknownField, job(2n)), Error, /location-history\/points\.contacts/);
    const unknownCollection = { ...spec, reads: [{ ability: "location-history", collection: "diary", fields: ["t"] }] };
    await expectRejects(vault.review(unknownCollection, job(2n)), Error, /location-history\/diary/);
    expect(vault.consents()).to.deep.equal([]);
  });

  it("stops a map program that loops or returns the wrong shape, and records nothing", async () => {
    const stores = memoryStores();
    const vault = await Vault.open(stores, { rootSeed: seed, clock });
    const sandboxed = symptomsByRegionJob({ collectionDeadline: windowEnd });
    const before = await captureState(stores);
    const looping = {
      ...sandboxed,
      program: { ...sandboxed.program, source: "function map(input) { for (;;) {} }", limits: { timeMs: 200, memoryBytes: 8 << 20 } },
    };
    await expectRejects(vault.review(looping as typeof sandboxed, job(4n)), MapProgramTimeoutError, /200 ms/);
    const wrong = { ...sandboxed, program: { ...sandboxed.program, source: "function map(input) { return [1, 2, 3]; }" } };
    await expectRejects(vault.review(wrong as typeof sandboxed, job(4n)), MapOutputShapeError, /expected 9 items, got 3/);
    const twoHot = {
      ...sandboxed,
      program: { ...sandboxed.program, source: "function map(input) { return [1, 1, 0, 0, 0, 0, 0, 0, 0]; }" },
    };
    await expectRejects(vault.review(twoHot as typeof sandboxed, job(4n)), MapOutputShapeError);
    expect(await captureState(stores)).to.deep.equal(before);
    // The real program runs: no check-ins, so the last category ("other / no check-in").
    const request = await vault.review(sandboxed, job(4n));
    expect(request.preview.raw).to.deep.equal([0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(request.programText.join("\n")).to.contain("function map(input)");
  });

  it("spends epsilon from the budget, refuses a job past it with the reason, resets each period, and survives a restart", async () => {
    let vault = await openVault(dir, { rootSeed: seed, clock });
    expect(vault.budgetSettings()).to.deep.equal(DEFAULT_BUDGET);
    await withTrip(vault);
    const third = kmPerDayJob({ collectionDeadline: windowEnd, epsilon: { num: 1, den: 3 } });
    await vault.consent(spec, await vault.review(spec, job(1n)));
    await vault.consent(third, await vault.review(third, job(2n)));
    expect(vault.budget()).to.include({ used: "25/3", remaining: "23/3" });
    const tooMuch = await vault.review(spec, job(3n));
    expect(tooMuch.budget.fits).to.equal(false);
    const err = await expectRejects(vault.consent(spec, tooMuch), PrivacyBudgetExceededError, /needs epsilon 8 but only 23\/3 remains/);
    expect((err as PrivacyBudgetExceededError).resetsAt).to.equal(vault.budget().period.end);
    expect(vault.consents()).to.have.length(2);

    // Withdrawing one releases its share; re-consenting the same job does not count it twice.
    await vault.withdraw(`${jobKey(job(2n))}`);
    await vault.consent(third, await vault.review(third, job(2n)));
    expect(vault.budget().used).to.equal("25/3");
    await vault.close();

    vault = await openVault(dir, { rootSeed: seed, clock });
    expect(vault.budget().used).to.equal("25/3");
    await expectRejects(vault.consent(spec, await vault.review(spec, job(3n))), PrivacyBudgetExceededError);
    now = vault.budget().period.end;
    expect(vault.budget()).to.include({ used: "0", remaining: "16" });
    await vault.consent(spec, await vault.review(spec, job(3n)));
    await expectRejects(vault.setBudget({ periodDays: 0 }), RangeError, /periodDays/);
    await expectRejects(vault.setBudget({ epsilon: { num: 1, den: 0 } }), RangeError, /epsilon/);
    await vault.setBudget({ epsilon: { num: 4, den: 1 }, periodDays: 7 });
    await vault.close();
    vault = await openVault(dir, { rootSeed: seed, clock });
    expect(vault.budgetSettings()).to.include({ periodDays: 7 });
    expect(vault.budget().remaining).to.equal("0");
    await vault.close();
  });
});

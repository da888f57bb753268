// Deleting what an ability holds: every document of its own collections goes, nothing of the others', and a name
// that is no ability is refused with the vault unchanged.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "chai";
import { captureState, expectRejects, memoryStores } from "../../../test/helpers.js";
import { checkIn, UnknownAbilityError, Vault } from "../src/index.js";

const SEED = new Uint8Array(randomBytes(32));
const fixture = (name: string) => readFile(path.join(import.meta.dirname, "fixtures", name));

describe("vault: forgetting an ability's data", () => {
  it("deletes every document the ability owns, reports progress, and leaves the other abilities' data", async () => {
    const stores = memoryStores();
    const vault = await Vault.open(stores, { rootSeed: SEED });
    await vault.importLocations(await fixture("track.gpx"), { fileName: "track.gpx" });
    const noSymptoms = {
      fever: false,
      cough: false,
      shortnessOfBreath: false,
      soreThroat: false,
      lossOfTasteOrSmell: false,
      fatigue: false,
      headache: false,
    };
    await checkIn(vault.ability("health-questionnaire"), { feeling: 4, symptoms: noSymptoms }, "2026-11-21");
    const before = vault.locations().length;
    expect(before).to.be.greaterThan(0);
    const counts = () =>
      Object.fromEntries(
        vault
          .abilities()
          .flatMap((m) => Object.keys(m.owns).map((s) => [`${m.name}/${s}`, vault.thread.collection(`${m.name}/${s}`).size])),
      );
    expect(counts()["health-questionnaire/checkins"]).to.equal(1);
    const others = Object.fromEntries(Object.entries(counts()).filter(([k]) => !k.startsWith("location-history/")));
    const seen: number[] = [];
    const { deleted } = await vault.forget("location-history", { onProgress: (done) => seen.push(done) });
    expect(deleted).to.be.greaterThan(0);
    expect(seen.at(-1)).to.equal(deleted);
    expect(vault.locations()).to.deep.equal([]);
    expect(Object.fromEntries(Object.entries(counts()).filter(([k]) => !k.startsWith("location-history/")))).to.deep.equal(others);
    // Deleted for good: a reopened vault replays the deletions.
    await vault.close();
    const again = await Vault.open(stores, { rootSeed: SEED });
    expect(again.locations()).to.deep.equal([]);
    // And the same file can be imported again afterwards.
    const reimported = await again.importLocations(await fixture("track.gpx"), { fileName: "track.gpx" });
    expect(reimported.duplicate).to.equal(false);
    expect(again.locations().length).to.equal(before);
  });

  it("refuses a name that is no ability, with nothing deleted", async () => {
    const stores = memoryStores();
    const vault = await Vault.open(stores, { rootSeed: SEED });
    await vault.importLocations(await fixture("track.gpx"), { fileName: "track.gpx" });
    const before = await captureState(stores);
    await expectRejects(vault.forget("vault"), UnknownAbilityError, /no ability named "vault"/);
    await expectRejects(vault.forget("__proto__"), UnknownAbilityError, /no ability named/);
    await expectRejects(vault.forget(42 as unknown as string), UnknownAbilityError, /no ability named 42/);
    expect(await captureState(stores)).to.deep.equal(before);
  });
});

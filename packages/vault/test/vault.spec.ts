import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { kmPerDaySpec } from "@mosaic/mapreduce";
import { ConsentRequiredError, VaultDecryptionError } from "@mosaic/protocol";
import { expect } from "chai";
import { expectRejects } from "../../../test/helpers.js";
import { openVault } from "../src/index.js";

describe("vault: sealed at rest, consent and egress", () => {
  let dir: string;
  const seed = randomBytes(32);
  const spec = kmPerDaySpec({ windowEnd: 1_700_006_400 });
  const job = { chainId: 31337n, registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3", jobId: 1n };
  const marker = 12.3456789;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "mosaic-vault-"));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it("stores nothing in plaintext and reads everything back after reopening", async () => {
    const vault = await openVault(dir, seed);
    await vault.addLocations([{ t: 1_700_000_000, lat: marker, lon: -9.1 }]);
    const reopened = await openVault(dir, seed);
    expect(await reopened.locations()).to.deep.equal([{ t: 1_700_000_000, lat: marker, lon: -9.1 }]);
    for (const f of await readdir(dir)) {
      const bytes = await readFile(path.join(dir, f));
      expect(bytes.includes(Buffer.from(String(marker)))).to.equal(false);
      expect(bytes.includes(Buffer.from("lat"))).to.equal(false);
    }
  });

  it("refuses a wrong seed or a tampered file with VaultDecryptionError, and keeps the data", async () => {
    await (await openVault(dir, seed)).addLocations([{ t: 1, lat: 1, lon: 1 }]);
    await expectRejects((await openVault(dir, randomBytes(32))).locations(), VaultDecryptionError, /authentication failed/);
    const file = path.join(dir, "location-history.sealed");
    const bytes = await readFile(file);
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 1;
    await writeFile(`${file}.bak`, await readFile(file));
    await writeFile(file, bytes);
    await expectRejects((await openVault(dir, seed)).locations(), VaultDecryptionError);
    await writeFile(file, await readFile(`${file}.bak`));
    expect(await (await openVault(dir, seed)).locations()).to.have.length(1);
  });

  it("rejects impossible fixes with a named field and stores none of the batch", async () => {
    const vault = await openVault(dir, seed);
    try {
      await vault.addLocations([
        { t: 1, lat: 1, lon: 1 },
        { t: 2, lat: 91, lon: 0 },
      ]);
      expect.fail("accepted lat 91");
    } catch (err) {
      expect((err as Error).message).to.match(/points\[1\]/);
    }
    expect(await vault.locations()).to.deep.equal([]);
  });

  it("lets nothing out without consent, nor after withdrawal; the audit log matches every byte sent", async () => {
    const vault = await openVault(dir, seed);
    await vault.addLocations([
      { t: spec.program.windowEnd - 3600, lat: 0, lon: 0 },
      { t: spec.program.windowEnd - 1800, lat: 0, lon: 0.1 },
    ]);
    const request = await vault.review(spec, job);
    expect(request.preview.raw[6]).to.equal(11);
    expect(request.preview.payload).to.have.length(7);
    const bytes = new Uint8Array([1, 2, 3]);
    await expectRejects(vault.egress(spec, request.jobKey, bytes), ConsentRequiredError, /consent first/);
    expect(await vault.audit()).to.deep.equal([]);
    await vault.consent(request);
    expect(await vault.consentedPayload(request.jobKey)).to.deep.equal(request.preview.payload);
    expect(await vault.egress(spec, request.jobKey, bytes)).to.equal(bytes);
    const audit = await vault.audit();
    expect(audit).to.have.length(1);
    expect(audit[0]?.bytes).to.equal("010203");
    expect(audit[0]?.fieldsRead).to.deep.equal(["location-history.t", "location-history.lat", "location-history.lon"]);
    await vault.withdraw(request.jobKey);
    await expectRejects(vault.egress(spec, request.jobKey, bytes), ConsentRequiredError);
    expect(await vault.audit()).to.have.length(1);
  });
});

// End to end tests of `mosaic vault` abilities, location import, consents, audit, budget, guardians and recovery: the real CLI in child processes.
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { exists } from "../src/vault.js";
import { failed, json, type Run, vault } from "./run.js";

const GPX = path.resolve(import.meta.dirname, "../../vault/test/fixtures/track.gpx");

interface Abilities {
  abilities: {
    name: string;
    version: string;
    owns: { collection: string; fields: string[]; documents: number }[];
    reads: string[];
    handles: string[];
  }[];
}

interface Imported {
  format: string;
  points: number;
  days: number;
  skipped: number;
  duplicate: boolean;
}

describe("mosaic vault: abilities, location import, consents, audit, budget, guardians and recovery", function () {
  this.timeout(120_000);
  let work: string;
  const dirs: Record<"data" | "owner" | "g1" | "g2" | "g3", string> = { data: "", owner: "", g1: "", g2: "", g3: "" };

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), "mosaic-cli-vault-data-"));
    for (const name of Object.keys(dirs) as (keyof typeof dirs)[]) dirs[name] = path.join(work, name);
    const inits = await Promise.all(
      Object.entries(dirs).map(([name, dir]) => vault(["init", "--dir", dir, "--device", name, "--scrypt-n", "1024"], work)),
    );
    for (const run of inits) expect(run.code, run.stderr).to.equal(0);
  });

  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it("prints help for every new command without unlocking anything; unknown flags and missing arguments exit 2", async () => {
    const helps = [
      ["abilities"],
      ["import"],
      ["consents"],
      ["consents", "withdraw"],
      ["audit"],
      ["budget"],
      ["budget", "set"],
      ["guardians"],
      ["guardians", "whoami"],
      ["guardians", "add"],
      ["guardians", "remove"],
      ["guardians", "list"],
      ["guardians", "protect"],
      ["guardians", "accept"],
      ["recover"],
      ["recover", "request"],
      ["recover", "approve"],
      ["recover", "complete"],
    ];
    const usage: [string[], RegExp][] = [
      [["abilities", "--bogus"], /Unknown option '--bogus'/],
      [["import", GPX, "--in", "archive"], /import: give a location file, or --in FILE \/ --peer MULTIADDR for records, not both/],
      [["import"], /import: expected a location file, or exactly one of --in FILE or --peer MULTIADDR/],
      [["consents", "withdraw"], /consents withdraw: missing <job key>/],
      [["budget", "set"], /budget set: give at least one of --epsilon, --period-days, --anchor/],
      [["guardians", "add", "0x02"], /guardians add: --label NAME is required/],
      [["guardians", "remove"], /guardians remove: missing <address>/],
      [
        ["guardians", "protect", "--threshold", "2", "--from", "me", "--out-dir", work, "--rpc", "http://x"],
        /give all of --rpc, --recovery/,
      ],
      [["recover", "request", "--out", "r.json"], /recover request: --account ID is required/],
      [["recover", "complete", "--request", "r.json"], /recover complete: --approvals FILE\.\.\. is required/],
    ];
    const runs = await Promise.all([
      ...helps.map((c) => vault([...c, "--help"], work)),
      // --dir names a directory that does not exist: a usage error must come before any vault is opened.
      ...usage.map(([c]) => vault(c[0] === "recover" && c[1] === "request" ? c : [...c, "--dir", path.join(work, "none")], work)),
    ]);
    for (const [i, c] of helps.entries()) {
      const run = runs[i] as Run;
      expect(run.code, c.join(" ")).to.equal(0);
      expect(run.stdout, c.join(" "))
        .to.match(/^Usage: mosaic vault /m)
        .and.to.include(`mosaic vault ${c.join(" ")}`);
    }
    for (const [i, [c, message]] of usage.entries()) {
      const run = runs[helps.length + i] as Run;
      expect(run.code, `${c.join(" ")}: ${run.stderr}`).to.equal(2);
      expect(run.stderr, c.join(" ")).to.match(message);
    }
    expect(await exists(path.join(work, "none")), "no vault was created or opened").to.equal(false);
  });

  it("abilities --json lists the four built-ins with their collections, fields, reads and events", async () => {
    const { abilities } = json<Abilities>(await vault(["abilities", "--dir", dirs.data, "--json"], work));
    expect(abilities.map((a) => a.name)).to.deep.equal(["location-history", "health-questionnaire", "proximity", "alert-filter"]);
    const location = abilities[0];
    expect(location?.owns.map((c) => c.collection)).to.deep.equal(["location-history/points", "location-history/places"]);
    expect(location?.owns[0]).to.deep.include({ fields: ["t", "lat", "lon", "day", "source"], documents: 0 });
    expect(location?.handles).to.deep.equal(["job:new"]);
    expect(abilities[3]?.reads).to.deep.equal(["location-history/points", "health-questionnaire/checkins"]);
  });

  it("imports a GPX file; the same file again is reported as already imported", async () => {
    const first = json<Imported>(await vault(["import", GPX, "--dir", dirs.data, "--json"], work));
    expect(first).to.deep.include({ format: "gpx", duplicate: false, days: 1 });
    expect(first.points).to.be.greaterThan(0);
    const again = await vault(["import", GPX, "--dir", dirs.data], work);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.match(/track\.gpx \(GPX\) was already imported: nothing added/);
  });

  it("refuses a truncated file with LocationFormatError, leaving the stored points unchanged", async () => {
    const cut = path.join(work, "cut.gpx");
    const bytes = await readFile(GPX);
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const garbage = path.join(work, "garbage.json");
    await writeFile(garbage, "{ this is not json");
    const before = json<Abilities>(await vault(["abilities", "--dir", dirs.data, "--json"], work));
    failed(await vault(["import", cut, "--dir", dirs.data], work), 1, "LocationFormatError", /GPX/);
    failed(await vault(["import", garbage, "--dir", dirs.data, "--format", "geojson"], work), 1, "LocationFormatError");
    const after = json<Abilities>(await vault(["abilities", "--dir", dirs.data, "--json"], work));
    expect(after.abilities[0]?.owns[0]?.documents).to.equal(before.abilities[0]?.owns[0]?.documents).and.to.equal(1);
  });

  it("budget set changes the allowance and period; budget --json shows it; a negative epsilon is refused by name", async () => {
    const set = await vault(["budget", "set", "--dir", dirs.owner, "--epsilon", "4", "--period-days", "7"], work);
    expect(set.code, set.stderr).to.equal(0);
    const [status, negative] = await Promise.all([
      vault(["budget", "--dir", dirs.owner, "--json"], work),
      vault(["budget", "set", "--dir", dirs.owner, "--epsilon", "-1"], work),
    ]);
    const budget = json<{
      settings: { epsilon: { num: number; den: number }; periodDays: number };
      used: string;
      remaining: string;
      entries: [];
    }>(status);
    expect(budget.settings).to.deep.include({ epsilon: { num: 4, den: 1 }, periodDays: 7 });
    expect(budget).to.deep.include({ used: "0", remaining: "4", entries: [] });
    failed(negative, 1, "RangeError", /--epsilon: .*got "-1"/);
  });

  it("audit --out on a vault nothing left writes []; consents lists none; withdrawing an unknown consent is a named error", async () => {
    const out = path.join(work, "audit.json");
    const [audit, consents, withdraw] = await Promise.all([
      vault(["audit", "--dir", dirs.owner, "--out", out, "--json"], work),
      vault(["consents", "--dir", dirs.data, "--json"], work),
      vault(["consents", "withdraw", "no-such-job", "--dir", dirs.g1], work),
    ]);
    expect(json(audit)).to.deep.equal({ entries: [], out });
    expect(JSON.parse(await readFile(out, "utf8"))).to.deep.equal([]);
    expect(json(consents)).to.deep.equal({ consents: [] });
    failed(withdraw, 1, "ConsentRequiredError", /no consent for job no-such-job/);
  });

  it("recovers a vault through three guardians with no chain: protect, accept, request, approve two, complete", async function () {
    this.timeout(240_000);
    const guardians = ["g1", "g2", "g3"] as const;
    const keys = await Promise.all(
      guardians.map(async (g) =>
        json<{ publicKey: string; address: string }>(await vault(["guardians", "whoami", "--dir", dirs[g], "--json"], work)),
      ),
    );
    for (const [i, g] of guardians.entries()) {
      const added = await vault(["guardians", "add", keys[i]?.publicKey as string, "--label", g, "--dir", dirs.owner], work);
      expect(added.code, added.stderr).to.equal(0);
    }
    const invitations = path.join(work, "invitations");
    const protect = json<{ accountId: string; threshold: number; invitations: { guardian: string; file: string }[]; anchored: null }>(
      await vault(
        ["guardians", "protect", "--threshold", "2", "--from", "owner", "--out-dir", invitations, "--dir", dirs.owner, "--json"],
        work,
      ),
    );
    expect(protect).to.deep.include({ threshold: 2, anchored: null });
    expect(protect.invitations.map((i) => i.guardian)).to.deep.equal(keys.map((k) => k.address));
    const fileOf = (i: number): string => path.join(invitations, `invitation-${keys[i]?.address}.json`);

    // A copy of g1's invitation with its package altered fails its CID check before anything is unlocked.
    const forged = JSON.parse(await readFile(fileOf(0), "utf8")) as { package: string };
    const bytes = Buffer.from(forged.package, "base64");
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1);
    const forgedFile = path.join(work, "forged-invitation.json");
    await writeFile(forgedFile, JSON.stringify({ ...forged, package: bytes.toString("base64") }));

    const newDevice = path.join(work, "new-device");
    const request = path.join(work, "request.json");
    const [forgedRun, requested, ...accepted] = await Promise.all([
      vault(["guardians", "accept", forgedFile, "--dir", path.join(work, "none")], work),
      vault(["recover", "request", "--account", protect.accountId, "--out", request, "--json"], work),
      ...guardians.map((g, i) => vault(["guardians", "accept", fileOf(i), "--dir", dirs[g], "--json"], work)),
    ]);
    failed(forgedRun as Run, 1, "InlineBlockMismatchError", /do not hash to/);
    for (const [i, run] of accepted.entries()) expect(json(run)).to.deep.include({ accountId: protect.accountId, from: "owner", index: i });
    const req = json<{ request: string; deviceKey: string; ownerKey: string; code: string }>(requested as Run);
    expect(req.deviceKey).to.equal(`${request}.key`);
    expect((await stat(req.deviceKey)).mode & 0o777).to.equal(0o600);
    expect((await stat(req.ownerKey)).mode & 0o777).to.equal(0o600);

    const list = json<{ guardianships: { accountId: string; from: string }[] }>(
      await vault(["guardians", "list", "--dir", dirs.g2, "--json"], work),
    );
    expect(list.guardianships).to.have.length(1);
    expect(list.guardianships[0]).to.deep.include({ accountId: protect.accountId, from: "owner" });

    const approvals = [path.join(work, "approval-g1.json"), path.join(work, "approval-g3.json")];
    const approved = await Promise.all([
      vault(["recover", "approve", request, "--out", approvals[0] as string, "--dir", dirs.g1, "--json"], work),
      vault(["recover", "approve", request, "--out", approvals[1] as string, "--dir", dirs.g3, "--json"], work),
    ]);
    for (const run of approved) expect(json(run)).to.deep.include({ signed: false, code: req.code, from: "owner" });

    // One approval is below the threshold: named error, nothing created.
    const short = await vault(
      ["recover", "complete", "--request", request, "--approvals", approvals[0] as string, "--dir", newDevice],
      work,
    );
    failed(short, 1, "ThresholdNotMetError", /have 1 good shares, need 2/);
    expect(await exists(newDevice)).to.equal(false);

    const complete = await vault(
      [
        "recover",
        "complete",
        "--request",
        request,
        "--approvals",
        ...approvals,
        "--dir",
        newDevice,
        "--device",
        "phone",
        "--scrypt-n",
        "1024",
        "--json",
      ],
      work,
    );
    const recovered = json<{ thread: string; used: number[]; rejected: []; guardiansChecked: boolean }>(complete);
    expect(recovered).to.deep.include({ used: [0, 2], rejected: [], guardiansChecked: false });
    expect(complete.stderr).to.match(/the guardian set is not checked against the chain/);

    const [mine, theirs] = await Promise.all([
      vault(["status", "--dir", dirs.owner, "--json"], work),
      vault(["status", "--dir", newDevice, "--json"], work),
    ]);
    const original = json<{ thread: string }>(mine);
    expect(json(theirs)).to.deep.include({ thread: original.thread, device: "phone", records: 0 });
    expect(recovered.thread).to.equal(original.thread);
  });
});

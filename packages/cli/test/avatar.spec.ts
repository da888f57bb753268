// End to end tests of `mosaic avatar`: the real CLI in child processes against a Hardhat JSON-RPC server on loopback.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { connectChain, deployMosaic, type MosaicContracts } from "@mosaic/protocol";
import { expect } from "chai";
import { HDNodeWallet, Mnemonic } from "ethers";
import { network } from "hardhat";
import { failed, json, mosaic, type Run, vault } from "./run.js";

const MNEMONIC = "test test test test test test test test test test test junk";
const keyOf = (i: number) => HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(MNEMONIC), `m/44'/60'/0'/0/${i}`);

describe("mosaic avatar: status, register, groups and the registrar's commands", function () {
  this.timeout(180_000);
  let work: string;
  let server: Awaited<ReturnType<typeof network.createServer>> | undefined;
  let rpc: string;
  let contracts: MosaicContracts;
  let close: () => Promise<void>;
  const dirs = { alice: "", bob: "" };
  const keys = { registrar: "", alice: "", bob: "" };
  let chainArgs: string[];
  const commitments: Record<string, string> = {};
  let registrarGroup: string;
  let openGroup: string;

  const avatar = (args: string[], who?: keyof typeof dirs, key?: keyof typeof keys) =>
    mosaic(["avatar", ...args, ...chainArgs, ...(who ? ["--dir", dirs[who]] : []), ...(key ? ["--wallet-key-file", keys[key]] : [])], work);

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), "mosaic-avatar-cli-"));
    // The in-process Hardhat network, served over JSON-RPC on a free loopback port, so the CLI's children can reach it.
    server = await network.createServer("default", "127.0.0.1", 0);
    const { port } = await server.listen();
    rpc = `http://127.0.0.1:${port}`;
    const chain = await connectChain({ rpcUrl: rpc, accounts: 1 });
    close = () => chain.close();
    contracts = await deployMosaic(chain.accounts[0] as NonNullable<(typeof chain.accounts)[0]>);
    chainArgs = ["--rpc", rpc, "--groups", contracts.addresses.avatarGroups];
    for (const [name, i] of [
      ["registrar", 5],
      ["alice", 6],
      ["bob", 7],
    ] as const) {
      keys[name] = path.join(work, `${name}.key`);
      await writeFile(keys[name], `${keyOf(i).privateKey}\n`, { mode: 0o600 });
    }
    for (const name of ["alice", "bob"] as const) {
      dirs[name] = path.join(work, name);
      json(await vault(["init", "--dir", dirs[name], "--device", name, "--scrypt-n", "1024", "--json"], work));
    }
  });

  after(async () => {
    await close?.();
    await server?.close();
    await rm(work, { recursive: true, force: true });
  });

  it("has --help on every command, and usage errors exit 2", async () => {
    const helps = [
      ["status", "--help"],
      ["register", "--help"],
      ["registrar", "--help"],
    ];
    // Independent runs, so side by side.
    const [noRpc, groupWithoutRpc, noGroup, ...helped] = await Promise.all([
      mosaic(["avatar", "register", "--dir", dirs.alice], work),
      mosaic(["avatar", "status", "--group", "1"], work),
      avatar(["registrar", "attest"], undefined, "registrar"),
      ...helps.map((h) => mosaic(["avatar", ...h], work)),
    ]);
    for (const [i, h] of helps.entries()) {
      const run = helped[i] as Run;
      expect(run.code, h.join(" ")).to.equal(0);
      expect(run.stdout).to.match(/^mosaic avatar/);
    }
    failed(noRpc as Run, 2, "UsageError", /--rpc URL and --groups ADDRESS are required/);
    failed(groupWithoutRpc as Run, 2, "UsageError", /--group needs --rpc/);
    failed(noGroup as Run, 2, "UsageError", /--group ID is required/);
  });

  it("creates a registrar group and an open group", async () => {
    const reg = json<{ groupId: string; kind: string; registrar: string }>(
      await avatar(
        ["registrar", "create-group", "--name", "positives", "--admission", contracts.addresses.registrarAdmission, "--json"],
        undefined,
        "registrar",
      ),
    );
    expect(reg.kind).to.equal("registrar");
    expect(reg.registrar).to.equal(keyOf(5).address);
    registrarGroup = reg.groupId;
    const open = json<{ groupId: string; kind: string }>(
      await avatar(
        ["registrar", "create-group", "--name", "panel", "--admission", contracts.addresses.openAdmission, "--json"],
        undefined,
        "registrar",
      ),
    );
    expect(open.kind).to.equal("open");
    openGroup = open.groupId;
    failed(
      await avatar(
        ["registrar", "create-group", "--name", "x", "--admission", contracts.addresses.openAdmission, "--registrar", keyOf(1).address],
        undefined,
        "registrar",
      ),
      1,
      "TypeError",
      /has no registrar/,
    );
  });

  it("prints the avatar's commitment offline", async () => {
    for (const name of ["alice", "bob"] as const) {
      const a = json<{ commitment: string; groups: unknown[] }>(await mosaic(["avatar", "status", "--dir", dirs[name], "--json"], work));
      expect(a.commitment).to.match(/^[1-9][0-9]+$/);
      expect(a.groups).to.deep.equal([]);
      commitments[name] = a.commitment;
    }
    expect(commitments.alice).to.not.equal(commitments.bob);
  });

  it("admits by attestation: the registrar signs, the person registers, a replay and a foreign attestation are refused", async () => {
    const att = path.join(work, "alice.attestation.json");
    json(
      await avatar(
        ["registrar", "attest", "--group", registrarGroup, "--commitment", commitments.alice as string, "--out", att, "--json"],
        undefined,
        "registrar",
      ),
    );
    // Only the registrar can attest.
    failed(
      await avatar(
        ["registrar", "attest", "--group", registrarGroup, "--commitment", commitments.bob as string, "--out", path.join(work, "x.json")],
        undefined,
        "alice",
      ),
      1,
      "GroupContractError",
      /registrar is/,
    );
    // Bob cannot use Alice's attestation: it admits her commitment, not his avatar. Nothing is sent.
    failed(
      await avatar(["register", "--group", registrarGroup, "--attestation", att], "bob", "bob"),
      1,
      "AttestationMismatchError",
      /not this vault's avatar/,
    );
    expect(await contracts.avatarGroups.groupSize(BigInt(registrarGroup))).to.equal(0n);
    // A tampered file is named.
    const tampered = path.join(work, "tampered.json");
    await writeFile(tampered, JSON.stringify({ ...JSON.parse(await readFile(att, "utf8")), expiresAt: "-5" }));
    failed(
      await avatar(["register", "--group", registrarGroup, "--attestation", tampered], "alice", "alice"),
      1,
      "MalformedAttestationError",
      /expiresAt/,
    );
    // Registered from Bob's wallet (any wallet may carry it): the avatar is Alice's.
    const r = json<{ size: string; kind: string }>(
      await avatar(["register", "--group", registrarGroup, "--attestation", att, "--json"], "alice", "bob"),
    );
    expect(r).to.include({ size: "1", kind: "registrar" });
    const root = await contracts.avatarGroups.groupRoot(BigInt(registrarGroup));
    failed(
      await avatar(["register", "--group", registrarGroup, "--attestation", att], "alice", "alice"),
      1,
      "GroupContractError",
      /AlreadyAdmitted/,
    );
    expect(await contracts.avatarGroups.groupRoot(BigInt(registrarGroup))).to.equal(root);
  });

  it("admits in batches, syncs membership from events, removes a member and hands the role over", async () => {
    const file = path.join(work, "commitments.txt");
    const many = Array.from({ length: 250 }, (_, i) => (10n ** 30n + BigInt(i) * 7919n).toString());
    await writeFile(file, `# admitted on 2026-11-21\n${many.join("\n")}\n${commitments.bob}\n`);
    const admitted = json<{ admitted: number; batches: number; size: string }>(
      await avatar(["registrar", "admit", "--group", registrarGroup, "--commitments", file, "--json"], undefined, "registrar"),
    );
    expect(admitted).to.include({ admitted: 251, batches: 3, size: "252" });
    const bad = path.join(work, "bad.txt");
    await writeFile(bad, "12\nnot-a-number\n");
    failed(
      await avatar(["registrar", "admit", "--group", registrarGroup, "--commitments", bad], undefined, "registrar"),
      1,
      "MalformedCommitmentsError",
      /bad\.txt:2/,
    );

    const status = json<{ groups: { groupId: string; member: boolean; index: number; size: number; root: string }[] }>(
      await avatar(["status", "--group", registrarGroup, "--group", openGroup, "--json"], "bob"),
    );
    expect(status.groups.map((g) => [g.groupId, g.member, g.index, g.size])).to.deep.equal([
      [registrarGroup, true, 251, 252],
      [openGroup, false, -1, 0],
    ]);
    expect(status.groups[0]?.root).to.equal((await contracts.avatarGroups.groupRoot(BigInt(registrarGroup))).toString());

    json(
      await avatar(
        ["registrar", "remove", "--group", registrarGroup, "--commitment", commitments.bob as string, "--json"],
        undefined,
        "registrar",
      ),
    );
    const after = json<{ groups: { member: boolean; root: string }[] }>(
      await avatar(["status", "--group", registrarGroup, "--json"], "bob"),
    );
    expect(after.groups[0]?.member).to.equal(false);
    expect(after.groups[0]?.root).to.equal((await contracts.avatarGroups.groupRoot(BigInt(registrarGroup))).toString());

    json(await avatar(["registrar", "hand-over", "--group", registrarGroup, "--to", keyOf(6).address, "--json"], undefined, "registrar"));
    failed(
      await avatar(["registrar", "admit", "--group", registrarGroup, "--commitments", file], undefined, "registrar"),
      1,
      "GroupContractError",
      /NotRegistrar/,
    );
  });

  it("registers one avatar per wallet in an open group, and lists the groups", async () => {
    const r = json<{ size: string; kind: string }>(await avatar(["register", "--group", openGroup, "--json"], "alice", "alice"));
    expect(r).to.include({ size: "1", kind: "open" });
    failed(await avatar(["register", "--group", openGroup], "bob", "alice"), 1, "GroupContractError", /AlreadyRegistered/);
    failed(
      await avatar(["register", "--group", openGroup, "--attestation", path.join(work, "alice.attestation.json")], "bob", "bob"),
      1,
      "TypeError",
      /takes no attestation/,
    );
    failed(await avatar(["register", "--group", "99"], "bob", "bob"), 1, "UnknownGroupError");
    const listed = json<{ groups: { groupId: string; name: string; kind: string; size: string; registrar?: string }[] }>(
      await avatar(["groups", "--json"]),
    );
    expect(listed.groups.map((g) => [g.groupId, g.name, g.kind, g.size])).to.deep.equal([
      [registrarGroup, "positives", "registrar", "252"],
      [openGroup, "panel", "open", "1"],
    ]);
    expect(listed.groups[0]?.registrar).to.equal(keyOf(6).address);
  });
});

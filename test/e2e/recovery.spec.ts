// Social recovery on real parts: a Hardhat network with the recovery contract, Helia nodes on loopback carrying
// shares, approvals and the vault thread, and a replicator holding the service key only. Nothing is mocked.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import * as dagCbor from "@ipld/dag-cbor";
import { kmPerDayJob } from "@mosaic/mapreduce";
import {
  CID,
  createIpfsNode,
  dialPeer,
  deployVaultRecovery,
  encodeBlock,
  getBlock,
  type IpfsNode,
  nodeAddresses,
  type VaultRecovery,
} from "@mosaic/protocol";
import { type DiskStores, deriveThreadSecrets, openDiskStores, ThreadLog, ThreadReplicator } from "@mosaic/threads";
import {
  acceptGuardianship,
  addGuardian,
  approveRecoveryRequest,
  checkIn,
  deviceKey,
  guardianKeyFromSeed,
  guardianKeyOf,
  type Invitation,
  listGuardians,
  protectVault,
  type RecoveryApproval,
  type RecoveryRequestMessage,
  recoverSeed,
  recoverySetup,
  startRecovery,
  ThresholdNotMetError,
  VAULT_THREAD,
  Vault,
  WrongDeviceKeyError,
} from "@mosaic/vault";
import { expect } from "chai";
import { type Signer, Wallet } from "ethers";
import { network } from "hardhat";
import { expectRejects, memoryStores } from "../helpers.js";

type Connection = Awaited<ReturnType<typeof network.connect>>;

const fixtures = path.resolve("packages/vault/test/fixtures");

/** Every document of every collection, as dag-cbor: two vaults with equal digests hold the same data. */
function vaultDigest(vault: Vault): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(vault.thread.status().collections).sort()) {
    out[name] = Buffer.from(dagCbor.encode(vault.thread.collection(name).find())).toString("hex");
  }
  return out;
}

describe("end to end: social recovery", function () {
  this.timeout(300_000);
  let root: string;
  let conn: Connection;
  let owner: Signer;
  let relayer: Signer;
  let contract: VaultRecovery;
  const nodes: IpfsNode[] = [];
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    conn = await network.connect();
    [, owner, relayer] = (await conn.ethers.getSigners()) as Signer[] as [Signer, Signer, Signer];
    const [deployer] = await conn.ethers.getSigners();
    contract = await deployVaultRecovery(deployer as Signer, 3600n);
  });
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), "mosaic-recovery-"));
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {});
    for (const n of nodes.splice(0)) await n.stop().catch(() => {});
    await rm(root, { recursive: true, force: true });
  });

  async function node(stores?: DiskStores): Promise<IpfsNode> {
    const n = await createIpfsNode(stores === undefined ? {} : { blockstore: stores.blockstore });
    nodes.push(n);
    return n;
  }

  async function connect(a: IpfsNode, b: IpfsNode): Promise<void> {
    await dialPeer(a, nodeAddresses(b)[0] as string);
  }

  it("a front-runner copying the registration from the mempool is refused by name; the owner's registration lands", async () => {
    const provider = conn.ethers.provider;
    const vault = await Vault.open(memoryStores(), { rootSeed: crypto.getRandomValues(new Uint8Array(32)), device: "laptop" });
    closers.push(() => vault.close());
    for (const i of [0, 1]) {
      const key = guardianKeyFromSeed(crypto.getRandomValues(new Uint8Array(32)));
      await addGuardian(vault, { publicKey: `0x${Buffer.from(key.publicKey).toString("hex")}`, label: `guardian ${i}` });
    }
    const target = (await contract.getAddress()).toLowerCase();
    await provider.send("evm_setAutomine", [false]);
    try {
      const protecting = protectVault(
        vault,
        { blocks: memoryStores().blockstore, recovery: contract.connect(owner) },
        { threshold: 2, from: "Alice", recoveryDelay: 3600n, guardianDelay: 3600n },
      );
      // The attacker watches the mempool for the registration and resends its exact calldata, paying more.
      let seen: { input: string; gas: string } | undefined;
      for (let i = 0; i < 200 && seen === undefined; i++) {
        const pending = (await provider.send("eth_getBlockByNumber", ["pending", true])) as {
          transactions: { to: string; input: string; gas: string }[];
        };
        seen = pending.transactions.find((t) => t.to?.toLowerCase() === target);
        if (seen === undefined) await new Promise((r) => setTimeout(r, 25));
      }
      if (seen === undefined) throw new Error("the registration never reached the mempool");
      // Sent from the attacker's address, the same calldata is refused by name (the account is not registered yet).
      const refusal = await provider.call({ from: await relayer.getAddress(), to: target, data: seen.input }).then(
        () => "0x",
        (e: { data?: string }) => e.data ?? "0x",
      );
      expect(contract.interface.parseError(refusal)?.name).to.equal("NotSignedByAccountKey");
      const copy = await relayer.sendTransaction({
        to: target,
        data: seen.input,
        gasLimit: BigInt(seen.gas) * 2n,
        maxPriorityFeePerGas: 10n ** 11n,
        maxFeePerGas: 10n ** 12n,
      });
      await conn.networkHelpers.mine();
      const copied = await provider.getTransactionReceipt(copy.hash);
      expect(copied?.status, "the copied registration reverted").to.equal(0);
      await protecting;
    } finally {
      await provider.send("evm_setAutomine", [true]);
    }
    const id = recoverySetup(vault)?.accountId as string;
    expect(await contract.ownerOf(id)).to.equal(await owner.getAddress());
  });

  it("3 of 5 guardians restore an identical vault on a fresh device; 2 do not; a tampered approval is named; a cancelled recovery does not complete", async () => {
    // The owner's laptop: a vault with real data, replicated to a pinning node that holds the service key only.
    const laptopStores = await openDiskStores(path.join(root, "laptop"));
    closers.push(() => laptopStores.close());
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const laptop = await Vault.open(laptopStores, { rootSeed: seed, device: "laptop" });
    closers.push(() => laptop.thread.close());
    const laptopNode = await node(laptopStores);
    const laptopRepl = new ThreadReplicator({ libp2p: laptopNode.libp2p }, { pullIntervalMs: 500 });
    await laptopRepl.start();
    closers.push(() => laptopRepl.stop());
    laptopRepl.add(laptop.thread.log);

    const pinStores = await openDiskStores(path.join(root, "pin"));
    closers.push(() => pinStores.close());
    const secrets = deriveThreadSecrets(seed, VAULT_THREAD, "laptop");
    const pinned = await ThreadLog.open(pinStores, {
      id: secrets.id,
      serviceKey: secrets.key.service,
      ownerPublicKey: secrets.owner.publicKey,
    });
    const pinNode = await node(pinStores);
    const pinRepl = new ThreadReplicator({ libp2p: pinNode.libp2p }, { pullIntervalMs: 500 });
    await pinRepl.start();
    closers.push(() => pinRepl.stop());
    pinRepl.add(pinned);
    await connect(pinNode, laptopNode);

    await laptop.importLocations(await readFile(path.join(fixtures, "track.gpx")), { fileName: "track.gpx" });
    await checkIn(laptop.ability("health-questionnaire"), {
      feeling: 4,
      symptoms: {
        fever: false,
        cough: true,
        shortnessOfBreath: false,
        soreThroat: false,
        lossOfTasteOrSmell: false,
        fatigue: false,
        headache: false,
      },
    });
    await laptop.setBudget({ epsilon: { num: 12, den: 1 }, periodDays: 14 });
    const spec = kmPerDayJob({ collectionDeadline: 1_700_006_400 });
    const request = await laptop.review(spec, { chainId: 31337n, registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3", jobId: 9n });
    await laptop.consent(spec, request);
    await laptop.egress(request.jobKey, new Uint8Array([9, 9, 9]), request.preview.payload);

    // Five guardians, each a vault of its own on its own node.
    const guardians: { vault: Vault; node: IpfsNode }[] = [];
    for (let i = 0; i < 5; i++) {
      const vault = await Vault.open(memoryStores(), { rootSeed: crypto.getRandomValues(new Uint8Array(32)), device: `guardian-${i}` });
      closers.push(() => vault.close());
      const n = await node();
      // Dial out from the laptop: libp2p refuses more than 5 inbound connections a second from one host.
      await connect(laptopNode, n);
      guardians.push({ vault, node: n });
      await addGuardian(laptop, { publicKey: `0x${Buffer.from(guardianKeyOf(vault).publicKey).toString("hex")}`, label: `guardian ${i}` });
    }
    expect(listGuardians(laptop)).to.have.length(5);
    const setup = await protectVault(
      laptop,
      { blocks: laptopNode.blockstore, recovery: contract.connect(owner) },
      { threshold: 3, from: "Alice", recoveryDelay: 3600n, guardianDelay: 3600n },
    );
    expect(await contract.ownerOf(setup.accountId)).to.equal(await owner.getAddress());
    expect(await contract.guardiansHashOf(setup.accountId)).to.equal(setup.guardiansHash);
    for (const [i, g] of guardians.entries()) {
      await acceptGuardianship(g.vault, g.node.blockstore, setup.invitations[i] as Invitation, { signal: AbortSignal.timeout(20_000) });
    }

    // Wait until the pinning node holds every record, then the laptop is lost.
    const want = laptop.thread.log.heads();
    const deadline = Date.now() + 30_000;
    while (JSON.stringify(pinned.heads()) !== JSON.stringify(want) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(pinned.heads()).to.deep.equal(want);
    const before = vaultDigest(laptop);
    const laptopRecords = await laptop.thread.log.readRange(laptop.thread.ownLog, 1, laptop.thread.log.heads()[laptop.thread.ownLog] ?? 0);
    await laptopRepl.stop();
    await laptopNode.stop();

    // A new phone asks its guardians for help.
    const started = performance.now();
    const phoneStores = await openDiskStores(path.join(root, "phone"));
    closers.push(() => phoneStores.close());
    const phoneNode = await node(phoneStores);
    for (const g of guardians) await connect(phoneNode, g.node);
    await connect(phoneNode, pinNode);
    const device = deviceKey();
    const newOwner = Wallet.createRandom().address;
    const ask: RecoveryRequestMessage = {
      accountId: setup.accountId,
      devicePublicKey: `0x${Buffer.from(device.publicKey).toString("hex")}`,
      newOwner,
      // One expiry for every guardian's signature; the chain's clock, which the test moves, decides it.
      expiresAt: (await conn.networkHelpers.time.latest()) + 7 * 24 * 3600,
    };
    const approve = async (i: number) =>
      approveRecoveryRequest(
        (guardians[i] as (typeof guardians)[number]).vault,
        { blocks: (guardians[i] as (typeof guardians)[number]).node.blockstore, recovery: contract },
        ask,
      );
    const chain = { blocks: phoneNode.blockstore, recovery: contract };

    // Two approvals are not enough, and nothing is combined from them.
    const two = [await approve(0), await approve(3)];
    await expectRejects(recoverSeed(chain, device, ask, two), ThresholdNotMetError, /2/);
    // A tampered approval is named, and still does not make up the third share.
    // Guardian 1's approval with one ciphertext byte flipped in transit.
    const genuine = await approve(1);
    const g1 = (guardians[1] as (typeof guardians)[number]).node.blockstore;
    const sealed = dagCbor.decode(await getBlock(g1, CID.parse(genuine.approvalCid), { maxBytes: 1 << 16 })) as Uint8Array;
    sealed[sealed.length - 5] = (sealed[sealed.length - 5] as number) ^ 0x40;
    const tamperedBlock = await encodeBlock(sealed);
    await g1.put(tamperedBlock.cid, tamperedBlock.bytes);
    const tampered: RecoveryApproval = { ...genuine, approvalCid: tamperedBlock.cid.toString() };
    const err = (await expectRejects(recoverSeed(chain, device, ask, [...two, tampered]), ThresholdNotMetError)) as ThresholdNotMetError;
    expect(err.rejected.map((r) => r.error)).to.satisfy((errors: Error[]) => errors.some((e) => e instanceof WrongDeviceKeyError));

    // Three good approvals (and the tampered one, rejected by name) rebuild the seed.
    // Guardian 4 approves from a device whose blockstore never saw the package: the guardianship in its thread carries it.
    const g4 = guardians[4] as (typeof guardians)[number];
    const elsewhere = {
      get: () => {
        throw new Error("the package is not in this blockstore");
      },
      put: g4.node.blockstore.put.bind(g4.node.blockstore),
    } as unknown as typeof g4.node.blockstore;
    const three = [...two, await approveRecoveryRequest(g4.vault, { blocks: elsewhere, recovery: contract }, ask)];
    const recovered = await recoverSeed(chain, device, ask, [...three, tampered]);
    expect(Buffer.from(recovered.seed).equals(Buffer.from(seed))).to.equal(true);
    expect(recovered.used).to.deep.equal([0, 3, 4]);
    expect(recovered.rejected).to.have.length(1);

    // On-chain: the owner cancels the first attempt; it never completes, and its approvals cannot be replayed.
    const asRelayer = contract.connect(relayer);
    await startRecovery(asRelayer, recovered.config, newOwner, three);
    await conn.networkHelpers.time.increase(3601);
    await (await contract.connect(owner).cancelRecovery(setup.accountId)).wait();
    await expect(asRelayer.completeRecovery(setup.accountId)).to.be.revertedWithCustomError(contract, "NoPendingRecovery");
    expect(await contract.ownerOf(setup.accountId)).to.equal(await owner.getAddress());
    await expect(startRecovery(asRelayer, recovered.config, newOwner, three)).to.be.revertedWithCustomError(contract, "NotAGuardian");

    // Asked again, the guardians sign for the new nonce; after the timelock the account moves to the new owner.
    const again = [await approve(0), await approve(2), await approve(4)];
    const { executableAt } = await startRecovery(asRelayer, recovered.config, newOwner, again);
    await expect(asRelayer.completeRecovery(setup.accountId)).to.be.revertedWithCustomError(contract, "RecoveryNotReady");
    await conn.networkHelpers.time.increaseTo(executableAt);
    await (await asRelayer.completeRecovery(setup.accountId)).wait();
    expect(await contract.ownerOf(setup.accountId)).to.equal(newOwner);

    // The phone rebuilds the vault from the replicator: byte-identical records, identical documents.
    const phone = await Vault.open(phoneStores, { rootSeed: recovered.seed, device: "phone" });
    closers.push(() => phone.thread.close());
    const phoneRepl = new ThreadReplicator({ libp2p: phoneNode.libp2p }, { pullIntervalMs: 60_000 });
    await phoneRepl.start();
    closers.push(() => phoneRepl.stop());
    phoneRepl.add(phone.thread.log);
    await phoneRepl.pull(pinNode.libp2p.peerId, phone.thread.log.id);
    const recoverSeconds = (performance.now() - started) / 1000;
    expect(vaultDigest(phone)).to.deep.equal(before);
    const phoneRecords = await phone.thread.log.readRange(laptop.thread.ownLog, 1, laptopRecords.length);
    expect(phoneRecords.map((r) => r.cid.toString())).to.deep.equal(laptopRecords.map((r) => r.cid.toString()));
    for (const r of laptopRecords) {
      const mine = await getBlock(phoneStores.blockstore, r.cid, { maxBytes: 1 << 20 });
      expect(Buffer.from(mine).equals(Buffer.from(await getBlock(laptopStores.blockstore, r.cid, { maxBytes: 1 << 20 })))).to.equal(true);
    }
    expect(phone.budget().settings.periodDays).to.equal(14);
    expect(phone.audit()[0]?.bytes).to.equal("090909");
    expect(listGuardians(phone)).to.have.length(5);
    expect(recoverSeconds).to.be.above(0);
  });
});

// The vault: importing a year of Google Takeout location history, and a 3-of-5 social recovery on loopback.
// BENCH_RUNS (default 3) sets the repeats; progress goes to stderr.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { kmPerDayJob } from "@mosaic/mapreduce";
import { createIpfsNode, dialPeer, deployVaultRecovery, type IpfsNode, nodeAddresses } from "@mosaic/protocol";
import { connectInProcessChain } from "@mosaic/protocol/in-process-chain";
import { deriveThreadSecrets, openDiskStores, ThreadLog, ThreadReplicator } from "@mosaic/threads";
import {
  acceptGuardianship,
  addGuardian,
  approveRecoveryRequest,
  deviceKey,
  guardianKeyOf,
  openVault,
  parseLocations,
  protectVault,
  recoverSeed,
  startRecovery,
  VAULT_THREAD,
  Vault,
} from "@mosaic/vault";
import { Wallet } from "ethers";
import { generateTakeoutYear } from "./lib/takeout-year.js";

const runs = Number(process.env.BENCH_RUNS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version };
const root = await mkdtemp(path.join(os.tmpdir(), "mosaic-bench-vault-"));
const progress = (msg: string) => process.stderr.write(`vault: ${msg}\n`);
const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}`;

// 1. Import: a year of Records.json (one fix a minute) into a fresh on-disk vault, end to end: parse, group by
// day, seal, sign and store. The baseline is parsing alone, run side by side.
progress("generating a year of Takeout history");
const year = generateTakeoutYear();
const importRates: number[] = [];
const parseRates: number[] = [];
let stored = 0;
for (let r = 0; r < runs; r++) {
  let t0 = performance.now();
  const parsed = parseLocations(year.bytes, { fileName: "Records.json" });
  parseRates.push(parsed.points.length / ((performance.now() - t0) / 1000));
  const vault = await openVault(path.join(root, `import-${r}`), { rootSeed: crypto.getRandomValues(new Uint8Array(32)) });
  t0 = performance.now();
  const result = await vault.importLocations(year.bytes, { fileName: "Records.json" });
  importRates.push(result.points / ((performance.now() - t0) / 1000));
  stored = result.points;
  await vault.close();
  progress(`import run ${r + 1}/${runs}: ${Math.round(importRates.at(-1) as number)} points/s`);
}
const importRate = median(importRates);
const parseRate = median(parseRates);
console.log(
  JSON.stringify({
    name: "vault.import_takeout_points_per_s",
    value: Math.round(importRate),
    unit: "points/s",
    n: stored,
    file_mb: +(year.bytes.length / 2 ** 20).toFixed(1),
    baseline: Math.round(parseRate),
    baseline_is: "parseLocations alone (JSON.parse and checks), same file, same run",
    ratio: +(importRate / parseRate).toFixed(3),
    runs,
    machine,
  }),
);

// 2. Recovery: the owner's vault (a year of history) is replicated to a pinning node; five guardians each run
// a node; a new phone asks, three approve, the phone rebuilds the seed, the chain moves the account (timelock
// skipped by moving chain time), and the phone pulls the vault from the pinning node.
const chain = await connectInProcessChain();
const [deployer, owner, relayer] = chain.accounts as [never, never, never];
const contract = await deployVaultRecovery(deployer, 3600n);
const nodes: IpfsNode[] = [];
const node = async (blockstore?: import("interface-blockstore").Blockstore) => {
  const n = await createIpfsNode(blockstore === undefined ? {} : { blockstore });
  nodes.push(n);
  return n;
};
const seed = crypto.getRandomValues(new Uint8Array(32));
const laptopStores = await openDiskStores(path.join(root, "laptop"));
const laptop = await Vault.open(laptopStores, { rootSeed: seed, device: "laptop" });
await laptop.importLocations(year.bytes, { fileName: "Records.json" });
const spec = kmPerDayJob({ collectionDeadline: 1_704_067_200 });
const request = await laptop.review(spec, { chainId: 31337n, registry: contract.target as string, jobId: 1n });
await laptop.consent(spec, request);
progress("owner vault filled");
const laptopNode = await node(laptopStores.blockstore);
const pinStores = await openDiskStores(path.join(root, "pin"));
const secrets = deriveThreadSecrets(seed, VAULT_THREAD, "laptop");
const pinned = await ThreadLog.open(pinStores, {
  id: secrets.id,
  serviceKey: secrets.key.service,
  ownerPublicKey: secrets.owner.publicKey,
});
const pinNode = await node(pinStores.blockstore);
const pinRepl = new ThreadReplicator({ libp2p: pinNode.libp2p });
await pinRepl.start();
pinRepl.add(pinned);
const laptopRepl = new ThreadReplicator({ libp2p: laptopNode.libp2p });
await laptopRepl.start();
laptopRepl.add(laptop.thread.log);
await dialPeer(pinNode, nodeAddresses(laptopNode)[0] as string);
await pinRepl.pull(laptopNode.libp2p.peerId, pinned.id);
progress("pinned");
const guardians: { vault: Vault; node: IpfsNode }[] = [];
for (let i = 0; i < 5; i++) {
  const g = {
    vault: await openVault(path.join(root, `guardian-${i}`), { rootSeed: crypto.getRandomValues(new Uint8Array(32)) }),
    node: await node(),
  };
  await dialPeer(laptopNode, nodeAddresses(g.node)[0] as string);
  await addGuardian(laptop, { publicKey: hex(guardianKeyOf(g.vault).publicKey), label: `guardian ${i}` });
  guardians.push(g);
}
const setup = await protectVault(
  laptop,
  { blocks: laptopNode.blockstore, recovery: contract.connect(owner) },
  { threshold: 3, from: "bench", recoveryDelay: 3600n, guardianDelay: 3600n },
);
progress("protected");
for (const [i, g] of guardians.entries())
  await acceptGuardianship(g.vault, g.node.blockstore, setup.invitations[i] as (typeof setup.invitations)[number]);
await pinRepl.pull(laptopNode.libp2p.peerId, pinned.id);
const records = Object.values(laptop.thread.log.heads()).reduce((a, b) => a + b, 0);
await laptopRepl.stop();
await laptopNode.stop();
progress(`owner vault: ${records} records pinned; laptop gone`);

const recoverSeconds: number[] = [];
const phases: Record<string, number[]> = { approve_s: [], combine_s: [], chain_s: [], restore_s: [] };
for (let r = 0; r < runs; r++) {
  const phoneStores = await openDiskStores(path.join(root, `phone-${r}`));
  const phoneNode = await node(phoneStores.blockstore);
  for (const target of [pinNode, ...guardians.map((g) => g.node)]) await dialPeer(phoneNode, nodeAddresses(target)[0] as string);
  const t0 = performance.now();
  let t = t0;
  const lap = (phase: string) => {
    const now = performance.now();
    phases[phase]?.push((now - t) / 1000);
    t = now;
  };
  const device = deviceKey();
  const newOwner = Wallet.createRandom().address;
  // The guardians' approvals are good for an hour of chain time (at most 30 days are allowed).
  const ask = { accountId: setup.accountId, devicePublicKey: hex(device.publicKey), newOwner, expiresAt: (await chain.now()) + 3600 };
  const approvals = await Promise.all(
    [0, 2, 4].map((i) =>
      approveRecoveryRequest(guardians[i]?.vault as Vault, { blocks: guardians[i]?.node.blockstore as never, recovery: contract }, ask),
    ),
  );
  lap("approve_s");
  const recovered = await recoverSeed({ blocks: phoneNode.blockstore, recovery: contract }, device, ask, approvals);
  lap("combine_s");
  const { executableAt } = await startRecovery(contract.connect(relayer), recovered.config, newOwner, approvals);
  await chain.increaseTime(Number(executableAt) - (await chain.now()));
  await (await contract.connect(relayer).completeRecovery(setup.accountId)).wait();
  lap("chain_s");
  const phone = await Vault.open(phoneStores, { rootSeed: recovered.seed, device: `phone-${r}` });
  const phoneRepl = new ThreadReplicator({ libp2p: phoneNode.libp2p });
  await phoneRepl.start();
  phoneRepl.add(phone.thread.log);
  await phoneRepl.pull(pinNode.libp2p.peerId, phone.thread.log.id);
  lap("restore_s");
  recoverSeconds.push((performance.now() - t0) / 1000);
  if (phone.locations().length !== stored) throw new Error(`restored ${phone.locations().length} of ${stored} points`);
  progress(`recovery run ${r + 1}/${runs}: ${(recoverSeconds.at(-1) as number).toFixed(2)} s`);
  await phoneRepl.stop();
  await phone.close();
  await phoneStores.close();
}
console.log(
  JSON.stringify({
    name: "vault.recover_s",
    value: +median(recoverSeconds).toFixed(2),
    unit: "s",
    n: records,
    threshold: "3-of-5",
    phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, +median(v).toFixed(2)])),
    note: "request to restored vault on loopback, in-process Hardhat; the 48 h timelock is skipped by moving chain time",
    runs,
    machine,
  }),
);

await pinRepl.stop();
for (const n of nodes) await n.stop().catch(() => {});
await laptop.close();
for (const g of guardians) await g.vault.close();
await pinStores.close();
await laptopStores.close();
await chain.close();
await rm(root, { recursive: true, force: true });

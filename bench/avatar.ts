// Avatar figures: proof time, our batch verifier against Semaphore's verifyProof on the same proofs in the same run,
// registration gas, and rebuilding a 100,000-member group from events.
// BENCH_RUNS (default 3) repeats the verification timings; BENCH_PROOFS (default 12) distinct proofs are made and
// BENCH_VERIFY (default 192) verifications timed; BENCH_MEMBERS (default 100000) sizes the group sync.
import { randomBytes } from "node:crypto";
import os from "node:os";
import { createBatchVerifier, createAvatarGroup, deriveAvatarIdentity, Group, proveSubmission } from "@mosaic/avatar";
import { deployMosaic } from "@mosaic/protocol";
import { connectInProcessChain } from "@mosaic/protocol/in-process-chain";
import { verifyProof } from "@semaphore-protocol/proof";
import { measureGroupSync100k } from "./lib/group-sync-100k.js";

const runs = Number(process.env.BENCH_RUNS ?? 3);
const distinct = Number(process.env.BENCH_PROOFS ?? 12);
const verifications = Number(process.env.BENCH_VERIFY ?? 192);
const members = Number(process.env.BENCH_MEMBERS ?? 100_000);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version };
const print = (figure: Record<string, unknown>) => console.log(JSON.stringify({ ...figure, ...machine }));
const progress = (message: string) => process.stderr.write(`avatar: ${message}\n`);

// Proofs: a 64-member group at depth 20, one job per proof, as vaults make them.
const job = { chainId: 31337n, registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3", jobId: 1n };
const identities = Array.from({ length: 64 }, () => deriveAvatarIdentity(randomBytes(32)));
const group = new Group(identities.map((i) => i.commitment));
await proveSubmission(identities[0]!, group, job, [1, 2, 3]); // warm-up: loads the wasm and zkey
const proveMs: number[] = [];
const proofs: Awaited<ReturnType<typeof proveSubmission>>["proof"][] = [];
for (let i = 0; i < distinct; i++) {
  progress(`proof ${i + 1}/${distinct}`);
  const t0 = performance.now();
  const sub = await proveSubmission(identities[i % identities.length]!, group, { ...job, jobId: BigInt(i + 2) }, [i, 2, 3]);
  proveMs.push(performance.now() - t0);
  proofs.push(sub.proof);
}
print({ name: "avatar.prove_ms", value: Math.round(median(proveMs)), unit: "ms", n: distinct, depth: 20 });

// Verification: the same list for both, distinct proofs repeated to `verifications`.
const list = Array.from({ length: verifications }, (_, i) => proofs[i % proofs.length]!);
const stockRates: number[] = [];
const oursRates: number[] = [];
const verifier = createBatchVerifier();
await verifier.start();
try {
  await verifier.verify(list.slice(0, 8)); // warm-up: workers load their curve
  for (let r = 0; r < runs; r++) {
    progress(`verify run ${r + 1}/${runs}`);
    let t0 = performance.now();
    for (const p of list) if (!(await verifyProof(p))) throw new Error("Semaphore rejected a valid proof");
    stockRates.push(list.length / ((performance.now() - t0) / 1000));
    t0 = performance.now();
    const verdicts = await verifier.verify(list);
    oursRates.push(list.length / ((performance.now() - t0) / 1000));
    if (!verdicts.every(Boolean)) throw new Error("the batch verifier rejected a valid proof");
  }
} finally {
  await verifier.stop();
}
const ours = median(oursRates);
const stock = median(stockRates);
print({
  name: "avatar.verify_per_s",
  value: Math.round(ours),
  unit: "proofs/s",
  n: verifications,
  runs,
  threads: os.availableParallelism(),
});
print({ name: "avatar.semaphore_verify_per_s", value: Math.round(stock), unit: "proofs/s", n: verifications, runs, threads: 1 });
print({ name: "avatar.verify_speedup", value: Number((ours / stock).toFixed(2)), unit: "x", n: verifications, runs, target: 4 });

// Registration gas: one open registration, one registrar batch of 100.
{
  const chain = await connectInProcessChain();
  try {
    const [deployer, registrar, member] = chain.accounts as [NonNullable<(typeof chain.accounts)[0]>, ...typeof chain.accounts];
    const c = await deployMosaic(deployer);
    const open = await createAvatarGroup(c, { name: "open", policy: "open" });
    const first = await (await c.avatarGroups.connect(member!).register(open, identities[0]!.commitment, "0x")).wait();
    const reg = await createAvatarGroup(c, { name: "reg", policy: "registrar", registrar: await registrar!.getAddress() });
    const batch = Array.from({ length: 100 }, (_, i) => 10n ** 30n + BigInt(i));
    const many = await (await c.avatarGroups.connect(registrar!).registerBatch(reg, batch)).wait();
    print({ name: "avatar.register_gas", value: Number(first?.gasUsed), unit: "gas", n: 1, policy: "open" });
    print({
      name: "avatar.register_batch_gas",
      value: Number(many?.gasUsed),
      unit: "gas",
      n: 100,
      per_member: Math.round(Number(many?.gasUsed) / 100),
    });
  } finally {
    await chain.close();
  }
}

// Group sync: rebuild from events, no cache.
const sync = await measureGroupSync100k({ members, runs });
print({
  name: "avatar.group_sync_100k_s",
  value: Number(sync.rebuild_s_median.toFixed(2)),
  unit: "s",
  n: sync.members,
  runs: sync.runs.map((s) => Number(s.toFixed(2))),
  events: sync.events,
  incremental_s: Number(sync.incremental_s.toFixed(2)),
  incremental_members: sync.incremental_members,
  setup_s: Number(sync.setup_s.toFixed(1)),
  target: 30,
});

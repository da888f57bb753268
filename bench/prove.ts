// Proof and verification time of one submission, against Semaphore's own verifyProof (the incumbent).
import { randomBytes } from "node:crypto";
import os from "node:os";
import { deriveAvatarIdentity, Group, proveSubmission, verifySubmission } from "@mosaic/avatar";
import { verifyProof } from "@semaphore-protocol/proof";

const runs = Number(process.env.BENCH_RUNS ?? 7);
const job = { chainId: 31337n, registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3", jobId: 1n };
const identities = Array.from({ length: 16 }, () => deriveAvatarIdentity(randomBytes(32)));
const group = new Group(identities.map((i) => i.commitment));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version };

await proveSubmission(identities[0]!, group, job, [1, 2, 3]); // warm-up: loads the wasm and zkey
const proveMs: number[] = [];
const subs = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  subs.push(await proveSubmission(identities[i % identities.length]!, group, { ...job, jobId: BigInt(i + 2) }, [i, 2, 3]));
  proveMs.push(performance.now() - t0);
}
console.log(JSON.stringify({ name: "avatar.prove_ms", value: median(proveMs), unit: "ms", n: runs, ...machine }));

const ours: number[] = [];
const stock: number[] = [];
for (const [i, sub] of subs.entries()) {
  let t0 = performance.now();
  await verifySubmission(sub, {
    job: { ...job, jobId: BigInt(i + 2) },
    groupRoot: group.root,
    bounds: { length: 3, min: -1000, max: 1000 },
    seenNullifiers: new Set(),
  });
  ours.push(performance.now() - t0);
  t0 = performance.now();
  await verifyProof(sub.proof);
  stock.push(performance.now() - t0);
}
console.log(
  JSON.stringify({
    name: "avatar.verify_submission_ms",
    value: median(ours),
    unit: "ms",
    n: runs,
    baseline: median(stock),
    ratio: median(ours) / median(stock),
    ...machine,
  }),
);

// Thread storage and replication: append rate, opening a 100k-record thread, replicating 10k records between devices.
// BENCH_RECORDS (default 100000) sizes the open case, BENCH_RUNS (default 3) the repeats; progress goes to stderr.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as dagCbor from "@ipld/dag-cbor";
import { createIpfsNode, dialPeer, nodeAddresses } from "@mosaic/protocol";
import { deriveThreadSecrets, openDiskStores, Thread, ThreadReplicator } from "@mosaic/threads";
import { Key } from "interface-datastore";

const runs = Number(process.env.BENCH_RUNS ?? 3);
const openRecords = Number(process.env.BENCH_RECORDS ?? 100_000);
const appendRecords = 10_000;
const replicateRecords = 10_000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version };
const root = await mkdtemp(path.join(os.tmpdir(), "mosaic-bench-threads-"));
const seed = randomBytes(32);
const secrets = (device: string) => deriveThreadSecrets(seed, "vault", device);
const progress = (msg: string) => process.stderr.write(`threads: ${msg}\n`);
const location = (i: number) => ({
  _id: `loc${i}`,
  t: 1_700_000_000 + i * 60,
  lat: 51.5 + (i % 1000) / 1e4,
  lon: -0.12 - (i % 777) / 1e4,
  day: Math.floor(i / 1440),
});

/** Appends `n` location documents to a new thread in `dir`; returns records per second. */
async function fill(dir: string, n: number, device = "bench"): Promise<number> {
  const stores = await openDiskStores(dir);
  const thread = await Thread.open(stores, { secrets: secrets(device), collections: { locations: { indexes: ["day"] } } });
  const locations = thread.collection("locations");
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await locations.create(location(i));
    if (i % 20_000 === 19_999) progress(`appended ${i + 1}/${n}`);
  }
  const rate = n / ((performance.now() - t0) / 1000);
  await thread.close();
  await stores.close();
  return rate;
}

/** The incumbent floor: the same documents put into the same LevelDB as plain dag-cbor, unsealed and unsigned. */
async function plainPuts(dir: string, n: number): Promise<number> {
  const stores = await openDiskStores(dir);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await stores.datastore.put(new Key(`/plain/${i}`), dagCbor.encode(location(i)));
  const rate = n / ((performance.now() - t0) / 1000);
  await stores.close();
  return rate;
}

// 1. Append: encrypted, signed, stored records per second on one core (the loop is sequential).
const ours: number[] = [];
const plain: number[] = [];
for (let r = 0; r < runs; r++) {
  ours.push(await fill(path.join(root, `append-${r}`), appendRecords));
  plain.push(await plainPuts(path.join(root, `plain-${r}`), appendRecords));
  progress(`append run ${r + 1}/${runs}: ${ours.at(-1)?.toFixed(0)} records/s (plain LevelDB ${plain.at(-1)?.toFixed(0)})`);
}
console.log(
  JSON.stringify({
    name: "threads.append_per_s",
    value: median(ours),
    unit: "records/s",
    n: appendRecords,
    runs,
    baseline: median(plain),
    baseline_name: "plain dag-cbor LevelDB put, no encryption or signature",
    ratio: median(ours) / median(plain),
    ...machine,
  }),
);

// 2. Open a thread of 100k records, in a fresh process each time, from its snapshot; baseline: full replay.
const big = path.join(root, "big");
progress(`building a thread of ${openRecords} records`);
await fill(big, openRecords);
const openChild = (mode = "") => {
  const out = execFileSync(
    process.execPath,
    ["--import", "tsx", path.join(import.meta.dirname, "lib", "open-thread.ts"), big, seed.toString("hex"), mode],
    {
      encoding: "utf8",
    },
  );
  return JSON.parse(out) as { seconds: number; docs: number; records: number; peak_rss_mb: number; rss_before_mb: number };
};
const opens = Array.from({ length: runs }, (_, r) => {
  const o = openChild();
  if (o.records !== openRecords || o.docs !== openRecords)
    throw new Error(`opened ${o.records} records / ${o.docs} docs, expected ${openRecords}`);
  progress(`open run ${r + 1}/${runs}: ${o.seconds.toFixed(2)} s, peak RSS ${o.peak_rss_mb.toFixed(0)} MB`);
  return o;
});
progress("baseline: open with a full replay");
const replay = openChild("replay");
openChild(); // the replay wrote a fresh snapshot; leave the thread as it was
const openSeconds = median(opens.map((o) => o.seconds));
console.log(
  JSON.stringify({
    name: "threads.open_100k_s",
    value: openSeconds,
    unit: "s",
    n: openRecords,
    runs,
    baseline: replay.seconds,
    baseline_name: "same open replaying every record (no snapshot)",
    ratio: openSeconds / replay.seconds,
    ...machine,
  }),
);
console.log(
  JSON.stringify({
    name: "threads.open_100k_peak_rss_mb",
    value: median(opens.map((o) => o.peak_rss_mb)),
    unit: "MB",
    n: openRecords,
    runs,
    rss_before_open_mb: median(opens.map((o) => o.rss_before_mb)),
    replay_peak_rss_mb: replay.peak_rss_mb,
    ...machine,
  }),
);

// 3. Replicate 10k records from one device to another over libp2p on loopback: dial to last record verified and applied.
const times: number[] = [];
for (let r = 0; r < runs; r++) {
  const fromDir = path.join(root, `from-${r}`);
  await fill(fromDir, replicateRecords, "laptop");
  const a = await openDiskStores(fromDir);
  const b = await openDiskStores(path.join(root, `to-${r}`));
  const laptop = await Thread.open(a, { secrets: secrets("laptop") });
  const phone = await Thread.open(b, { secrets: secrets("phone") });
  const nodeA = await createIpfsNode({ blockstore: a.blockstore });
  const nodeB = await createIpfsNode({ blockstore: b.blockstore });
  const repA = new ThreadReplicator({ libp2p: nodeA.libp2p });
  const repB = new ThreadReplicator({ libp2p: nodeB.libp2p });
  await repA.start();
  await repB.start();
  repA.add(laptop.log);
  repB.add(phone.log);
  const t0 = performance.now();
  await dialPeer(nodeB, nodeAddresses(nodeA)[0] as string);
  await repB.pull(nodeA.libp2p.peerId, phone.log.id);
  const seconds = (performance.now() - t0) / 1000;
  if (phone.collection("locations").size !== replicateRecords)
    throw new Error(`replicated ${phone.collection("locations").size} documents`);
  times.push(seconds);
  progress(`replicate run ${r + 1}/${runs}: ${seconds.toFixed(2)} s`);
  await repA.stop();
  await repB.stop();
  await nodeA.stop();
  await nodeB.stop();
  await a.close();
  await b.close();
}
console.log(JSON.stringify({ name: "threads.replicate_10k_s", value: median(times), unit: "s", n: replicateRecords, runs, ...machine }));
await rm(root, { recursive: true, force: true });

import { rm } from "node:fs/promises";
import { deriveThreadSecrets, openDiskStores, Thread } from "@mosaic/threads";
const dir = "/tmp/smoke-thread";
await rm(dir, { recursive: true, force: true });
const seed = new Uint8Array(32).fill(7);
const secrets = deriveThreadSecrets(seed, "vault", "laptop");
let stores = await openDiskStores(dir);
let t = await Thread.open(stores, { secrets, collections: { loc: { indexes: ["day"] } } });
const N = 10000;
let t0 = performance.now();
const c = t.collection<{ _id: string; day: number; lat: number }>("loc");
for (let i = 0; i < N; i++) await c.create({ day: i % 30, lat: 51 + i / 1e5 });
console.log("append/s", N / ((performance.now() - t0) / 1000));
await t.close();
await stores.close();
stores = await openDiskStores(dir);
t0 = performance.now();
t = await Thread.open(stores, { secrets, collections: { loc: { indexes: ["day"] } } });
console.log(
  "open s",
  (performance.now() - t0) / 1000,
  t.status().records,
  t.collection("loc").size,
  t.collection("loc").find({ where: { day: 3 } }).length,
);
t0 = performance.now();
console.log("verify", await t.log.verify(), (performance.now() - t0) / 1000);
await stores.close();

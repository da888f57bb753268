// Child of bench/threads.ts: opens a thread in a fresh process and prints the time and the peak memory it took.
import { Key } from "interface-datastore";
import { deriveThreadSecrets, openDiskStores, Thread } from "@mosaic/threads";

const [dir, seedHex, mode] = process.argv.slice(2);
if (dir === undefined || seedHex === undefined) throw new Error("usage: open-thread <dir> <seed-hex> [replay]");
const secrets = deriveThreadSecrets(Buffer.from(seedHex, "hex"), "vault", "bench");
const rssBefore = process.memoryUsage().rss;
let stores = await openDiskStores(dir);
if (mode === "replay") {
  // The baseline: the same open with no snapshot, replaying every record.
  const probe = await Thread.open(stores, { secrets, snapshotEvery: Number.MAX_SAFE_INTEGER });
  await stores.datastore.delete(new Key(`/threads/${probe.id}/snapshot`));
  await stores.close();
  stores = await openDiskStores(dir);
}
const t0 = performance.now();
const thread = await Thread.open(stores, { secrets, collections: { locations: { indexes: ["day"] } } });
const seconds = (performance.now() - t0) / 1000;
const docs = thread.collection("locations").size;
process.stdout.write(
  `${JSON.stringify({ seconds, docs, records: thread.log.size, peak_rss_mb: process.resourceUsage().maxRSS / 1024, rss_before_mb: rssBefore / 2 ** 20 })}\n`,
);
await stores.close();

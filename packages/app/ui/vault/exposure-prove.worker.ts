// The key upload's Semaphore proof off the page's thread (scope uploadScope, message uploadMessage: not a job's, which
// prove.worker.ts makes). The depth-20 artifacts come from the app's own server and are checked against the pinned
// SHA-256 before use, as prove.worker.ts does.
import { Group, Identity, proveMembership, verifyArtifactBytes } from "@mosaic/avatar";
import { serveWorker } from "../worker-rpc.ts";

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: the app's server answered ${response.status}; restart 'mosaic app'`);
  return new Uint8Array(await response.arrayBuffer());
}

let artifacts: Promise<{ wasm: Uint8Array; zkey: Uint8Array }> | undefined;

/** Fetched and checked once, kept for a second upload (another feed); a failed load is tried again. */
function loadArtifacts(base: string): Promise<{ wasm: Uint8Array; zkey: Uint8Array }> {
  artifacts ??= (async () => {
    const [wasm, zkey] = await Promise.all([fetchBytes(`${base}/semaphore-20.wasm`), fetchBytes(`${base}/semaphore-20.zkey`)]);
    await verifyArtifactBytes({ wasm, zkey });
    return { wasm, zkey };
  })();
  artifacts.catch(() => {
    artifacts = undefined;
  });
  return artifacts;
}

const DECIMAL = /^(0|[1-9][0-9]{0,77})$/;
const decimal = (v: unknown, field: string): bigint => {
  if (typeof v !== "string" || !DECIMAL.test(v)) throw new TypeError(`upload proof request ${field}: expected a decimal string`);
  return BigInt(v);
};

serveWorker(async (message, progress) => {
  if (message.op !== "prove-upload") throw new TypeError(`upload prove worker: unknown op ${JSON.stringify(message.op)}`);
  if (typeof message.identity !== "string") throw new TypeError("upload proof request identity: expected the private key, base64");
  if (!Array.isArray(message.members)) throw new TypeError("upload proof request members: expected decimal strings");
  progress(0.05);
  const { wasm, zkey } = await loadArtifacts(message.artifactsBase as string);
  progress(0.3);
  const identity = Identity.import(message.identity);
  const group = new Group(message.members.map((m, i) => decimal(m, `members[${i}]`)));
  // snarkjs reads artifacts given as bytes from memory; the type says string (a path or URL).
  const proof = await proveMembership(identity, group, decimal(message.message, "message"), decimal(message.scope, "scope"), {
    wasm,
    zkey,
  } as unknown as { wasm: string; zkey: string });
  progress(1);
  return proof;
});

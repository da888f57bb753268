// Semaphore proving off the page's thread: a job's submission ("prove") or an exposure key upload's membership proof
// ("prove-upload": scope uploadScope, message uploadMessage). The depth-20 artifacts come from the app's own server,
// are checked against the pinned SHA-256 before first use, and are kept in memory for the next proof.
import { Group, Identity, proveMembership, proveRequest, verifyArtifactBytes } from "@mosaic/avatar";
import { serveWorker } from "../worker-rpc.ts";

let artifacts: Promise<{ wasm: Uint8Array; zkey: Uint8Array }> | undefined;

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: the app's server answered ${response.status}; restart 'mosaic app'`);
  return new Uint8Array(await response.arrayBuffer());
}

function loadArtifacts(base: string): Promise<{ wasm: Uint8Array; zkey: Uint8Array }> {
  artifacts ??= (async () => {
    const [wasm, zkey] = await Promise.all([fetchBytes(`${base}/semaphore-20.wasm`), fetchBytes(`${base}/semaphore-20.zkey`)]);
    await verifyArtifactBytes({ wasm, zkey });
    return { wasm, zkey };
  })();
  // A failed load is tried again next time.
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
  if (message.op !== "prove" && message.op !== "prove-upload")
    throw new TypeError(`prove worker: unknown op ${JSON.stringify(message.op)}`);
  progress(0.05);
  // snarkjs reads artifacts given as bytes from memory; the type says string (a path or URL).
  const bytes = (await loadArtifacts(message.artifactsBase as string)) as unknown as { wasm: string; zkey: string };
  progress(0.3);
  if (message.op === "prove") {
    const submission = await proveRequest(message.request as Parameters<typeof proveRequest>[0], bytes);
    progress(1);
    return submission;
  }
  if (typeof message.identity !== "string") throw new TypeError("upload proof request identity: expected the private key, base64");
  if (!Array.isArray(message.members)) throw new TypeError("upload proof request members: expected decimal strings");
  const group = new Group(message.members.map((m, i) => decimal(m, `members[${i}]`)));
  const proof = await proveMembership(
    Identity.import(message.identity),
    group,
    decimal(message.message, "message"),
    decimal(message.scope, "scope"),
    bytes,
  );
  progress(1);
  return proof;
});

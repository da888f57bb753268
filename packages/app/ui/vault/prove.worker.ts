// Semaphore proving off the page's thread. The depth-20 artifacts come from the app's own server, are checked
// against the pinned SHA-256 before first use, and are kept in memory for the next proof.
import { proveRequest, verifyArtifactBytes } from "@mosaic/avatar";
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

serveWorker(async (message, progress) => {
  if (message.op !== "prove") throw new TypeError(`prove worker: unknown op ${JSON.stringify(message.op)}`);
  progress(0.05);
  const bytes = await loadArtifacts(message.artifactsBase as string);
  progress(0.3);
  // snarkjs reads artifacts given as bytes from memory; the type says string (a path or URL).
  const submission = await proveRequest(
    message.request as Parameters<typeof proveRequest>[0],
    bytes as unknown as { wasm: string; zkey: string },
  );
  progress(1);
  return submission;
});

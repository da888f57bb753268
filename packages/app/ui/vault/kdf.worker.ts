// The passphrase KDF off the page's thread: scrypt (N = 2^17, 128 MiB, about a second) seals or opens the vault's
// root seed, so the page stays responsive and can draw the progress bar.
import { type ScryptParams, sealSeed, unsealSeed } from "@mosaic/threads";
import { serveWorker } from "../worker-rpc.ts";

serveWorker(async (message, progress) => {
  if (message.op === "seal")
    return sealSeed(message.seed as Uint8Array, message.passphrase as string, {
      params: message.params as ScryptParams | undefined,
      onProgress: progress,
    });
  if (message.op === "unseal") return unsealSeed(message.sealed as string, message.passphrase as string, { onProgress: progress });
  throw new TypeError(`kdf worker: unknown op ${JSON.stringify(message.op)}`);
});

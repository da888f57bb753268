// A node's libp2p identity on disk: an Ed25519 private key in protobuf form, so its peer id survives restarts.
import { readFile } from "node:fs/promises";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { namedError } from "./errors.js";
import { FileExistsError, writeFileAtomic } from "./files.node.js";

/** The peer key file exists but is not a libp2p private key; it is never replaced silently. */
export class PeerKeyCorruptError extends namedError("PeerKeyCorruptError") {}

/** The largest peer key file read (an Ed25519 key in protobuf is 68 bytes). */
const MAX_PEER_KEY_BYTES = 8 * 1024;

/**
 * The libp2p private key kept in `file`: read if it exists, else a new Ed25519 key written there (mode 0600,
 * create-only, so two processes starting at once end up with the same key). A file that does not hold a key is
 * PeerKeyCorruptError, naming the file and what to do; it is left as it is.
 */
export async function loadOrCreatePeerKey(file: string): Promise<PrivateKey> {
  for (let attempt = 0; attempt < 2; attempt++) {
    let bytes: Buffer | undefined;
    try {
      bytes = await readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    if (bytes !== undefined) {
      if (bytes.length === 0 || bytes.length > MAX_PEER_KEY_BYTES)
        throw new PeerKeyCorruptError(`${file}: ${bytes.length} bytes is not a libp2p private key; ${REMEDY}`);
      try {
        return privateKeyFromProtobuf(new Uint8Array(bytes));
      } catch (err) {
        throw new PeerKeyCorruptError(`${file}: not a libp2p private key (${(err as Error).message}); ${REMEDY}`);
      }
    }
    const key = await generateKeyPair("Ed25519");
    try {
      await writeFileAtomic(file, privateKeyToProtobuf(key), { mode: 0o600, createOnly: true });
      return key;
    } catch (err) {
      // Another process wrote one first: read theirs.
      if (!(err instanceof FileExistsError)) throw err;
    }
  }
  throw new PeerKeyCorruptError(`${file}: could not be read or created; check the directory`);
}

const REMEDY =
  "restore it from a backup to keep this node's peer id, or move it away to start with a new peer id (then announce the new one)";

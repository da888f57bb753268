// Thread IDs as go-threads defines them: varint version ‖ varint variant ‖ 32 random bytes, shown in multibase base32.
import { randomBytes } from "@noble/ciphers/webcrypto";
import { base32 } from "multiformats/bases/base32";
import { varint } from "multiformats";

/** The only thread ID version there is. */
export const THREAD_ID_V1 = 0x01;

/** Thread variants: raw logs, or logs whose membership an access-control log governs (go-threads codes). */
export const ThreadVariant = { Raw: 0x55, AccessControlled: 0x70 } as const;
export type ThreadVariant = (typeof ThreadVariant)[keyof typeof ThreadVariant];

const RANDOM_BYTES = 32;

/** A thread's identity; compare with `equals`, show with `toString`. */
export class ThreadId {
  private constructor(
    readonly bytes: Uint8Array,
    readonly variant: ThreadVariant,
  ) {}

  /** A new ID from `random` (32 bytes; fresh randomness by default). */
  static create(variant: ThreadVariant = ThreadVariant.Raw, random: Uint8Array = randomBytes(RANDOM_BYTES)): ThreadId {
    if (random.length !== RANDOM_BYTES) throw new RangeError(`random: expected ${RANDOM_BYTES} bytes, got ${random.length}`);
    const head = [...varint.encodeTo(THREAD_ID_V1, new Uint8Array(varint.encodingLength(THREAD_ID_V1)))];
    const v = [...varint.encodeTo(variant, new Uint8Array(varint.encodingLength(variant)))];
    const bytes = new Uint8Array([...head, ...v, ...random]);
    return new ThreadId(bytes, variant);
  }

  /** Reads the binary form; a RangeError names what is wrong. */
  static fromBytes(bytes: Uint8Array): ThreadId {
    const [version, n1] = varint.decode(bytes);
    if (version !== THREAD_ID_V1) throw new RangeError(`thread id: unknown version ${version}`);
    const [variant, n2] = varint.decode(bytes, n1);
    if (variant !== ThreadVariant.Raw && variant !== ThreadVariant.AccessControlled) {
      throw new RangeError(`thread id: unknown variant 0x${variant.toString(16)}`);
    }
    if (bytes.length - n1 - n2 !== RANDOM_BYTES) {
      throw new RangeError(`thread id: expected ${RANDOM_BYTES} random bytes, got ${bytes.length - n1 - n2}`);
    }
    return new ThreadId(Uint8Array.from(bytes), variant);
  }

  /** Parses the multibase string form (base32, leading `b`). */
  static parse(text: string): ThreadId {
    let bytes: Uint8Array;
    try {
      bytes = base32.decode(text);
    } catch {
      throw new RangeError(`thread id: expected a multibase base32 string starting with "b", got ${JSON.stringify(text.slice(0, 80))}`);
    }
    return ThreadId.fromBytes(bytes);
  }

  toString(): string {
    return base32.encode(this.bytes);
  }

  equals(other: ThreadId): boolean {
    return this.toString() === other.toString();
  }
}

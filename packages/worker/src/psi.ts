// A staked node's private hotspot check service: answers PSI_PROTOCOL (/mosaic/psi/1.0.0) for the hotspot sets whose
// VOPRF keys its health authority handed it. One request frame (a vault's blinded items), one answer frame (the
// evaluations and their proof, or a named refusal), then the stream closes. The node learns that a query came and
// how many items it held (vaults pad to a fixed size), never which places or hours: it counts, it does not log peers.
import {
  answerHotspotQuery,
  encodePsiResponse,
  decodePsiRequest,
  MAX_PSI_QUERY,
  MAX_PSI_REQUEST_BYTES,
  PSI_PROTOCOL,
  PsiQueryTooLargeError,
  psiErrorReply,
  psiPublicKey,
  UnknownHotspotSetError,
} from "@mosaic/exposure";
import type { Libp2p } from "@libp2p/interface";
import { createLogger, handle, type IpfsNode, type Logger, parseCid } from "@mosaic/protocol";

export { PSI_PROTOCOL };

/** The VOPRF key pair of one hotspot set. */
export interface HotspotSetKeys {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

export interface PsiServiceComponents {
  libp2p: Pick<Libp2p, "handle" | "unhandle">;
  /** @default createLogger("psi") */
  log?: Logger;
}

export interface PsiServiceInit {
  /** The hotspot sets served, by the CID of their signed document, with their keys. */
  sets: Map<string, HotspotSetKeys>;
  /**
   * Blinded items one query may carry; more is a PsiQueryTooLargeError refusal, before any is evaluated.
   * @default MAX_PSI_QUERY (1024)
   */
  maxQueryItems?: number;
  /**
   * How long one exchange may take, reading the request and writing the answer included.
   * @default 10000
   */
  timeoutMs?: number;
  /**
   * PSI streams open at once on one connection.
   * @default 4
   */
  maxInboundStreams?: number;
}

/** What the service counts: all it learns. */
export interface PsiServiceStats {
  /** Queries answered. */
  queries: number;
  /** Blinded items evaluated, over all answered queries. */
  items: number;
  /** Queries refused, by the name of the error. */
  refused: Record<string, number>;
}

export interface PsiServiceEvents {
  "query:answered": { set: string; items: number };
  "query:refused": { reason: string };
}

export function createPsiService(components: PsiServiceComponents, init: PsiServiceInit): PsiService {
  return new PsiService(components, init);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export class PsiService extends EventTarget {
  readonly #c: PsiServiceComponents;
  readonly #log: Logger;
  readonly #sets = new Map<string, HotspotSetKeys>();
  readonly #maxItems: number;
  readonly #timeoutMs: number;
  readonly #maxInboundStreams: number;
  readonly #stats: PsiServiceStats = { queries: 0, items: 0, refused: {} };
  #unhandle?: () => Promise<void>;

  constructor(components: PsiServiceComponents, init: PsiServiceInit) {
    super();
    const maxItems = init.maxQueryItems ?? MAX_PSI_QUERY;
    if (!Number.isInteger(maxItems) || maxItems < 1 || maxItems > MAX_PSI_QUERY)
      throw new RangeError(`init.maxQueryItems: expected an integer in 1..${MAX_PSI_QUERY}, got ${maxItems}`);
    const timeoutMs = init.timeoutMs ?? 10_000;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 100)
      throw new RangeError(`init.timeoutMs: expected an integer >= 100, got ${timeoutMs}`);
    const streams = init.maxInboundStreams ?? 4;
    if (!Number.isInteger(streams) || streams < 1) throw new RangeError(`init.maxInboundStreams: expected an integer >= 1, got ${streams}`);
    if (!(init.sets instanceof Map)) throw new TypeError("init.sets: expected a Map of hotspot set CID to its keys");
    for (const [cid, keys] of init.sets) this.addSet(cid, keys);
    this.#c = components;
    this.#log = components.log ?? createLogger("psi");
    this.#maxItems = maxItems;
    this.#timeoutMs = timeoutMs;
    this.#maxInboundStreams = streams;
  }

  /**
   * Serves one more hotspot set (an authority published a new one). TypeError for a CID that does not parse or keys
   * that do not belong together (the public key must be the secret key's, or every vault's proof check would fail).
   */
  addSet(cid: string, keys: HotspotSetKeys): void {
    try {
      parseCid(cid);
    } catch {
      throw new TypeError(`init.sets: ${JSON.stringify(String(cid).slice(0, 80))} is not a CID`);
    }
    let derived: Uint8Array;
    try {
      derived = psiPublicKey(keys?.secretKey);
    } catch (err) {
      throw new TypeError(`init.sets[${cid}].secretKey: ${(err as Error).message}`);
    }
    if (!(keys.publicKey instanceof Uint8Array) || !sameBytes(derived, keys.publicKey))
      throw new TypeError(`init.sets[${cid}].publicKey: not the secret key's public key`);
    this.#sets.set(cid, { secretKey: Uint8Array.from(keys.secretKey), publicKey: Uint8Array.from(keys.publicKey) });
  }

  /** Stops serving a set (it expired). */
  removeSet(cid: string): boolean {
    return this.#sets.delete(cid);
  }

  /** The CIDs of the sets served. */
  get sets(): string[] {
    return [...this.#sets.keys()];
  }

  /** A copy of the counters. */
  stats(): PsiServiceStats {
    return { queries: this.#stats.queries, items: this.#stats.items, refused: { ...this.#stats.refused } };
  }

  /** Listens for one kind of event; returns the function that stops listening. */
  on<K extends keyof PsiServiceEvents>(type: K, listener: (detail: PsiServiceEvents[K]) => void): () => void {
    const l = (evt: Event) => listener((evt as CustomEvent<PsiServiceEvents[K]>).detail);
    this.addEventListener(type, l);
    return () => this.removeEventListener(type, l);
  }

  async start(): Promise<void> {
    if (this.#unhandle !== undefined) return;
    const tooLarge = new PsiQueryTooLargeError(
      `PSI request over ${MAX_PSI_REQUEST_BYTES} bytes; at most ${this.#maxItems} items per query, split the query`,
    );
    // handle() reads nothing of the node but its libp2p.
    const node = { libp2p: this.#c.libp2p } as unknown as IpfsNode;
    this.#unhandle = await handle(node, PSI_PROTOCOL, async (bytes) => this.answer(bytes), {
      maxBytes: MAX_PSI_REQUEST_BYTES,
      timeoutMs: this.#timeoutMs,
      maxInboundStreams: this.#maxInboundStreams,
      tooLargeReply: encodePsiResponse(psiErrorReply(tooLarge)),
    });
    this.#log("info", "psi:started", { sets: this.#sets.size, maxQueryItems: this.#maxItems });
  }

  async stop(): Promise<void> {
    const unhandle = this.#unhandle;
    this.#unhandle = undefined;
    await unhandle?.().catch(() => undefined);
  }

  /**
   * Answers one request frame with one response frame: the evaluations and proof, or a named refusal
   * (PsiQueryTooLargeError, PsiElementError, MalformedExposureDocumentError, UnknownHotspotSetError). Never throws.
   */
  answer(bytes: Uint8Array): Uint8Array {
    try {
      const request = decodePsiRequest(bytes, { maxItems: this.#maxItems });
      const keys = this.#sets.get(request.set);
      if (keys === undefined)
        throw new UnknownHotspotSetError(`hotspot set ${request.set.slice(0, 80)} is not served here; ask another node`);
      const response = answerHotspotQuery(keys.secretKey, keys.publicKey, request, { maxItems: this.#maxItems });
      this.#stats.queries++;
      this.#stats.items += request.blinded.length;
      this.dispatchEvent(new CustomEvent("query:answered", { detail: { set: request.set, items: request.blinded.length } }));
      return encodePsiResponse(response);
    } catch (err) {
      const reason = (err as Error)?.name ?? "Error";
      this.#stats.refused[reason] = (this.#stats.refused[reason] ?? 0) + 1;
      this.#log("info", "psi:refused", { reason, message: (err as Error)?.message });
      this.dispatchEvent(new CustomEvent("query:refused", { detail: { reason } }));
      return encodePsiResponse(psiErrorReply(err));
    }
  }
}

// The vault's side of the private hotspot check: its visits (place cell, hour) from the location history, blinded,
// sent to a node serving the authority's hotspot set over /mosaic/psi/1.0.0, the node's proof checked against the
// set's published key, and the matches found on the device. Queries are padded with random items to a fixed size,
// so the node learns neither the visits nor how many there are: only that a query came.
import {
  blindHotspotQuery,
  checkHotspotSet,
  decodeHotspotSet,
  decodePsiResponse,
  encodePsiRequest,
  finishHotspotQuery,
  type HotspotSet,
  hotspotItem,
  hourStartOf,
  MAX_DOCUMENT_BYTES,
  MAX_PSI_QUERY,
  MAX_PSI_RESPONSE_BYTES,
  PSI_PROTOCOL,
  placeCell,
} from "@mosaic/exposure";
import { type CID, getBlock, type IpfsNode, parseCid, requestResponse } from "@mosaic/protocol";
import { NoHotspotServerError } from "./errors.js";

const HOUR_S = 3600;
const DAY_S = 86_400;

/** One hour spent in one ~100 m cell, and the hotspot item it is asked as. */
export interface HotspotVisit {
  cell: string;
  hourStart: number;
  item: Uint8Array;
}

export interface HotspotVisitOptions {
  /** Unix seconds: visits of the `days` before it count. */
  now: number;
  /**
   * Days of history looked at: what a hotspot set covers.
   * @default 14
   */
  days?: number;
  /**
   * Two fixes in one cell at most this far apart count as a stay: every hour between them is a visit too (a phone
   * that records a fix every 90 minutes in a café was there in the hour between).
   * @default 4 hours
   */
  maxStayGapS?: number;
}

/**
 * The visits of location-history points `{ t, lat, lon }` within the `days` before `now`: each point's (cell, hour),
 * and every hour of a stay between two fixes in the same cell; one per (cell, hour), by time then cell.
 */
export function hotspotVisits(points: Iterable<{ t: number; lat: number; lon: number }>, options: HotspotVisitOptions): HotspotVisit[] {
  const days = options.days ?? 14;
  if (!Number.isFinite(options.now)) throw new TypeError(`now: expected unix seconds, got ${String(options.now)}`);
  if (!Number.isInteger(days) || days < 1) throw new RangeError(`days: expected a whole number of days >= 1, got ${days}`);
  const gap = options.maxStayGapS ?? 4 * HOUR_S;
  const from = options.now - days * DAY_S;
  const fixes = [...points].filter((p) => p.t >= from && p.t <= options.now).sort((a, b) => a.t - b.t);
  const seen = new Map<string, { cell: string; hourStart: number }>();
  const add = (cell: string, hourStart: number) => {
    if (hourStart < hourStartOf(from)) return;
    seen.set(`${hourStart}|${cell}`, { cell, hourStart });
  };
  let previous: { t: number; cell: string } | undefined;
  for (const p of fixes) {
    const cell = placeCell(p.lat, p.lon);
    add(cell, hourStartOf(p.t));
    if (previous !== undefined && previous.cell === cell && p.t - previous.t <= gap)
      for (let h = hourStartOf(previous.t) + HOUR_S; h < hourStartOf(p.t); h += HOUR_S) add(cell, h);
    previous = { t: p.t, cell };
  }
  return [...seen.values()]
    .sort((a, b) => a.hourStart - b.hourStart || (a.cell < b.cell ? -1 : a.cell > b.cell ? 1 : 0))
    .map((v) => ({ ...v, item: hotspotItem(v.cell, v.hourStart) }));
}

/**
 * Fetches a hotspot set's signed document (from the blockstore, or over bitswap from connected peers) and opens it:
 * signed by `authority` (the feed's authority as ExposureFeeds names it: WrongSignerError, UnsignedDocumentError),
 * within MAX_DOCUMENT_BYTES.hotspots, its body checked (MalformedExposureDocumentError).
 */
export async function loadHotspotSet(
  components: { blocks: Pick<IpfsNode["blockstore"], "get"> },
  init: { cid: CID | string; authority: string; signal?: AbortSignal },
): Promise<HotspotSet> {
  const cid = typeof init.cid === "string" ? parseCid(init.cid) : init.cid;
  const bytes = await getBlock(components.blocks, cid, { maxBytes: MAX_DOCUMENT_BYTES.hotspots, signal: init.signal });
  return decodeHotspotSet(bytes, init.authority);
}

export interface HotspotCheckComponents {
  /** What dials the node: a libp2p node (a Helia node's `libp2p`). */
  libp2p: Pick<IpfsNode["libp2p"], "dialProtocol">;
}

export interface HotspotCheckInit {
  /** The hotspot set, as openDocument("hotspots", …) read it from its signed document (checked again here). */
  set: HotspotSet;
  /** The CID of the set's signed document: what the node serves it under. */
  setCid: string;
  /** The node to ask: a peer id it is connected to, or a multiaddr with /p2p/. */
  peer: Parameters<typeof requestResponse>[1];
  /** The vault's items (hotspotVisits' `item`s). */
  items: readonly Uint8Array[];
  /**
   * Each query is padded with random items up to a multiple of this, so the node cannot count the visits.
   * @default 128
   */
  padTo?: number;
  /**
   * Items in one query; more are split over several.
   * @default MAX_PSI_QUERY (1024)
   */
  queryItems?: number;
  /**
   * How long one query may take, dial included.
   * @default 20000
   */
  timeoutMs?: number;
  signal?: AbortSignal;
}

function randomItem(): Uint8Array {
  const bytes = new Uint8Array(32);
  crypto.getRandomValues(bytes);
  return bytes;
}

/**
 * Asks `peer` which of `items` are in the hotspot set, and resolves with those items (the same objects, in the
 * order given). The node's answer is believed only if its proof verifies against the set's public key: PsiProofError
 * otherwise; a refusal is PsiRefusedError (its `reason` names the node's error); stream failures are protocol's
 * StreamFailedError, StreamTimeoutError and FrameTooLargeError.
 */
export async function checkHotspots(components: HotspotCheckComponents, init: HotspotCheckInit): Promise<Uint8Array[]> {
  const set = checkHotspotSet(init.set);
  const padTo = init.padTo ?? 128;
  const queryItems = init.queryItems ?? MAX_PSI_QUERY;
  if (!Number.isInteger(queryItems) || queryItems < 1 || queryItems > MAX_PSI_QUERY)
    throw new RangeError(`queryItems: expected an integer in 1..${MAX_PSI_QUERY}, got ${queryItems}`);
  if (!Number.isInteger(padTo) || padTo < 1) throw new RangeError(`padTo: expected an integer >= 1, got ${padTo}`);
  for (const [i, item] of init.items.entries()) if (!(item instanceof Uint8Array)) throw new TypeError(`items[${i}]: expected bytes`);
  // requestResponse reads nothing of the node but its libp2p.
  const node = { libp2p: components.libp2p } as unknown as IpfsNode;
  const matched = new Set<number>();
  for (let start = 0; start < init.items.length; start += queryItems) {
    init.signal?.throwIfAborted();
    const real = init.items.slice(start, start + queryItems);
    const size = Math.min(Math.ceil(real.length / padTo) * padTo, queryItems);
    const padded = [...real, ...Array.from({ length: size - real.length }, randomItem)];
    // Shuffled, so the padding's place says nothing either (the node sees only blinded elements, but cheaply so).
    const order = padded.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = (crypto.getRandomValues(new Uint32Array(1))[0] as number) % (i + 1);
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    const { request, state } = blindHotspotQuery(
      order.map((i) => padded[i] as Uint8Array),
      init.setCid,
    );
    const answer = await requestResponse(node, init.peer, PSI_PROTOCOL, encodePsiRequest(request), {
      maxBytes: MAX_PSI_RESPONSE_BYTES,
      timeoutMs: init.timeoutMs ?? 20_000,
      signal: init.signal,
    });
    for (const k of finishHotspotQuery(state, decodePsiResponse(answer), set)) {
      const original = order[k] as number;
      if (original < real.length) matched.add(start + original);
    }
  }
  return [...matched].sort((a, b) => a - b).map((i) => init.items[i] as Uint8Array);
}

/** A node that may answer hotspot queries: one the user names, or a staked operator's record in the ReducerDirectory. */
export interface HotspotServer {
  /** Its multiaddrs (with /p2p/), tried in turn until one is reached. */
  addrs: string[];
  /** The operator that announced it, when found in the directory. */
  operator?: string;
}

/** Errors after which the next node is asked: a refusal, a bad or lying answer, or no answer at all. */
const TRY_NEXT = new Set([
  "PsiRefusedError",
  "PsiProofError",
  "PsiElementError",
  "MalformedExposureDocumentError",
  "ExposureDocumentTooLargeError",
  "StreamFailedError",
  "StreamTimeoutError",
  "FrameTooLargeError",
]);

const serverName = (s: HotspotServer, addr: string): string => (s.operator === undefined ? addr : `node of ${s.operator} (${addr})`);

/**
 * Asks `servers` in turn until one answers: `ask` is the hotspot check against one multiaddr. A node that does not
 * hold the set's key refuses (PsiRefusedError, UnknownHotspotSetError), one that evaluated with another key is caught
 * by the proof check (PsiProofError: not believed), one not reached is skipped: each is said through `say`, and the
 * next is asked. NoHotspotServerError, listing what each did, when none answered; other errors are thrown at once.
 */
export async function askHotspotServers<T>(
  servers: readonly HotspotServer[],
  ask: (addr: string) => Promise<T>,
  say: (line: string) => void = () => {},
): Promise<{ answer: T; server: HotspotServer; addr: string }> {
  const failures: string[] = [];
  for (const server of servers) {
    for (const addr of server.addrs) {
      const who = serverName(server, addr);
      try {
        return { answer: await ask(addr), server, addr };
      } catch (err) {
        const name = (err as Error)?.name;
        if (!TRY_NEXT.has(name)) throw err;
        // A refusal names the node's error (PsiRefusedError.reason).
        const refused = (err as { reason?: unknown }).reason;
        const reason = name === "PsiRefusedError" && typeof refused === "string" ? refused : name;
        failures.push(`${who}: ${reason}`);
        if (name === "PsiProofError")
          say(`  ${who} answered with another key than the set's (PsiProofError): not believed; asking the next`);
        else if (reason === "UnknownHotspotSetError") say(`  ${who} does not serve this hotspot set; asking the next`);
        else say(`  ${who}: ${reason}: ${(err as Error).message.slice(0, 200)}; asking the next`);
        // A node that answered (refused, or lied) is done with; one not reached may be reached at its next address.
        if (!name.startsWith("Stream") && name !== "FrameTooLargeError") break;
      }
    }
  }
  throw new NoHotspotServerError(
    servers.length === 0
      ? "no node to ask: name a node that answers hotspot checks (the CLI's --peer), or stake and run one"
      : `none of the ${servers.length} node(s) asked answered for the hotspot set (${failures.join("; ")}); name a node that serves it (the CLI's --peer)`,
  );
}

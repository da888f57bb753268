// One request, one response over a libp2p 3 stream: each a length-prefixed frame, both capped in size and time, so
// a peer that floods or never answers cannot hold a handler (or a caller) for longer than the timeout.
import type { Connection, PeerId, Stream } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import { multiaddr } from "@multiformats/multiaddr";
import { lpStream } from "@libp2p/utils";
import { namedError } from "./errors.js";
import type { IpfsNode } from "./ipfs.js";

/** A request or response frame is larger than the protocol allows; the stream is reset. */
export class FrameTooLargeError extends namedError("FrameTooLargeError") {}

/** The peer did not answer (or the handler did not finish) in time; the stream is reset. */
export class StreamTimeoutError extends namedError("StreamTimeoutError") {}

/** The stream failed (closed early, reset, protocol not supported); `cause` is libp2p's error. */
export class StreamFailedError extends namedError("StreamFailedError") {}

export interface RequestOptions {
  /** The largest response accepted, in bytes. */
  maxBytes: number;
  /** Abort the request (dial, write and read). */
  signal?: AbortSignal;
  /**
   * Give up after this long (dial included).
   * @default 10000
   */
  timeoutMs?: number;
}

export interface HandleOptions {
  /** The largest request accepted, in bytes. */
  maxBytes: number;
  /**
   * How long one exchange may take, reading the request and writing the answer included.
   * @default 30000
   */
  timeoutMs?: number;
  /**
   * Streams of this protocol open at once on one connection.
   * @default 32
   */
  maxInboundStreams?: number;
  /**
   * The answer to a request over `maxBytes` (a named error reply); without it such a stream is reset unanswered.
   * @default undefined
   */
  tooLargeReply?: Uint8Array;
}

/** Who asked, for a handler to account per peer or per connection. */
export interface RequestContext {
  peer: PeerId;
  connection: Connection;
  /** Aborted when the exchange times out or the stream closes. */
  signal: AbortSignal;
}

/** Answers one request; throwing resets the stream (the asker sees StreamFailedError). */
export type RequestHandler = (request: Uint8Array, context: RequestContext) => Promise<Uint8Array>;

function isTooLarge(err: unknown): boolean {
  return (err as Error)?.name === "InvalidDataLengthError" || (err as Error)?.name === "InvalidDataLengthLengthError";
}

/**
 * Opens a stream of `protocol` to `peer` (a peer id, or a multiaddr with /p2p/), writes `request` as one
 * length-prefixed frame and resolves with the one frame the peer answers.
 * Throws FrameTooLargeError, StreamTimeoutError or StreamFailedError.
 */
export async function requestResponse(
  node: IpfsNode,
  peer: PeerId | Multiaddr | string,
  protocol: string,
  request: Uint8Array,
  options: RequestOptions,
): Promise<Uint8Array> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
  const target = typeof peer === "string" ? multiaddr(peer) : peer;
  let stream: Stream | undefined;
  try {
    stream = await node.libp2p.dialProtocol(target, protocol, { signal });
    const lp = lpStream(stream, { maxDataLength: options.maxBytes });
    await lp.write(request, { signal });
    const answer = await lp.read({ signal });
    await stream.close({ signal }).catch(() => undefined);
    return answer.subarray();
  } catch (err) {
    stream?.abort(err as Error);
    options.signal?.throwIfAborted();
    if (timeout.aborted) throw new StreamTimeoutError(`${protocol}: no answer from ${target.toString()} in ${timeoutMs} ms`);
    if (isTooLarge(err)) throw new FrameTooLargeError(`${protocol}: ${target.toString()} answered more than ${options.maxBytes} bytes`);
    throw new StreamFailedError(`${protocol} to ${target.toString()}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Serves `protocol` on the node: each inbound stream carries one length-prefixed request (at most `maxBytes`,
 * else the stream is reset) and gets `handler`'s answer as one frame. Resolves with a function that stops serving.
 */
export async function handle(
  node: IpfsNode,
  protocol: string,
  handler: RequestHandler,
  options: HandleOptions,
): Promise<() => Promise<void>> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  await node.libp2p.handle(
    protocol,
    async (stream: Stream, connection: Connection) => {
      const signal = AbortSignal.timeout(timeoutMs);
      const onAbort = (): void => stream.abort(new StreamTimeoutError(`${protocol}: exchange took over ${timeoutMs} ms`));
      signal.addEventListener("abort", onAbort, { once: true });
      const lp = lpStream(stream, { maxDataLength: options.maxBytes });
      try {
        let request: Uint8Array;
        try {
          request = (await lp.read({ signal })).subarray();
        } catch (err) {
          if (!isTooLarge(err) || options.tooLargeReply === undefined) throw err;
          await lp.write(options.tooLargeReply, { signal });
          await stream.close({ signal });
          return;
        }
        const answer = await handler(request, { peer: connection.remotePeer, connection, signal });
        await lp.write(answer, { signal });
        await stream.close({ signal });
      } catch (err) {
        stream.abort(err as Error);
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    },
    { maxInboundStreams: options.maxInboundStreams ?? 32 },
  );
  return () => node.libp2p.unhandle(protocol);
}

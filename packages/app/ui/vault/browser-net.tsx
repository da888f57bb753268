// What the alerts and exposure tabs share on the network side: a dial-only browser IPFS node that fetches blocks over
// bitswap from the peers that hold them — the network's bootstrap node, the reducers on-chain and a peer the person
// types — and the hook and field a tab holds its network object and that typed peer with.
import { createBrowserIpfsNode, dialPeer, type IpfsNode, isWebSocketsAddress } from "@mosaic/protocol";
import { type RefObject, useCallback, useEffect, useRef, useState } from "react";
import { Field } from "../components.tsx";
import { useApp } from "../context.tsx";
import type { LoadedNetwork } from "../network.ts";
import { browserAddrs, reducersOnChain } from "../reducers.ts";

/** How long one peer is given to answer a dial. */
const DIAL_TIMEOUT_MS = 10_000;

export interface BrowserNode {
  /** The peers the node dials: bootstrap and reducers' WebSockets addresses, then the extra ones given. */
  peers(): Promise<string[]>;
  /** The extra peers given, WebSockets ones only. */
  typedPeers(): string[];
  /** The node, started on first use; an extra peer given since is dialled before it is returned. */
  node(): Promise<IpfsNode>;
  close(): Promise<void>;
}

/** A browser IPFS node that dials `network`'s bootstrap node, its reducers and `extraPeers()` (read on each use). */
export function browserNode(network: LoadedNetwork, extraPeers: () => readonly string[] = () => []): BrowserNode {
  const typedPeers = () => extraPeers().filter(isWebSocketsAddress);
  const peers = async (): Promise<string[]> => {
    const reducers = await reducersOnChain(network).catch(() => []);
    return [
      ...new Set([...browserAddrs(network.file.bootstrap), ...reducers.flatMap((r) => browserAddrs(r.addrs).slice(0, 1)), ...typedPeers()]),
    ];
  };
  const dialled = new Set<string>();
  const dial = (n: IpfsNode, addrs: readonly string[]) =>
    addrs
      .filter((a) => !dialled.has(a))
      .map(async (a) => {
        await dialPeer(n, a, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) });
        dialled.add(a);
      });
  let started: Promise<IpfsNode> | undefined;
  const node = async (): Promise<IpfsNode> => {
    started ??= (async () => {
      const n = await createBrowserIpfsNode();
      // Ready as soon as one peer answers; bitswap asks the others as they connect.
      await Promise.any(dial(n, await peers())).catch(() => undefined);
      return n;
    })();
    started.catch(() => {
      started = undefined;
    });
    const n = await started;
    // A peer typed after the node started is dialled before the next use.
    const typed = typedPeers();
    if (typed.some((a) => !dialled.has(a))) await Promise.any(dial(n, typed)).catch(() => undefined);
    return n;
  };
  return {
    peers,
    typedPeers,
    node,
    async close() {
      const n = await started?.catch(() => undefined);
      await n?.stop();
    },
  };
}

/**
 * A tab's network object, made by `open` on first use with the peer the person typed (kept in this browser under
 * `peerKeyPrefix`, per network: public, a node's address) and closed when the tab goes. `netError` is what `open`
 * threw (an older deployment); `ready` turns true once it did not.
 */
export function useBrowserNet<N extends { close(): Promise<void> }>(
  peerKeyPrefix: string,
  open: (network: LoadedNetwork, extraPeers: () => readonly string[]) => N,
): {
  extraPeer: string;
  setExtraPeer(value: string): void;
  getNet(): N;
  net: RefObject<N | undefined>;
  netError: unknown;
  ready: boolean;
} {
  const { network } = useApp();
  const peerKey = `${peerKeyPrefix}:${network.file.name}-${network.file.chainId}`;
  const [extraPeer, setPeerState] = useState(() => globalThis.localStorage?.getItem(peerKey) ?? "");
  const setExtraPeer = (v: string) => {
    setPeerState(v);
    globalThis.localStorage?.setItem(peerKey, v);
  };
  const extra = useRef<string[]>([]);
  extra.current = extraPeer.trim() === "" ? [] : [extraPeer.trim()];
  const net = useRef<N | undefined>(undefined);
  const [netError, setNetError] = useState<unknown>();
  const [ready, setReady] = useState(false);
  const getNet = useCallback((): N => {
    net.current ??= open(network, () => extra.current);
    return net.current;
  }, [network, open]);
  useEffect(() => {
    try {
      getNet();
      setReady(true);
    } catch (err) {
      setNetError(err);
    }
    return () => {
      void net.current?.close();
      net.current = undefined;
    };
  }, [getNet]);
  return { extraPeer, setExtraPeer, getNet, net, netError, ready };
}

/**
 * The typed peer's field, folded under `summary`: a WebSockets multiaddr of `node` (what serves the blocks); the
 * network's bootstrap node and reducers are asked all the same.
 */
export function TypedPeerField({
  summary,
  label,
  node,
  testId,
  value,
  onChange,
}: {
  summary: string;
  label: string;
  node: string;
  testId: string;
  value: string;
  onChange(value: string): void;
}) {
  return (
    <details>
      <summary>{summary}</summary>
      <Field
        label={label}
        hint={`a WebSockets multiaddr (…/ws/p2p/…) of ${node}; the network's bootstrap node and reducers are always asked`}
      >
        <input value={value} onChange={(e) => onChange(e.target.value)} spellCheck={false} data-testid={testId} />
      </Field>
    </details>
  );
}

// The private hotspot check: which of the places and hours in this vault's location history a health authority
// listed as outbreaks, learnt through an oblivious PRF (RFC 9497) that the authority's node evaluates on blinded
// items over /mosaic/psi/1.0.0, so the node learns only that a query came, never the visits.
import { askHotspotServers, checkHotspots, hotspotVisits, loadHotspotSet, type Vault } from "@mosaic/vault";
import { useState } from "react";
import { ErrorNote, Progress, Section, useAction } from "../components.tsx";
import type { ExposureNet, FeedView } from "./exposure-net.ts";

const DAY_S = 86_400;

/** No node to ask: the browser cannot find the authority's PSI node by itself. */
export class NoPsiPeerError extends Error {
  override name = "NoPsiPeerError";
}

interface HotspotOutcome {
  visits: number;
  matches: { cell: string; hourStart: number }[];
}

export function HotspotCheck({ vault, feed, getNet }: { vault: Vault; feed: FeedView | undefined; getNet(): ExposureNet }) {
  const [step, setStep] = useState<string>();
  const [outcome, setOutcome] = useState<HotspotOutcome>();
  const check = useAction(async () => {
    setOutcome(undefined);
    if (feed === undefined || feed.hotspots === "") return;
    const net = getNet();
    const servers = await net.hotspotServers();
    if (servers.length === 0)
      throw new NoPsiPeerError(
        "no staked node is announced on-chain: give the health authority's node (its WebSockets address) under 'Where the keys come from' above; it answers the blinded queries",
      );
    const now = Math.floor(Date.now() / 1000);
    setStep("Fetching the authority's signed list of outbreak places");
    const node = await net.node();
    const set = await loadHotspotSet({ blocks: node.blockstore }, { cid: feed.hotspots, authority: feed.authority });
    const visits = hotspotVisits(vault.locations({ from: now - 14 * DAY_S, to: now + 1 }), { now });
    if (visits.length === 0) {
      setOutcome({ visits: 0, matches: [] });
      return;
    }
    setStep(`Asking about ${visits.length} visit(s), blinded and padded`);
    // The nodes in turn: one without the set's key, or answering with another key (not believed), passes to the next.
    const { answer } = await askHotspotServers(
      servers,
      (peer) => checkHotspots({ libp2p: node.libp2p }, { set, setCid: feed.hotspots, peer, items: visits.map((v) => v.item) }),
      setStep,
    );
    const matched = new Set(answer);
    setOutcome({
      visits: visits.length,
      matches: visits.filter((v) => matched.has(v.item)).map((v) => ({ cell: v.cell, hourStart: v.hourStart })),
    });
  });
  return (
    <Section title="Outbreak places">
      <p>
        A health authority can publish the places and hours of outbreaks. Your vault learns which of your visits (from your location
        history, last 14 days) match, and no one else does: each place and hour is blinded here, the authority's node evaluates it without
        seeing it, and only this browser can tell the matches.
      </p>
      {feed === undefined ? (
        <p className="muted">Choose a health authority's feed above.</p>
      ) : feed.hotspots === "" ? (
        <p className="muted" data-testid="hotspots-none">
          Feed {feed.feedId.toString()} has published no outbreak places.
        </p>
      ) : (
        <button type="button" className="secondary" onClick={() => void check.run()} disabled={check.busy}>
          {check.busy ? "Checking…" : "Check my visits"}
        </button>
      )}
      {check.busy && step !== undefined ? <Progress label={step} /> : null}
      <ErrorNote error={check.error} />
      {outcome === undefined ? null : (
        <div role="status" data-testid="hotspot-result">
          {outcome.visits === 0 ? (
            <p className="muted">Your vault holds no location history of the last 14 days: nothing to check. Import it under Data.</p>
          ) : outcome.matches.length === 0 ? (
            <p className="ok">None of your {outcome.visits} visit(s) of the last 14 days was at an outbreak place.</p>
          ) : (
            <>
              <p className="warn">
                <strong>
                  {outcome.matches.length} of your {outcome.visits} visit(s) were at outbreak places:
                </strong>
              </p>
              <ul data-testid="hotspot-matches">
                {outcome.matches.map((m) => (
                  <li key={`${m.cell}-${m.hourStart}`}>
                    {new Date(m.hourStart * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" })}, near{" "}
                    <code>{m.cell}</code>
                  </li>
                ))}
              </ul>
              <p className="muted">Only this browser knows which: the node that answered learnt only that a query came.</p>
            </>
          )}
        </div>
      )}
    </Section>
  );
}

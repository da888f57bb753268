// The private hotspot check: which of the places and hours in this vault's location history a health authority
// listed as outbreaks, learnt by an oblivious PRF (RFC 9497) evaluated by a staked node, so neither the node nor the
// authority learns the visits — only that a query was made.
import type { Vault } from "@mosaic/vault";
import { Section } from "../components.tsx";
import type { ExposureNet, FeedView } from "./exposure-net.ts";

export function HotspotCheck({ feed }: { vault: Vault; feed: FeedView | undefined; getNet(): ExposureNet }) {
  return (
    <Section title="Outbreak places">
      <p>
        A health authority can publish the places and hours of outbreaks. Your vault can learn which of your visits match without anyone
        learning where you were: each place and hour is blinded here, a staked node evaluates it with the authority's key, and only the
        matches are unblinded in this browser.
      </p>
      {feed === undefined ? (
        <p className="muted">Choose a health authority's feed above.</p>
      ) : feed.hotspots === "" ? (
        <p className="muted" data-testid="hotspots-none">
          Feed {feed.feedId.toString()} has published no outbreak places.
        </p>
      ) : null}
      <p className="warn" role="note" data-testid="hotspots-unavailable">
        Not available in the browser yet: the check talks to a node over its own libp2p protocol, which this app does not carry yet. Use{" "}
        <code>mosaic exposure hotspots</code> on a device that keeps your vault.
      </p>
    </Section>
  );
}

// Public alerts in the vault: follow a public body's alert feed (CAP 1.2 messages signed by m of its editors and
// anchored on-chain), fetch new entries from any replica and check them here against the chain, and the inbox: the
// alerts that concern this person first, each with the reasons found in their own location history and check-ins —
// decided in this browser, nothing about the match leaves it. Updates show their latest version; cancelled alerts
// stay on record, behind a toggle. An anchored entry no reader can accept (a gap: the feed goes on past it) is counted
// after the sync and listed behind its own toggle, its reason shown as escaped, cut text.
import { type AlertFeedRef, printableText } from "@mosaic/alerts";
import {
  alertFeedGaps,
  alertInbox,
  followAlertFeed,
  followedAlertFeeds,
  type InboxGap,
  type InboxItem,
  type SyncAlertsResult,
  syncAlerts,
  unfollowAlertFeed,
  type Vault,
} from "@mosaic/vault";
import { useId, useState } from "react";
import { ErrorNote, Field, Progress, Section, useAction } from "../components.tsx";
import { alertsNet } from "./alerts-net.ts";
import {
  CERTAINTY_TEXT,
  capTimeText,
  GAP_REASON_SHOWN,
  pickInfo,
  SEVERITY_TEXT,
  STATE_TEXT,
  URGENCY_TEXT,
  unixTimeText,
} from "./alerts-words.ts";
import { TypedPeerField, useBrowserNet } from "./browser-net.tsx";

/** A feed id is a whole number from 1. */
const parseFeedId = (text: string): number => {
  const t = text.trim();
  if (!/^[1-9][0-9]{0,8}$/.test(t)) throw new RangeError(`feed id: expected a whole number from 1, got ${JSON.stringify(text)}`);
  return Number(t);
};

const entries = (n: number) => `${n} entr${n === 1 ? "y" : "ies"}`;

export function AlertsTab({ vault, changed }: { vault: Vault; changed(): void }) {
  // A typed peer (a public body's replica) joins the ones found in the network file and on-chain.
  const { extraPeer, setExtraPeer, getNet, net, netError, ready } = useBrowserNet("mosaic-alerts-peer", alertsNet);
  // Vault reads are synchronous snapshots: bump after a write to draw them again.
  const [version, setVersion] = useState(0);
  const written = () => {
    setVersion((v) => v + 1);
    changed();
  };

  const [feedId, setFeedId] = useState("");
  const [progress, setProgress] = useState<{ done: number; total: number; feed: number }>();
  const [outcome, setOutcome] = useState<SyncAlertsResult & { inForce: number }>();
  const sync = useAction(async () => {
    setOutcome(undefined);
    setProgress(undefined);
    const n = getNet();
    try {
      const result = await syncAlerts(
        vault,
        { chain: n.chain(), blocks: await n.blocks() },
        // Only the feeds of this network's contract: the chain reader reads no other.
        {
          on: { chainId: n.chainId, contract: n.contract },
          onProgress: (done, total, feed) => setProgress({ done, total, feed: feed.feedId }),
        },
      );
      // What concerns the user now: an alert that concerned them when it arrived may since be cancelled or replaced.
      setOutcome({ ...result, inForce: alertInbox(vault).filter((i) => i.concerns && i.state === "active").length });
    } finally {
      setProgress(undefined);
      written();
    }
  });
  const follow = useAction(async () => {
    const id = parseFeedId(feedId);
    const n = getNet();
    // The feed must exist on this network's contract: UnknownAlertFeedError is said before anything is stored.
    await n.feed(id);
    await followAlertFeed(vault, n.ref(id));
    setFeedId("");
    written();
    await sync.run();
  });
  const unfollow = useAction(async (ref: AlertFeedRef) => {
    await unfollowAlertFeed(vault, ref);
    written();
  });
  const mine = (ref: AlertFeedRef) =>
    net.current !== undefined && ref.chainId === net.current.chainId && ref.contract.toLowerCase() === net.current.contract;
  const followed = ready ? followedAlertFeeds(vault).filter((f) => mine(f.feed)) : [];

  return (
    <>
      <Section title="Public alerts">
        <p>
          Public bodies publish alerts (floods, storms, outbreaks, missing persons) as signed CAP messages in a feed. Your vault fetches a
          feed's alerts from any node that serves it and checks each one against the feed's head on-chain and its editors' signatures, so a
          node can hold an alert back but never forge one. Whether an alert concerns you is decided here, from your location history and
          check-ins: nothing about it leaves this browser.
        </p>
        {netError !== undefined ? (
          <ErrorNote error={netError} />
        ) : (
          <>
            <form
              onSubmit={(e) => {
                e.preventDefault();
                void follow.run();
              }}
            >
              <Field label="Alert feed id" hint="the number the public body gives">
                <input inputMode="numeric" value={feedId} onChange={(e) => setFeedId(e.target.value)} data-testid="alert-feed-id" />
              </Field>
              <button type="submit" disabled={follow.busy || sync.busy}>
                Follow this feed
              </button>
            </form>
            <ErrorNote error={follow.error} />
            <TypedPeerField
              summary="Where the alerts come from"
              label="Also fetch from (alert replica)"
              node="a node that serves the feed"
              testId="alerts-peer"
              value={extraPeer}
              onChange={setExtraPeer}
            />
            <h3>Feeds you follow</h3>
            {followed.length === 0 ? (
              <p className="muted" data-testid="no-alert-feeds">
                None yet: follow a feed by its id.
              </p>
            ) : (
              <ul data-testid="alert-feeds" data-version={version}>
                {followed.map((f) => (
                  <li key={f.feed.feedId}>
                    Feed {f.feed.feedId} · {entries(f.seq)} checked
                    {f.gapCount === 0 ? "" : ` (${f.gapCount} of them could not be read)`}
                    {f.synced === undefined ? "" : `, last at ${unixTimeText(f.synced)}`}{" "}
                    <button
                      type="button"
                      className="secondary"
                      onClick={() => void unfollow.run(f.feed)}
                      disabled={unfollow.busy || sync.busy}
                      aria-label={`Stop following feed ${f.feed.feedId}`}
                    >
                      Stop following
                    </button>
                  </li>
                ))}
              </ul>
            )}
            <ErrorNote error={unfollow.error} />
            <div className="row">
              <button type="button" onClick={() => void sync.run()} disabled={sync.busy || follow.busy || followed.length === 0}>
                {sync.busy ? "Checking for new alerts…" : "Check for new alerts"}
              </button>
            </div>
            {sync.busy ? (
              <Progress
                label={
                  progress === undefined
                    ? "Reading the feeds' heads on-chain"
                    : `Feed ${progress.feed}: fetching and checking entries, ${progress.done} of ${progress.total}`
                }
                value={progress?.done}
                max={progress?.total}
              />
            ) : null}
            {outcome === undefined ? null : <SyncOutcome outcome={outcome} />}
            <ErrorNote error={sync.error} />
          </>
        )}
      </Section>
      <Inbox vault={vault} version={version} />
    </>
  );
}

/** syncAlerts' failures that keep the entries before the failing one (a block no node served, a conflicting entry). */
const STOPPED_AFTER_STORING = new Set(["FeedUnavailableError", "AlertEntryConflictError"]);

function SyncOutcome({ outcome }: { outcome: SyncAlertsResult & { inForce: number } }) {
  return (
    <div role="status">
      <p className={outcome.inForce > 0 ? "warn" : "ok"} data-testid="alerts-synced">
        {outcome.added === 0
          ? `No new alerts in ${outcome.feeds} feed(s).`
          : `${outcome.added} new ${outcome.added === 1 ? "entry" : "entries"} checked in ${outcome.feeds} feed(s).`}{" "}
        {outcome.inForce === 0 ? "No alert in force concerns you." : `${outcome.inForce} alert(s) in force concern you.`}
      </p>
      {outcome.gaps.length === 0 ? null : (
        <p className="warn" data-testid="alerts-gaps-found">
          {`${entries(outcome.gaps.length)} could not be read (${outcome.gaps.map((g) => `feed ${g.feed.feedId}, entry ${g.seq}`).join("; ")}): the feed's editors anchored ${outcome.gaps.length === 1 ? "it, but it holds" : "them, but they hold"} no valid alert. Skipped for good; the entries after ${outcome.gaps.length === 1 ? "it" : "them"} were checked. Why: under "Show entries that could not be read" below.`}
        </p>
      )}
      {outcome.failed.length === 0 ? null : (
        <ul data-testid="alerts-failed">
          {outcome.failed.map((f) => (
            <li key={f.feed.feedId} className="error">
              Feed {f.feed.feedId} not brought up to date
              {STOPPED_AFTER_STORING.has(f.error.name)
                ? " (the entries before the one that failed are stored; check again later)"
                : ", nothing of it stored"}{" "}
              — {f.error.name}: {printableText(f.error.message, 400)}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function Inbox({ vault, version }: { vault: Vault; version: number }) {
  const [all, setAll] = useState(false);
  const toggle = useId();
  // Active first, those that concern this user first among them (alertInbox's order).
  const items = alertInbox(vault, { all });
  const hidden = all ? 0 : alertInbox(vault, { all: true }).length - items.length;
  const [showGaps, setShowGaps] = useState(false);
  const gapsToggle = useId();
  const gaps = alertFeedGaps(vault);
  return (
    <Section title="Your alerts">
      <div className="row">
        <input id={toggle} type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} data-testid="alerts-show-all" />
        <label htmlFor={toggle}>Show cancelled and replaced alerts{hidden > 0 ? ` (${hidden})` : ""}</label>
      </div>
      {gaps.length === 0 ? null : (
        <div className="row">
          <input
            id={gapsToggle}
            type="checkbox"
            checked={showGaps}
            onChange={(e) => setShowGaps(e.target.checked)}
            data-testid="alerts-show-gaps"
          />
          <label htmlFor={gapsToggle}>Show entries that could not be read ({gaps.length})</label>
        </div>
      )}
      {showGaps && gaps.length > 0 ? <GapList vault={vault} gaps={gaps} version={version} /> : null}
      {items.length === 0 ? (
        <p className="muted" data-testid="alerts-empty">
          No alerts in force in the feeds you follow.
        </p>
      ) : (
        <ol className="alerts" data-testid="alerts-inbox" data-version={version}>
          {items.map((item) => (
            <AlertCard
              key={item.key}
              item={item}
              targets={all ? items.filter((i) => i.by?.seq === item.seq && i.feedKey === item.feedKey) : []}
            />
          ))}
        </ol>
      )}
    </Section>
  );
}

/**
 * The followed feeds' entries that can never be read, newest first: which feed and entry, the error's name and its
 * reason — which quotes what an editor anchored, so it is escaped and cut (printableText) and drawn as text.
 */
function GapList({ vault, gaps, version }: { vault: Vault; gaps: InboxGap[]; version: number }) {
  const total = followedAlertFeeds(vault).reduce((n, f) => n + f.gapCount, 0);
  return (
    <div className="alert-gaps">
      <p className="muted">
        Each was anchored on-chain by the feed's editors, but its content is no valid alert (a malformed entry, an invalid CAP message, an
        area that does not close…). Your vault skipped it for good and checked the entries after it.
        {total > gaps.length ? ` The latest ${gaps.length} of ${total} are kept.` : ""}
      </p>
      <ul data-testid="alerts-gaps" data-version={version}>
        {gaps.map((g) => (
          <li key={g.key} className="alert-gap" data-testid="alert-gap" data-seq={g.seq}>
            <strong>
              Feed {g.feed.feedId}, entry {g.seq}
            </strong>{" "}
            could not be read: <span className="mono">{printableText(g.error, 60)}</span>:{" "}
            <span className="alert-gap-reason" data-testid="alert-gap-reason">
              {printableText(g.reason, GAP_REASON_SHOWN)}
            </span>{" "}
            <span className="muted">(found {unixTimeText(g.found)})</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** One alert; `targets`: the earlier ones of its feed it replaced or cancelled (shown with the cancelled ones). */
function AlertCard({ item, targets }: { item: InboxItem; targets: InboxItem[] }) {
  const id = useId();
  // The CAP message is kept with the document unless it was too large for the thread: then the summary fields alone.
  const info = item.cap === undefined ? undefined : pickInfo(item.cap);
  const title =
    info?.headline ??
    (item.headline !== "" ? item.headline : item.msgType === "Cancel" ? "Cancellation of an earlier alert" : (info?.event ?? item.event));
  const inForce = item.state === "active";
  return (
    <li
      className={`alert-card${item.concerns && inForce ? " alert-concerns" : ""}${inForce ? "" : " alert-inactive"}`}
      data-testid="alert-item"
      data-state={item.state}
      data-concerns={String(item.concerns)}
      data-key={item.key}
    >
      <article aria-labelledby={`${id}-h`}>
        <h3 id={`${id}-h`} className="alert-title">
          {inForce ? null : (
            <span className="badge alert-state" data-testid="alert-state">
              {STATE_TEXT[item.state] ?? item.state}
            </span>
          )}{" "}
          {title}
        </h3>
        {item.state === "record" ? null : (
          <p className={item.concerns ? "warn" : "muted"} data-testid="alert-concerns">
            <strong>{item.concerns ? (inForce ? "This concerns you" : "It concerned you") : "Not where you have been"}</strong>
            {item.msgType === "Update" ? " · an update of an earlier alert" : ""}
          </p>
        )}
        {item.reasons.length === 0 ? null : (
          <ul className="alert-reasons" data-testid="alert-reasons">
            {item.reasons.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        )}
        {info?.instruction === undefined ? null : (
          <p data-testid="alert-instruction">
            <strong>What to do: </strong>
            {info.instruction}
          </p>
        )}
        {info?.description === undefined ? null : <p>{info.description}</p>}
        <dl className="facts">
          {item.msgType === "Cancel" ? null : (
            <>
              <dt>Event</dt>
              <dd>{info?.event ?? item.event}</dd>
              <dt>Severity</dt>
              <dd data-testid="alert-severity">{SEVERITY_TEXT[info?.severity ?? item.severity] ?? item.severity}</dd>
              <dt>Urgency</dt>
              <dd>{URGENCY_TEXT[info?.urgency ?? item.urgency] ?? item.urgency}</dd>
              <dt>Certainty</dt>
              <dd>{CERTAINTY_TEXT[info?.certainty ?? item.certainty] ?? item.certainty}</dd>
              <dt>Areas</dt>
              <dd data-testid="alert-areas">{(info?.area.map((a) => a.areaDesc) ?? item.areas).join("; ") || "—"}</dd>
            </>
          )}
          {info?.onset === undefined && info?.effective === undefined ? null : (
            <>
              <dt>From</dt>
              <dd>{capTimeText(info?.onset ?? info?.effective)}</dd>
            </>
          )}
          {info?.expires === undefined && item.expires === undefined ? null : (
            <>
              <dt>Until</dt>
              <dd>{info?.expires !== undefined ? capTimeText(info.expires) : unixTimeText(item.expires ?? 0)}</dd>
            </>
          )}
          <dt>Sent</dt>
          <dd>
            {unixTimeText(item.sent)}
            {info?.senderName !== undefined ? ` by ${info.senderName}` : item.cap === undefined ? "" : ` by ${item.cap.sender}`}
            {item.status === "Actual" ? "" : ` (${item.status.toLowerCase()} message)`}
          </dd>
          {info?.web === undefined ? null : (
            <>
              <dt>More</dt>
              <dd className="mono">{info.web}</dd>
            </>
          )}
          <dt>Feed</dt>
          <dd>
            feed {item.feed.feedId}, entry {item.seq}
            {item.by === undefined ? "" : ` · ${item.state === "cancelled" ? "cancelled" : "replaced"} by entry ${item.by.seq}`}
            {targets
              .map((t) => ` · ${item.msgType === "Cancel" ? "cancels" : "replaces"} entry ${t.seq} (${t.headline || t.event})`)
              .join("")}
          </dd>
        </dl>
      </article>
    </li>
  );
}

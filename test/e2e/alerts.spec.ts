// Public alerts between separate parties, each its own OS process running the `mosaic` bin as a person types it, on a
// devnet (anvil + a bootstrap node) on loopback: three editors with their own wallet keys run a 2-of-3 feed, passing
// drafts to each other as files; one `mosaic alerts serve` replica takes what they announce; a vault imports its
// location history from a GPX file, follows the feed and lists its inbox — an alert whose polygon covers where the
// vault was concerns it (with the reason), one elsewhere does not, a cancelled one is hidden; the editors rotate
// and the old editor's signature no longer counts. Hostile input is named and changes nothing on-chain: a foreign
// signature in a draft, a replayed anchoring, a stale draft, a CAP file whose polygon does not close, a CAP message
// published twice (DuplicateCapKeyError); a last signer who anchors and tells nobody is made good by 'alerts announce'.
import { copyFile, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { addSignature, draftEntry, parseDraft } from "@mosaic/alerts";
import { AlertFeeds__factory, connectChain } from "@mosaic/protocol";
import { expect } from "chai";
import { getBytes, Wallet } from "ethers";
import { type Daemon, Parties, type Run } from "../parties.js";

/** Mitte (Berlin), where the vault's owner was an hour ago, and a square around it; and one around Munich. */
const MITTE = "52.50,13.36 52.50,13.44 52.54,13.44 52.54,13.36 52.50,13.36";
const MUNICH = "48.10,11.50 48.10,11.62 48.18,11.62 48.18,11.50 48.10,11.50";

const capTime = (unixS: number): string => `${new Date(unixS * 1000).toISOString().slice(0, 19)}+00:00`;

/** A CAP 1.2 Alert with one info and one polygon area. */
function capXml(o: { id: string; sentS: number; headline: string; event: string; areaDesc: string; polygon: string }): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>${o.id}</identifier>
  <sender>alerts@city.example</sender>
  <sent>${capTime(o.sentS)}</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Met</category>
    <event>${o.event}</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <expires>${capTime(o.sentS + 2 * 86_400)}</expires>
    <headline>${o.headline}</headline>
    <instruction>Stay indoors.</instruction>
    <area>
      <areaDesc>${o.areaDesc}</areaDesc>
      <polygon>${o.polygon}</polygon>
    </area>
  </info>
</alert>
`;
}

/** A GPX track: a walk in Mitte an hour ago. */
function gpx(nowS: number): string {
  const points = [3600, 3300, 3000]
    .map((ago, i) => `<trkpt lat="${52.52 + i * 0.001}" lon="13.405"><time>${new Date((nowS - ago) * 1000).toISOString()}</time></trkpt>`)
    .join("\n      ");
  return `<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="mosaic alerts e2e" xmlns="http://www.topografix.com/GPX/1/1">
  <trk><name>Mitte</name><trkseg>
      ${points}
  </trkseg></trk>
</gpx>
`;
}

interface ListJson {
  source: string;
  alerts: { seq: number; state: string; headline?: string; concerns?: boolean; reasons?: string[]; msgType: string }[];
}

describe("public alerts between separate parties: a 2-of-3 feed, a replica and a vault, each a `mosaic` process", function () {
  this.timeout(600_000);
  // Each step builds on the one before.
  this.bail(true);
  let p: Parties;
  let replica: Daemon;
  let replicaAddr = "";
  const editors: { key: string; address: string; dir: string }[] = [];
  let foreign: { key: string; address: string };
  const feedId = "1";
  const vault = ["--dir", "vault"];

  const run = (args: string[]) => p.run(args);
  const okJson = <T = Record<string, unknown>>(args: string[]) => p.okJson<T>(args);
  const net = () => ["--network", p.networkFile];
  /** Editor i's (0-based) flags: their key, data directory and the replica to announce to. */
  const as = (i: number) => {
    const e = editors[i] as (typeof editors)[0];
    return [...net(), "--wallet-key-file", e.key, "--data-dir", e.dir, "--peer", replicaAddr];
  };
  const head = async () =>
    await okJson<{ seq: number; epoch: number; editors: string[] }>(["alerts", "feed", "editors", "--feed", feedId, ...net()]);
  /** Waits until the replica printed that it holds entry `seq` (verified against the chain). */
  const replicaHolds = (seq: number) =>
    p.waitFor(
      `the replica to hold entry ${seq}`,
      async () => (new RegExp(`feed 1 entry ${seq}: `).test(replica.out) ? true : undefined),
      30_000,
    );
  const failed = (r: Run, name: string, message?: RegExp) => {
    expect(r.code, `exit code; stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).to.equal(1);
    expect(r.stderr).to.match(new RegExp(`^mosaic: ${name}: `, "m"));
    if (message !== undefined) expect(r.stderr).to.match(message);
    expect(r.stderr, "no stack trace").not.to.match(/\n\s+at /);
  };

  before(async () => {
    p = await Parties.withDevnet(4, "mosaic-alerts-");
    for (const i of [1, 2, 3]) {
      const key = p.key(`user-${i}`);
      const address = new Wallet((await readFile(path.join(p.dir, key), "utf8")).trim()).address;
      editors.push({ key, address, dir: `editor-${i}` });
    }
    const key = p.key("user-4");
    foreign = { key, address: new Wallet((await readFile(path.join(p.dir, key), "utf8")).trim()).address };
  });

  after(async () => {
    await p?.stopAll({ keep: process.env.MOSAIC_KEEP_TEST_DIR !== undefined });
  });

  it("has --help on every command; usage errors exit 2", async () => {
    const helps = [
      [],
      ["feed", "create"],
      ["feed", "editors"],
      ["publish"],
      ["sign"],
      ["cancel"],
      ["announce"],
      ["follow"],
      ["list"],
      ["serve"],
      ["reach-job"],
    ];
    const runs = await Promise.all([
      ...helps.map((h) => run(["alerts", ...h, "--help"])),
      run(["alerts", "publish", "--feed", "1"]),
      run(["alerts", "feed", "create", "--editor", "0x12", "--threshold", "1", ...net()]),
    ]);
    for (const [i, h] of helps.entries()) {
      const r = runs[i] as Run;
      expect(r.code, h.join(" ")).to.equal(0);
      expect(r.stdout).to.match(/^mosaic alerts/);
    }
    const [noCap, badEditor] = runs.slice(helps.length) as [Run, Run];
    expect(noCap.code).to.equal(2);
    expect(noCap.stderr).to.match(/UsageError: publish: --cap FILE\.xml is required/);
    failed(badEditor, "RangeError", /--editor: expected an address/);
  });

  it("three editors open a 2-of-3 feed; a replica follows it; a vault imports its history and follows the feed", async () => {
    const created = await okJson<{ feedId: number; threshold: number }>([
      "alerts",
      "feed",
      "create",
      ...editors.flatMap((e) => ["--editor", e.address]),
      "--threshold",
      "2",
      ...net(),
      "--wallet-key-file",
      editors[0]?.key as string,
    ]);
    expect(String(created.feedId)).to.equal(feedId);
    replica = p.start(["alerts", "serve", "--feed", feedId, ...net(), "--data-dir", "replica"]);
    replicaAddr = await p.waitFor("the replica's address", async () => {
      if (replica.proc.exitCode !== null) throw new Error(`mosaic alerts serve exited ${replica.proc.exitCode}:\n${replica.err}`);
      return /alerts replica for feed\(s\) 1 at (\S+\/tcp\/\d+\/p2p\/\S+)/.exec(replica.out)?.[1];
    });
    const nowS = Math.floor(Date.now() / 1000);
    await writeFile(path.join(p.dir, "mitte.gpx"), gpx(nowS));
    await p.ok(["vault", "init", ...vault]);
    await p.ok(["vault", "import", "mitte.gpx", ...vault]);
    const follow = await okJson<{ following: unknown[] }>(["alerts", "follow", "--feed", feedId, ...net(), ...vault]);
    expect(follow.following).to.have.length(1);
    const h = await head();
    expect(h.seq).to.equal(0);
    expect(h.editors).to.have.length(3);
  });

  it("a CAP file whose polygon does not close is UnclosedPolygonError: nothing signed, no draft", async () => {
    const nowS = Math.floor(Date.now() / 1000);
    const open = MITTE.split(" ").slice(0, -1).join(" ");
    await writeFile(
      path.join(p.dir, "open.xml"),
      capXml({ id: "open-1", sentS: nowS, headline: "x", event: "Flood", areaDesc: "Mitte", polygon: open }),
    );
    failed(await run(["alerts", "publish", "--feed", feedId, "--cap", "open.xml", ...as(0)]), "UnclosedPolygonError");
    expect((await head()).seq).to.equal(0);
    const leftovers = await readFile(path.join(p.dir, "feed-1-seq-1.draft.json"), "utf8").catch(() => undefined);
    expect(leftovers, "no draft written").to.equal(undefined);
  });

  it("an alert over Mitte: editor 1 signs a draft, a foreign key and a foreign signature are refused, editor 2 completes it", async () => {
    const nowS = Math.floor(Date.now() / 1000);
    await writeFile(
      path.join(p.dir, "mitte.xml"),
      capXml({ id: "storm-1", sentS: nowS - 7200, headline: "Severe storm over Mitte", event: "Storm", areaDesc: "Mitte", polygon: MITTE }),
    );
    const drafted = await okJson<{ status: string; seq: number; draft: string; signatures: number; needed: number }>([
      "alerts",
      "publish",
      "--feed",
      feedId,
      "--cap",
      "mitte.xml",
      "--draft",
      "storm.draft.json",
      ...as(0),
    ]);
    expect(drafted).to.include({ status: "draft", seq: 1, signatures: 1, needed: 2 });
    const draftText = await readFile(path.join(p.dir, "storm.draft.json"), "utf8");
    await copyFile(path.join(p.dir, "storm.draft.json"), path.join(p.dir, "storm-seq1-copy.draft.json"));

    // A wallet that is not an editor cannot add its signature.
    failed(await run(["alerts", "sign", "storm.draft.json", "--yes", ...net(), "--wallet-key-file", foreign.key]), "NotFeedEditorError");
    expect(await readFile(path.join(p.dir, "storm.draft.json"), "utf8"), "draft unchanged").to.equal(draftText);
    // The attacker signs the draft's digest with a foreign key and passes it on: the editor's sign names it.
    const forged = await addSignature(parseDraft(draftText), new Wallet((await readFile(path.join(p.dir, foreign.key), "utf8")).trim()));
    await writeFile(path.join(p.dir, "forged.draft.json"), JSON.stringify(forged, null, 2));
    failed(await run(["alerts", "sign", "forged.draft.json", "--yes", ...as(1)]), "ForeignSignatureError");
    expect((await head()).seq, "nothing anchored").to.equal(0);

    const signed = await okJson<{ alert: string[]; completion: { status: string; seq: number; replicas: number; txHash: string } }>([
      "alerts",
      "sign",
      "storm.draft.json",
      "--yes",
      ...as(1),
    ]);
    expect(signed.alert.join("\n"))
      .to.match(/Severe storm over Mitte/)
      .and.match(/severity Severe/)
      .and.match(/area: Mitte/);
    expect(signed.completion).to.include({ status: "anchored", seq: 1 });
    expect(signed.completion.replicas, "the replica got the announcement").to.be.at.least(1);
    await replicaHolds(1);
  });

  it("a replayed anchoring and a stale draft are refused: StaleSequence on-chain, StaleDraftError in the CLI", async () => {
    // The stale draft (entry 1 again, anchored already): signing nothing, the CLI says it needs no more signatures
    // and how to announce it should nobody have.
    failed(
      await run(["alerts", "sign", "storm-seq1-copy.draft.json", "--yes", ...as(2)]),
      "StaleDraftError",
      /entry 1 is anchored already with this draft's entry[\s\S]*mosaic alerts announce/,
    );
    // The whole anchoring transaction replayed from another account: the contract refuses it by name.
    const chain = await connectChain({ rpcUrl: p.network.rpc, accounts: 0 });
    try {
      const iface = AlertFeeds__factory.createInterface();
      const logs = await chain.provider.getLogs({
        address: p.network.contracts.alertFeeds?.address,
        fromBlock: 0,
        topics: [iface.getEvent("AlertAnchored").topicHash],
      });
      const tx = await chain.provider.getTransaction((logs[0] as { transactionHash: string }).transactionHash);
      const err = await chain.provider.call({ to: tx?.to, data: tx?.data, from: foreign.address }).then(
        () => undefined,
        (e: { data?: string }) => e,
      );
      expect(err, "the replay reverts").not.to.equal(undefined);
      expect(iface.parseError(err?.data as string)?.name).to.equal("StaleSequence");
    } finally {
      await chain.close();
    }
    expect((await head()).seq).to.equal(1);
  });

  it("an alert over Munich (editors 1 and 3); the vault lists Mitte's as concerning it, with the reason, and Munich's as not", async () => {
    const nowS = Math.floor(Date.now() / 1000);
    await writeFile(
      path.join(p.dir, "munich.xml"),
      capXml({ id: "flood-2", sentS: nowS - 3600, headline: "Flooding in Munich", event: "Flood", areaDesc: "Munich", polygon: MUNICH }),
    );
    await okJson(["alerts", "publish", "--feed", feedId, "--cap", "munich.xml", "--draft", "munich.draft.json", ...as(0)]);
    const signed = await okJson<{ completion: { status: string; seq: number } }>([
      "alerts",
      "sign",
      "munich.draft.json",
      "--yes",
      ...as(2),
    ]);
    expect(signed.completion).to.include({ status: "anchored", seq: 2 });
    await replicaHolds(2);
    const inbox = await okJson<ListJson>(["alerts", "list", ...net(), "--peer", replicaAddr, ...vault]);
    expect(inbox.source).to.equal("inbox");
    const mitte = inbox.alerts.find((a) => a.seq === 1);
    const munich = inbox.alerts.find((a) => a.seq === 2);
    expect(mitte?.concerns).to.equal(true);
    expect(mitte?.reasons?.join(" "))
      .to.match(/Mitte/)
      .and.match(/location history/);
    expect(munich?.concerns).to.equal(false);
    expect(inbox.alerts[0]?.seq, "the concerning one first").to.equal(1);
    const words = await p.ok(["alerts", "list", ...net(), "--peer", replicaAddr, ...vault]);
    expect(words.stdout)
      .to.match(/CONCERNS YOU/)
      .and.match(/why: /);
  });

  it("editors 1 and 2 cancel Munich's alert: hidden from the inbox, listed as cancelled with --all", async () => {
    // Editor 1 holds entry 2 since publishing it (every signer keeps the block before anything is sent).
    const drafted = await okJson<{ status: string; seq: number; alert: string[] }>([
      "alerts",
      "cancel",
      "--feed",
      feedId,
      "--seq",
      "2",
      "--note",
      "water receded",
      "--draft",
      "cancel.draft.json",
      ...as(0),
    ]);
    expect(drafted).to.include({ status: "draft", seq: 3 });
    expect(drafted.alert.join("\n"))
      .to.match(/CANCEL/)
      .and.match(/cancels: alerts@city\.example,flood-2,/);
    const signed = await okJson<{ completion: { status: string } }>(["alerts", "sign", "cancel.draft.json", "--yes", ...as(1)]);
    expect(signed.completion.status).to.equal("anchored");
    await replicaHolds(3);
    const inbox = await okJson<ListJson>(["alerts", "list", ...net(), "--peer", replicaAddr, ...vault]);
    expect(inbox.alerts.map((a) => a.seq)).to.deep.equal([1]);
    const all = await okJson<ListJson>(["alerts", "list", "--all", ...net(), "--peer", replicaAddr, ...vault]);
    expect(all.alerts.find((a) => a.seq === 2)?.state).to.equal("cancelled");
    const feed = await okJson<ListJson>(["alerts", "list", "--feed", feedId, "--all", ...net(), "--peer", replicaAddr]);
    expect(feed.source).to.equal("feed");
    expect(feed.alerts.map((a) => `${a.seq}:${a.state}`)).to.deep.equal(["1:active", "2:cancelled", "3:record"]);
    const standing = await okJson<ListJson>(["alerts", "list", "--feed", feedId, ...net(), "--peer", replicaAddr]);
    expect(
      standing.alerts.map((a) => a.seq),
      "the public feed as it stands",
    ).to.deep.equal([1]);
  });

  it("the editors rotate (editor 3 out, a new editor in): editor 3's signature no longer counts, the new editor's does", async () => {
    const nowS = Math.floor(Date.now() / 1000);
    await writeFile(
      path.join(p.dir, "heat.xml"),
      capXml({ id: "heat-4", sentS: nowS, headline: "Heat warning", event: "Heat", areaDesc: "Mitte", polygon: MITTE }),
    );
    // A draft editor 3 signs in epoch 0, before the rotation.
    await okJson(["alerts", "publish", "--feed", feedId, "--cap", "heat.xml", "--draft", "heat-old.draft.json", ...as(2)]);
    const newSet = [editors[0]?.address, editors[1]?.address, foreign.address].join(",");
    const rotation = await okJson<{ rotation: { status: string } }>([
      "alerts",
      "feed",
      "editors",
      "--feed",
      feedId,
      "--set",
      newSet,
      "--threshold",
      "2",
      "--draft",
      "rotate.draft.json",
      ...as(0),
    ]);
    expect(rotation.rotation.status).to.equal("draft");
    const rotated = await okJson<{ completion: { status: string; epoch: number } }>([
      "alerts",
      "sign",
      "rotate.draft.json",
      "--yes",
      ...as(1),
    ]);
    expect(rotated.completion).to.include({ status: "rotated", epoch: 1 });
    // Editor 3's epoch-0 draft is stale; editor 3 can no longer sign a fresh one.
    failed(await run(["alerts", "sign", "heat-old.draft.json", "--yes", ...as(0)]), "StaleDraftError", /epoch/);
    await okJson(["alerts", "publish", "--feed", feedId, "--cap", "heat.xml", "--draft", "heat.draft.json", ...as(0)]);
    failed(await run(["alerts", "sign", "heat.draft.json", "--yes", ...as(2)]), "NotFeedEditorError", /not an editor of feed 1 \(epoch 1/);
    const signed = await okJson<{ completion: { status: string; seq: number } }>([
      "alerts",
      "sign",
      "heat.draft.json",
      "--yes",
      ...net(),
      "--wallet-key-file",
      foreign.key,
      "--data-dir",
      "editor-4",
      "--peer",
      replicaAddr,
    ]);
    expect(signed.completion).to.include({ status: "anchored", seq: 4 });
    const h = await head();
    expect(h).to.include({ seq: 4, epoch: 1 });
  });

  it("a reach job for the Mitte alert names the vault's key for it", async () => {
    const r = await okJson<{ key: string; out: string }>([
      "alerts",
      "reach-job",
      "--feed",
      feedId,
      "--seq",
      "1",
      "--out",
      "reach.json",
      ...net(),
    ]);
    const contract = String(p.network.contracts.alertFeeds?.address).toLowerCase();
    expect(r.key).to.equal(`${p.network.chainId}:${contract}:1:1`);
    const spec = JSON.parse(await readFile(path.join(p.dir, "reach.json"), "utf8")) as { program: { source: string } };
    expect(spec.program.source).to.include(JSON.stringify(r.key));
  });

  it("vault serve --alerts 1 replicates the feed on the vault's blockstore, fetching from the other replica", async () => {
    const serving = p.start(["vault", "serve", "--alerts", feedId, ...net(), "--peer", replicaAddr, ...vault]);
    await p.waitFor(
      "the vault's replica to hold entry 4",
      async () => {
        if (serving.proc.exitCode !== null) throw new Error(`mosaic vault serve exited ${serving.proc.exitCode}:\n${serving.err}`);
        return /alerts replica for feed\(s\) 1 at /.test(serving.out) && /feed 1 entry 4: /.test(serving.out) ? true : undefined;
      },
      60_000,
    );
    serving.proc.kill("SIGTERM");
    await new Promise((r) => serving.proc.once("exit", r));
  });

  it("a last signer anchors and tells nobody: 'alerts announce' brings the entry to the replica; the same CAP message again is refused", async () => {
    const nowS = Math.floor(Date.now() / 1000);
    await writeFile(
      path.join(p.dir, "quiet.xml"),
      capXml({ id: "quiet-5", sentS: nowS, headline: "Water main burst", event: "Infrastructure", areaDesc: "Mitte", polygon: MITTE }),
    );
    const drafted = await okJson<{ status: string; seq: number }>([
      "alerts",
      "publish",
      "--feed",
      feedId,
      "--cap",
      "quiet.xml",
      "--draft",
      "quiet.draft.json",
      ...as(0),
    ]);
    expect(drafted).to.include({ status: "draft", seq: 5 });
    // Nothing anchored at 5 yet: nothing to announce.
    failed(await run(["alerts", "announce", "quiet.draft.json", ...as(0)]), "EntryNotAnchoredError", /entry 5 of feed 1 is not anchored/);
    // Editor 2 signs on its own and anchors with its own transaction, keeping and announcing nothing.
    const draft = await addSignature(
      parseDraft(await readFile(path.join(p.dir, "quiet.draft.json"), "utf8")),
      new Wallet((await readFile(path.join(p.dir, editors[1]!.key), "utf8")).trim()),
    );
    const { block } = draftEntry(draft);
    const chain = await connectChain({ rpcUrl: p.network.rpc, accounts: 0 });
    let txHash: string;
    try {
      const rogue = new Wallet((await readFile(path.join(p.dir, editors[1]!.key), "utf8")).trim(), chain.provider);
      const feeds = AlertFeeds__factory.connect(String(p.network.contracts.alertFeeds?.address), rogue);
      const tx = await feeds.anchor(
        Number(feedId),
        5,
        block.cid.bytes,
        draft.signatures.map((h) => getBytes(h)),
      );
      await tx.wait();
      txHash = tx.hash;
    } finally {
      await chain.close();
    }
    // Editor 1 still holds the block (kept at publish) and announces it with the anchored signatures.
    const announced = await okJson<{ completion: { status: string; seq: number; cid: string; txHash: string; replicas: number } }>([
      "alerts",
      "announce",
      "quiet.draft.json",
      ...as(0),
    ]);
    expect(announced.completion).to.include({ status: "anchored", seq: 5, cid: block.cid.toString(), txHash });
    expect(announced.completion.replicas, "the replica got the announcement").to.be.at.least(1);
    await replicaHolds(5);
    // Signing the anchored draft says to announce it instead.
    failed(await run(["alerts", "sign", "quiet.draft.json", "--yes", ...as(1)]), "StaleDraftError", /mosaic alerts announce/);
    // The same CAP message again: refused by name, nothing signed or anchored.
    failed(
      await run(["alerts", "publish", "--feed", feedId, "--cap", "quiet.xml", "--draft", "quiet-again.draft.json", ...as(0)]),
      "DuplicateCapKeyError",
      /already holds this CAP message \(alerts@city\.example,quiet-5,[^)]+\) as entry 5/,
    );
    expect(await readFile(path.join(p.dir, "quiet-again.draft.json"), "utf8").catch(() => undefined), "no draft written").to.equal(
      undefined,
    );
    expect((await head()).seq).to.equal(5);
  });
});

// End to end tests of `mosaic exposure`: the real CLI in child processes against a Hardhat JSON-RPC server on loopback.
// A health authority opens a feed and publishes its risk configuration, runs the key server; a user who tested
// positive is admitted and uploads; another user's vault, holding scans of the first's advertisements, is told of its
// exposure. Every subcommand has --help; bad input is a named error with nothing changed. The hotspot check is answered
// by the authority's node given as --peer, and without --peer by a staked reducer node found in the ReducerDirectory,
// past one that answers with another key; askHotspotServers, which tries them in turn, is also tested in process.
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  DEFAULT_RISK_CONFIG,
  deriveAemk,
  deriveRpik,
  encodeMetadata,
  encryptMetadata,
  generatePsiKeyPair,
  INTERVAL_S,
  rollingProximityIdentifier,
} from "@mosaic/exposure";
import { connectChain, deployMosaic, type MosaicContracts, networkFileFor, readReducers, sleep, writeNetworkFile } from "@mosaic/protocol";
import { expect } from "chai";
import { getBytes, HDNodeWallet, hexlify, Mnemonic } from "ethers";
import { network } from "hardhat";
import { askHotspotServers, NoHotspotServerError } from "@mosaic/vault";
import { failed, json, mosaic, type Run, startMosaic } from "./run.js";

const MNEMONIC = "test test test test test test test test test test test junk";
const keyOf = (i: number) => HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(MNEMONIC), `m/44'/60'/0'/0/${i}`);
const DAY_S = 86_400;

describe("mosaic exposure: a feed, an anonymous upload, the key server's batch, and a check on another device", function () {
  this.timeout(300_000);
  let work: string;
  let server: Awaited<ReturnType<typeof network.createServer>> | undefined;
  let close: () => Promise<void>;
  let contracts: MosaicContracts;
  let chainArgs: string[];
  let keyServer: ChildProcessWithoutNullStreams | undefined;
  let served = "";
  const dirs = { alice: "", bob: "", authority: "" };
  let authorityKey: string;
  let feedId: string;
  let address: string;
  let outbreakDay: number;
  /** The hotspot set published, and the key file 'hotspots publish' wrote for the nodes that answer on it. */
  const hotspotSet = { cid: "", keyFile: "" };
  /** Reducer nodes started by the last test. */
  const reducers: ChildProcessWithoutNullStreams[] = [];

  const exposure = (args: string[]) => mosaic(["exposure", ...args], work);
  const asAuthority = (args: string[]) =>
    exposure([...args, ...chainArgs, "--wallet-key-file", authorityKey, "--data-dir", dirs.authority, "--json"]);

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), "mosaic-exposure-cli-"));
    server = await network.createServer("default", "127.0.0.1", 0);
    const { port } = await server.listen();
    const rpc = `http://127.0.0.1:${port}`;
    const chain = await connectChain({ rpcUrl: rpc, accounts: 1 });
    close = () => chain.close();
    contracts = await deployMosaic(chain.accounts[0] as NonNullable<(typeof chain.accounts)[0]>);
    chainArgs = ["--rpc", rpc, "--groups", contracts.addresses.avatarGroups, "--feeds", contracts.addresses.exposureFeeds as string];
    // The same network as a network file: what 'mosaic devnet' and 'mosaic deploy' write, ExposureFeeds included.
    await writeNetworkFile(
      path.join(work, "networks", "local.json"),
      networkFileFor({
        name: "local",
        chainId: chain.chainId,
        rpc,
        addresses: contracts.addresses,
        deployBlock: contracts.deployBlock ?? 0,
      }),
    );
    authorityKey = path.join(work, "authority.key");
    await writeFile(authorityKey, `${keyOf(8).privateKey}\n`, { mode: 0o600 });
    dirs.authority = path.join(work, "authority");
    for (const name of ["alice", "bob"] as const) {
      dirs[name] = path.join(work, name);
      json(await mosaic(["vault", "init", "--dir", dirs[name], "--device", name, "--scrypt-n", "1024", "--json"], work));
    }
  });

  after(async () => {
    for (const r of reducers) r.kill("SIGKILL");
    keyServer?.kill("SIGINT");
    if (keyServer !== undefined && keyServer.exitCode === null) await new Promise((r) => keyServer?.once("close", r));
    await close?.();
    await server?.close();
    await rm(work, { recursive: true, force: true });
  });

  it("has --help on every subcommand, and usage errors exit 2", async () => {
    const helps = [
      [],
      ["keys", "--help"],
      ["identity", "--help"],
      ["scan", "import", "--help"],
      ["check", "--help"],
      ["upload", "--help"],
      ["feed", "create", "--help"],
      ["config", "publish", "--help"],
      ["admit", "--help"],
      ["serve", "--help"],
      ["hotspots", "--help"],
      ["hotspots", "publish", "--help"],
    ];
    const [noFeed, noPeer, badFeed, ...helped] = await Promise.all([
      exposure(["check", "--dir", dirs.bob]),
      exposure(["upload", "--feed", "1", "--dir", dirs.alice]),
      exposure(["check", "--feed", "0x1", "--dir", dirs.bob]),
      ...helps.map((h) => exposure(h)),
    ]);
    for (const [i, h] of helps.entries()) {
      const run = helped[i] as Run;
      expect(run.code, h.join(" ")).to.equal(0);
      expect(run.stdout).to.match(/^mosaic exposure/);
    }
    failed(noFeed as Run, 2, "UsageError", /check: --feed ID is required; see 'mosaic exposure check --help'/);
    failed(noPeer as Run, 2, "UsageError", /--peer MULTIADDR is required: the health authority's key server/);
    failed(badFeed as Run, 1, "RangeError", /--feed: expected a feed id/);
    // A damaged hotspot key file in the authority's directory is named before the key server opens anything.
    const damaged = path.join(work, "damaged-authority");
    await mkdir(damaged, { recursive: true });
    await writeFile(path.join(damaged, "hotspots-bafy.key.json"), "{ not json");
    failed(
      await exposure(["serve", "--feed", "1", ...chainArgs, "--wallet-key-file", authorityKey, "--data-dir", damaged]),
      1,
      "HotspotKeyFileError",
      /damaged-authority\/hotspots-bafy\.key\.json: not JSON/,
    );
  });

  it("runs the whole flow: feed, configuration, key server, admission, upload, batch, scans and a check that reports exposure", async () => {
    // The authority: a registrar group for positives, a feed on it, a risk configuration.
    const group = json<{ groupId: string }>(
      await mosaic(
        [
          "avatar",
          "registrar",
          "create-group",
          "--name",
          "positives",
          "--admission",
          contracts.addresses.registrarAdmission,
          "--rpc",
          chainArgs[1] as string,
          "--groups",
          contracts.addresses.avatarGroups,
          "--wallet-key-file",
          authorityKey,
          "--json",
        ],
        work,
      ),
    );
    feedId = json<{ feedId: string }>(await asAuthority(["feed", "create", "--group", group.groupId])).feedId;
    expect(feedId).to.equal("1");
    const configFile = path.join(work, "risk.json");
    await writeFile(
      configFile,
      JSON.stringify({ ...DEFAULT_RISK_CONFIG, minimumWindowMinutes: 0, thresholds: { low: 5, high: 15 } }, null, 2),
    );
    const badConfig = path.join(work, "bad-risk.json");
    await writeFile(badConfig, JSON.stringify({ ...DEFAULT_RISK_CONFIG, attenuationWeights: [1, 1] }));
    const refused = await asAuthority(["config", "publish", badConfig, "--feed", feedId]);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/attenuationWeights/);
    // Another wallet cannot speak for the feed: named, and nothing is sent.
    const strangerKey = path.join(work, "stranger.key");
    await writeFile(strangerKey, `${keyOf(9).privateKey}\n`, { mode: 0o600 });
    failed(
      await exposure([
        "config",
        "publish",
        configFile,
        "--feed",
        feedId,
        ...chainArgs,
        "--wallet-key-file",
        strangerKey,
        "--data-dir",
        dirs.authority,
      ]),
      1,
      "ExposureFeedsError",
      /feed 1's authority is/,
    );
    const published = json<{ cid: string }>(await asAuthority(["config", "publish", configFile, "--feed", feedId]));
    expect(published.cid).to.match(/^bafy/);

    // Outbreak places and hours: a hotspot set, its key where 'serve' finds it.
    const today = Math.floor(Date.now() / 1000 / DAY_S);
    outbreakDay = (today - 3) * DAY_S;
    const hotspotFile = path.join(work, "hotspots.json");
    await writeFile(
      hotspotFile,
      JSON.stringify([
        { lat: 52.5204, lon: 13.4057, from: outbreakDay + 10 * 3600, to: outbreakDay + 14 * 3600 },
        { lat: 48.8566, lon: 2.3522, from: outbreakDay, to: outbreakDay + 3600 },
      ]),
    );
    const badHotspots = path.join(work, "bad-hotspots.json");
    await writeFile(badHotspots, JSON.stringify([{ lat: 95, lon: 0, from: 0, to: 3600 }]));
    failed(
      await asAuthority(["hotspots", "publish", badHotspots, "--feed", feedId]),
      1,
      "MalformedHotspotFileError",
      /bad-hotspots\.json\[0\]/,
    );
    const hotspots = json<{ hotspots: number; keyFile: string; cid: string }>(
      await asAuthority(["hotspots", "publish", hotspotFile, "--feed", feedId]),
    );
    expect(hotspots.hotspots).to.equal(5);
    Object.assign(hotspotSet, { cid: hotspots.cid, keyFile: hotspots.keyFile });

    // The key server, batching every 2 s.
    keyServer = startMosaic(
      [
        "exposure",
        "serve",
        "--feed",
        feedId,
        ...chainArgs,
        "--wallet-key-file",
        authorityKey,
        "--data-dir",
        dirs.authority,
        "--batch-seconds",
        "2",
      ],
      { cwd: work },
    );
    keyServer.stdout.on("data", (c: Buffer) => (served += c.toString()));
    let serverErr = "";
    keyServer.stderr.on("data", (c: Buffer) => (serverErr += c.toString()));
    const waitFor = async (pattern: RegExp, what: string): Promise<RegExpMatchArray> => {
      for (let i = 0; i < 600; i++) {
        const m = served.match(pattern);
        if (m !== null) return m;
        if (keyServer?.exitCode !== null) throw new Error(`the key server exited ${keyServer?.exitCode}:\n${served}\n${serverErr}`);
        await sleep(100);
      }
      throw new Error(`no ${what} from the key server:\n${served}\n${serverErr}`);
    };
    address = (await waitFor(/key server for feed 1 at (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\S+)/, "address"))[1] as string;

    // Alice tested positive: the authority admits her upload identity; a vault not admitted cannot upload.
    const { commitment } = json<{ commitment: string }>(await exposure(["identity", "--dir", dirs.alice, "--json"]));
    json(await asAuthority(["admit", commitment, "--feed", feedId]));
    failed(
      await exposure(["upload", "--feed", feedId, "--peer", address, ...chainArgs, "--dir", dirs.bob]),
      1,
      "NotAdmittedError",
      /mosaic exposure identity/,
    );

    // Bob's phone heard Alice's advertisements for 30 minutes on each of two days (what a radio adapter records).
    const keys = json<{ keys: { key: string; rollingStartIntervalNumber: number }[] }>(
      await exposure(["keys", "--dir", dirs.alice, "--json"]),
    ).keys;
    expect(keys).to.have.length(14);
    const lines: string[] = [];
    for (const daysAgo of [2, 3]) {
      const tek = keys.find((k) => k.rollingStartIntervalNumber === (today - daysAgo) * 144);
      expect(tek, `alice's key of ${daysAgo} days ago`).to.not.equal(undefined);
      const key = getBytes(`0x${tek?.key.replace(/^0x/, "")}`);
      const start = (today - daysAgo) * DAY_S + 12 * 3600;
      for (let t = start; t < start + 1800; t += 300) {
        const rpi = rollingProximityIdentifier(deriveRpik(key), Math.floor(t / INTERVAL_S));
        const aem = encryptMetadata(deriveAemk(key), rpi, encodeMetadata({ txPowerDbm: -8 }));
        lines.push(JSON.stringify({ rpi: hexlify(rpi).slice(2), aem: hexlify(aem).slice(2), t, rssi: -48, seconds: 300 }));
      }
    }
    const scanFile = path.join(work, "bob-scans.jsonl");
    await writeFile(scanFile, `${lines.join("\n")}\n`);
    const badScans = path.join(work, "bad-scans.jsonl");
    await writeFile(badScans, `${lines[0]}\n{"rpi": 7, "aem": "00000000", "t": 1, "rssi": -50, "seconds": 300}\n`);
    failed(await exposure(["scan", "import", badScans, "--dir", dirs.bob]), 1, "MalformedScanError", /bad-scans\.jsonl:2: rpi/);
    expect(json<{ stored: number }>(await exposure(["scan", "import", scanFile, "--dir", dirs.bob, "--json"])).stored).to.equal(12);

    // Before Alice uploads, Bob's check finds nothing.
    const before = json<{ level: string; keys: number }>(
      await exposure(["check", "--feed", feedId, "--peer", address, ...chainArgs, "--dir", dirs.bob, "--json"]),
    );
    expect(before).to.include({ level: "none", keys: 0 });

    // Alice uploads; the key server accepts, batches, anchors.
    const upload = json<{ keys: number; cid: string }>(
      await exposure(["upload", "--feed", feedId, "--peer", address, ...chainArgs, "--dir", dirs.alice, "--json"]),
    );
    expect(upload.keys).to.equal(14);
    await waitFor(new RegExp(`accepted upload ${upload.cid}: 14 keys`), "acceptance");
    await waitFor(/published batch 1: 14 keys from 1 upload/, "batch");

    // Bob checks again: exposed, on both days, with the authority's advice.
    const after = json<{ level: string; keys: number; days: { day: string }[]; advice: string }>(
      await exposure(["check", "--feed", feedId, "--peer", address, ...chainArgs, "--dir", dirs.bob, "--json"]),
    );
    expect(after.keys).to.equal(14);
    expect(after.level).to.equal("high");
    expect(after.days.map((d) => d.day)).to.include.members(
      [2, 3].map((d) => new Date((today - d) * DAY_S * 1000).toISOString().slice(0, 10)),
    );
    expect(after.advice).to.equal(DEFAULT_RISK_CONFIG.advice.high);
    // The human form, with the network file instead of the flags.
    const human = await exposure(["check", "--feed", feedId, "--peer", address, "--network", "local", "--dir", dirs.bob]);
    expect(human.stdout)
      .to.match(/exposure risk: HIGH/)
      .and.to.match(/what to do: /);

    // Alice uploads again in the same period: the key server refuses it by name, and publishes nothing more.
    await exposure(["upload", "--feed", feedId, "--peer", address, ...chainArgs, "--dir", dirs.alice, "--json"]);
    await waitFor(/rejected upload \S+: UploadReplayedError/, "rejection");
    await sleep(2500);
    expect(served).to.not.match(/published batch 2/);
  });

  it("answers a private hotspot check: the visit in an outbreak's cell and hour matches, the other does not", async () => {
    // Bob's location history: an hour in the outbreak's cell, another elsewhere. Only the first is a hotspot visit.
    const gpx = path.join(work, "bob.gpx");
    const fix = (lat: number, lon: number, t: number) =>
      `<trkpt lat="${lat}" lon="${lon}"><time>${new Date(t * 1000).toISOString()}</time></trkpt>`;
    await writeFile(
      gpx,
      `<?xml version="1.0"?><gpx version="1.1" creator="test"><trk><trkseg>${[
        fix(52.5201, 13.4051, outbreakDay + 11 * 3600 + 600),
        fix(52.5202, 13.4052, outbreakDay + 11 * 3600 + 2400),
        fix(52.53, 13.41, outbreakDay + 16 * 3600),
      ].join("")}</trkseg></trk></gpx>`,
    );
    expect((await mosaic(["vault", "import", gpx, "--dir", dirs.bob], work)).code).to.equal(0);
    const psi = json<{ visits: number; matches: { cell: string; hour: string }[]; answeredBy: unknown }>(
      await exposure(["hotspots", "--feed", feedId, "--peer", address, ...chainArgs, "--dir", dirs.bob, "--json"]),
    );
    expect(psi.visits).to.equal(2);
    expect(psi.matches).to.deep.equal([
      { cell: "52.520,13.405", hour: `${new Date((outbreakDay + 11 * 3600) * 1000).toISOString().slice(0, 13)}:00Z` },
    ]);
    expect(psi.answeredBy).to.deep.equal({ addr: address });
    // Without --peer, the nodes are looked for in a ReducerDirectory: none given is a usage error, before the vault opens.
    failed(
      await exposure(["hotspots", "--feed", feedId, ...chainArgs, "--dir", dirs.bob]),
      2,
      "UsageError",
      /--peer MULTIADDR, or a ReducerDirectory to find staked nodes in \(--directory ADDRESS, or --network NAME\|FILE\), is required/,
    );
  });

  it("finds a staked reducer node serving the hotspot set through the ReducerDirectory, past one answering with another key", async () => {
    const registryArgs = ["--rpc", chainArgs[1] as string, "--registry", contracts.addresses.jobRegistry];
    const directoryArgs = [...registryArgs, "--directory", contracts.addresses.reducerDirectory];
    // Two staked operators, each node announced in the directory by 'reducer stake --data-dir'. The higher-staked one
    // runs a node holding another key for the set (a liar, or a node handed a wrong file): peering with no one, it
    // cannot fetch the set's document to notice (it would then stop serving the set). The other is handed the
    // authority's key file and peers with the authority's node, where it fetches the set. Neither reads the directory
    // itself, so the liar never meets a node holding the document.
    const wrong = generatePsiKeyPair();
    const liarKeys = path.join(work, "liar.key.json");
    await writeFile(
      liarKeys,
      JSON.stringify({
        cid: hotspotSet.cid,
        feedId,
        secretKey: Buffer.from(wrong.secretKey).toString("hex"),
        publicKey: Buffer.from(wrong.publicKey).toString("hex"),
      }),
    );
    const operators = [
      { name: "liar", stake: "2", key: keyOf(10).privateKey, config: { fetchTimeoutMs: 500, hotspotKeys: [liarKeys] } },
      {
        name: "honest",
        stake: "1",
        key: keyOf(11).privateKey,
        config: { peers: [address], hotspotKeys: [hotspotSet.keyFile] },
      },
    ];
    const statuses: { http: string; operator: string }[] = [];
    const logs: string[] = [];
    for (const [i, op] of operators.entries()) {
      const keyFile = path.join(work, `${op.name}-operator.key`);
      await writeFile(keyFile, `${op.key}\n`, { mode: 0o600 });
      const dataDir = path.join(work, `reducer-${op.name}`);
      const config = path.join(work, `reducer-${op.name}.json`);
      await writeFile(
        config,
        JSON.stringify({
          rpcUrl: chainArgs[1],
          registry: contracts.addresses.jobRegistry,
          operatorKeyFile: keyFile,
          dataDir,
          wsListen: "",
          http: { host: "127.0.0.1", port: 0 },
          verifier: { threads: 1, batchSize: 8, batchWaitMs: 100 },
          pollMs: 300,
          ...op.config,
        }),
      );
      const child = startMosaic(["reducer", "start", "--config", config], { cwd: work, env: { MOSAIC_LOG: "info" } });
      child.stdin.end();
      logs[i] = "";
      child.stderr.on("data", (c: Buffer) => (logs[i] += c.toString()));
      reducers.push(child);
      const statusFile = path.join(dataDir, "node.json");
      for (let t = 0; t < 600 && !existsSync(statusFile); t++) {
        if (child.exitCode !== null) throw new Error(`reducer ${op.name} exited ${child.exitCode}:\n${logs[i]}`);
        await sleep(100);
      }
      statuses[i] = JSON.parse(await readFile(statusFile, "utf8"));
      const staked = await mosaic(
        ["reducer", "stake", "--amount", op.stake, ...directoryArgs, "--wallet-key-file", keyFile, "--data-dir", dataDir, "--json"],
        work,
      );
      expect(json<{ total: string }>(staked).total).to.equal(`${op.stake}.0`);
    }
    // Both in the directory, and the honest node holding the set's document.
    for (let t = 0; ; t++) {
      const records = await readReducers(contracts.reducerDirectory, contracts.jobRegistry);
      if (records.length === 2 && /psi:set-held/.test(logs[1] as string)) break;
      if (t > 300) throw new Error(`the nodes did not announce or fetch the set:\n${logs.join("\n---\n")}`);
      await sleep(200);
    }

    const run = await exposure([
      "hotspots",
      "--feed",
      feedId,
      ...chainArgs,
      "--directory",
      contracts.addresses.reducerDirectory,
      "--dir",
      dirs.bob,
      "--json",
    ]);
    const psi = json<{ visits: number; matches: unknown[]; answeredBy: { operator?: string } }>(run);
    expect(psi.visits).to.equal(2);
    expect(psi.matches).to.deep.equal([
      { cell: "52.520,13.405", hour: `${new Date((outbreakDay + 11 * 3600) * 1000).toISOString().slice(0, 13)}:00Z` },
    ]);
    expect(psi.answeredBy.operator).to.equal(statuses[1]?.operator);
    expect(run.stderr).to.match(/found 2 staked node\(s\) in the ReducerDirectory/);
    expect(run.stderr).to.include(`node of ${statuses[0]?.operator}`);
    expect(run.stderr).to.match(/answered with another key than the set's \(PsiProofError\): not believed; asking the next/);
    // Each node counted the one query it answered, and nothing else.
    for (const status of statuses)
      expect(await (await fetch(`${status.http}/psi`)).json()).to.deep.equal({ sets: 1, queries: 1, items: 128, refused: {} });
  });
});

describe("askHotspotServers: the nodes found are asked in turn until one answers", () => {
  const named = (name: string, message: string, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(message), { name, ...extra });

  it("passes a node refusing the set, one lying and one not reached, says so for each, and names all when none answers", async () => {
    const said: string[] = [];
    const asked: string[] = [];
    const servers = [
      { addrs: ["/a1", "/a2"], operator: "0xA" },
      { addrs: ["/b1", "/b2"], operator: "0xB" },
      { addrs: ["/c1"], operator: "0xC" },
      { addrs: ["/d1"], operator: "0xD" },
    ];
    const answers: Record<string, () => unknown> = {
      "/a1": () => {
        throw named("StreamFailedError", "dial failed");
      },
      "/a2": () => {
        throw named("PsiRefusedError", "refused", { reason: "UnknownHotspotSetError" });
      },
      "/b1": () => {
        throw named("PsiProofError", "the proof does not verify");
      },
      "/c1": () => ["match"],
    };
    const found = await askHotspotServers(
      servers,
      async (addr) => {
        asked.push(addr);
        return answers[addr]?.() as string[];
      },
      (l) => said.push(l),
    );
    // A node that answered (refused or lied) is not asked at its other address; one not reached is.
    expect(asked).to.deep.equal(["/a1", "/a2", "/b1", "/c1"]);
    expect(found).to.deep.include({ answer: ["match"], addr: "/c1" });
    expect(found.server.operator).to.equal("0xC");
    expect(said).to.have.length(3);
    expect(said[0]).to.match(/node of 0xA \(\/a1\): StreamFailedError: dial failed; asking the next/);
    expect(said[1]).to.match(/node of 0xA \(\/a2\) does not serve this hotspot set; asking the next/);
    expect(said[2]).to.match(/node of 0xB \(\/b1\) answered with another key than the set's \(PsiProofError\): not believed/);

    let err: unknown;
    await askHotspotServers(servers.slice(0, 2), async (addr) => answers[addr]?.() as string[]).catch((e) => {
      err = e;
    });
    expect(err).to.be.instanceOf(NoHotspotServerError);
    expect((err as Error).message).to.match(
      /none of the 2 node\(s\) asked answered.*0xA \(\/a1\): StreamFailedError; .*0xA \(\/a2\): UnknownHotspotSetError; .*0xB \(\/b1\): PsiProofError\); name a node that serves it \(the CLI's --peer\)/,
    );
    await askHotspotServers([], async () => []).catch((e) => {
      err = e;
    });
    expect((err as Error).message).to.match(/no node to ask/);
  });

  it("throws an error of its own side at once, asking no other node", async () => {
    const asked: string[] = [];
    let err: unknown;
    await askHotspotServers([{ addrs: ["/a"] }, { addrs: ["/b"] }], async (addr) => {
      asked.push(addr);
      throw new TypeError("items[0]: expected bytes");
    }).catch((e) => {
      err = e;
    });
    expect(err).to.be.instanceOf(TypeError);
    expect(asked).to.deep.equal(["/a"]);
  });
});

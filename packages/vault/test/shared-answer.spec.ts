// Answering a shared-mode job from the vault: the consent screen and its preview say the mode, the exact clamped answer
// is consented (no local noise), the ledger charges what the job costs, and only two encrypted shares leave, through
// the egress gate, whose audit entry names the envelope and the aggregators' keys but never the answer. Hostile specs
// and withdrawn consents leave nothing. Real Semaphore proofs and the real Prio3 sharding; no network.
import { randomBytes } from "node:crypto";
import * as dagCbor from "@ipld/dag-cbor";
import {
  decodeSubmission,
  deriveAvatarIdentity,
  encodeSubmission,
  Group,
  nullifierOf,
  proveSharedSubmission,
  proveSubmission,
  reportMessage,
  type SharedSubmission,
  verifySubmission,
} from "@mosaic/avatar";
import {
  clampToOutput,
  hpkeOpen,
  READY_JOBS,
  reportMessage as mapreduceReportMessage,
  privacyCost,
  shardReport,
  shareAad,
  shareInfo,
} from "@mosaic/mapreduce";
import { type Block, ConsentRequiredError, encodeBlock, type JobSpec, jobTopic, toBareHex, WrongModeError } from "@mosaic/protocol";
import { x25519 } from "@noble/curves/ed25519";
import { sha256 } from "@noble/hashes/sha2";
import { expect } from "chai";
import { captureState, expectRejects, memoryStores } from "../../../test/helpers.js";
import {
  type AnswerSharedJobInit,
  aggregatorKeyFingerprint,
  answerJobWith,
  answerSharedJobWith,
  ConsentWithdrawnError,
  EgressMismatchError,
  jobKey,
  jobPrivacyCost,
  type PublishBlockOptions,
  SharedSpecRefusedError,
  Vault,
} from "../src/index.js";

describe("vault: answering a shared-mode job (real proofs, real Prio3 shares, no network)", function () {
  this.timeout(120_000);
  const windowEnd = 1_700_006_400;
  const local = READY_JOBS["km-per-day"]!({ collectionDeadline: windowEnd, epsilon: { num: 1, den: 1 } });
  const shared = READY_JOBS["km-per-day"]!({ collectionDeadline: windowEnd, epsilon: { num: 1, den: 1 }, mode: "shared" });
  const job = { chainId: 31337n, registry: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512", jobId: (1n << 128n) + 1n };
  const secrets = [x25519.utils.randomPrivateKey(), x25519.utils.randomPrivateKey()];
  const aggregatorKeys = secrets.map((s) => x25519.getPublicKey(s)) as [Uint8Array, Uint8Array];
  const init: AnswerSharedJobInit = {
    spec: shared,
    peers: ["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"],
    collectionDeadline: windowEnd,
    now: windowEnd - 3600,
    random: () => 0,
  };

  function recordingTransport(vault: Vault) {
    const sent: { block: Block; options: PublishBlockOptions; audited: number }[] = [];
    const publish = async (block: Block, options: PublishBlockOptions): Promise<void> => {
      sent.push({ block, options, audited: vault.audit().length });
    };
    return { sent, publish };
  }

  async function vaultInGroup() {
    const stores = memoryStores();
    const vault = await Vault.open(stores, { rootSeed: randomBytes(32), clock: () => Date.UTC(2026, 10, 1) });
    // Two days' fixes: the first day under 1 km, the second 11 km.
    await vault.addLocations([
      { t: windowEnd - 2 * 86_400 + 60, lat: 0, lon: 0 },
      { t: windowEnd - 2 * 86_400 + 120, lat: 0, lon: 0.001 },
      { t: windowEnd - 3600, lat: 0, lon: 0 },
      { t: windowEnd - 1800, lat: 0, lon: 0.1 },
    ]);
    const group = new Group([vault.avatar.commitment, deriveAvatarIdentity(randomBytes(32)).commitment]);
    return { vault, group, stores };
  }

  it("shows the mode on the consent screen and previews the exact clamped answer, with no local noise", async () => {
    const { vault } = await vaultInGroup();
    const request = await vault.review(shared, job);
    expect(request.mode).to.equal("shared");
    expect(request.preview.payload).to.deep.equal(clampToOutput(request.preview.raw, shared.output));
    expect((await vault.review(shared, job)).preview.payload, "no noise: the same answer every time").to.deep.equal(
      request.preview.payload,
    );
    expect(
      request.preview.payload.reduce((a, b) => a + b, 0),
      "a km-per-day answer sums to its days",
    ).to.equal(shared.output.total);
    const text = request.disclosure.join(" ");
    expect(text).to.match(/split in two encrypted shares, one for each of the job's two aggregators/);
    expect(text).to.match(/cannot check that different people run them/);
    expect(text).to.match(/Neither aggregator alone learns anything/);
    expect(text).to.match(/if the two collude they learn your exact answer/);
    expect(text).to.match(/ε = 1 even if one of them reveals everything/);
    expect(text).to.match(/cannot check that an aggregator summed its shares or added its noise/);
    expect(request.charge).to.deep.equal(jobPrivacyCost(shared));
    const localRequest = await vault.review(local, { ...job, jobId: 1n });
    expect(localRequest.mode).to.equal("local");
    expect(localRequest.disclosure.join(" ")).to.match(/noised on this device/);
  });

  it("consents, charges the ledger what the job costs, and sends only two encrypted shares, audited by CID and key fingerprints", async () => {
    const { vault, group } = await vaultInGroup();
    const request = await vault.review(shared, job);
    const record = await vault.consent(shared, request);
    expect(record).to.include({ mode: "shared" });
    expect(record.disclosure, "the record keeps what the user was told").to.deep.equal(request.disclosure);
    expect(record.payload).to.deep.equal(request.preview.payload);
    const charge = jobPrivacyCost(shared);
    // What one aggregator's noise gives alone, never above the declared ε.
    expect(charge).to.deep.equal(privacyCost(shared).epsilon);
    expect(charge.num / charge.den)
      .to.be.at.most(1)
      .and.above(0.5);
    expect(vault.ledger()).to.have.length(1);
    expect(vault.ledger()[0]).to.include({ jobKey: jobKey(job), num: charge.num, den: charge.den, state: "reserved" });

    const { sent, publish } = recordingTransport(vault);
    const result = await answerSharedJobWith({ publish }, vault, job, group, aggregatorKeys, init);

    expect(sent).to.have.length(1);
    const [{ block, options, audited }] = sent as [(typeof sent)[number]];
    expect(block.cid.equals(result.block.cid)).to.equal(true);
    expect(options.topic).to.equal(jobTopic(job));
    expect(audited, "audited before the bytes are handed over").to.equal(1);
    const sub = decodeSubmission(block.bytes) as SharedSubmission;
    expect(sub.version).to.equal(2);
    await verifySubmission(sub, { job, groupRoot: group.root, bounds: { length: 0, min: [], max: [] }, seenNullifiers: new Set() });
    expect(reportMessage(sub.report)).to.equal(mapreduceReportMessage(sub.report), "avatar and mapreduce agree on the message");
    // Each aggregator, and only it, opens its share.
    for (const i of [0, 1]) {
      const share = sub.report.shares[i]!;
      const aad = shareAad(sub.report.nonce, sub.report.publicShare, BigInt(sub.proof.nullifier));
      expect(hpkeOpen(secrets[i]!, share.enc, shareInfo(job, i), aad, share.ct).length).to.be.above(0);
      expect(() => hpkeOpen(secrets[1 - i]!, share.enc, shareInfo(job, i), aad, share.ct)).to.throw();
      // Bound to this avatar's nullifier: the same report copied under another member's does not open.
      const copied = shareAad(sub.report.nonce, sub.report.publicShare, BigInt(sub.proof.nullifier) + 1n);
      expect(() => hpkeOpen(secrets[i]!, share.enc, shareInfo(job, i), copied, share.ct)).to.throw();
    }

    const [entry] = vault.audit();
    expect(entry).to.include({ jobKey: jobKey(job), mode: "shared", cid: block.cid.toString(), bytesHash: toBareHex(sha256(block.bytes)) });
    expect(entry?.aggregators).to.deep.equal(aggregatorKeys.map(aggregatorKeyFingerprint));
    // What left is the envelope, never the clear answer: no payload key, and the answer's encoding appears nowhere in it.
    expect(Object.keys(dagCbor.decode(block.bytes) as object)).to.not.include("payload");
    const answer = toBareHex(dagCbor.encode(request.preview.payload));
    expect(entry?.bytes.includes(answer)).to.equal(false);
    expect(JSON.stringify({ ...entry, bytes: "" })).to.not.include(JSON.stringify(request.preview.payload).slice(1, -1));

    expect(vault.ledger()[0]).to.include({ state: "spent", num: charge.num, den: charge.den });
    expect(vault.consents()[0]?.submitted).to.be.a("number");
  });

  it("refuses hostile shared specs by name before anything is mapped, recorded or sent", async () => {
    const hostile: Array<[string, JobSpec]> = [
      ["shared with a Laplace mechanism", { ...shared, privacy: { mechanism: "discrete-laplace", epsilon: { num: 1, den: 1 } } }],
      [
        "shared with an entry from -1",
        { ...shared, output: { ...shared.output, entries: shared.output.entries.map((e, i) => (i === 0 ? { ...e, min: -1 } : e)) } },
      ],
      [
        "shared with noise too small for its ε",
        { ...shared, privacy: { ...shared.privacy, sigma2: { num: 1, den: 1 } } as JobSpec["privacy"] },
      ],
      ["shared with a count reducer", { ...shared, reducer: { kind: "count" } } as JobSpec],
    ];
    for (const [what, spec] of hostile) {
      const { vault, group, stores } = await vaultInGroup();
      const before = await captureState(stores);
      await expectRejects(vault.review(spec, job), SharedSpecRefusedError).catch((err) => {
        throw new Error(`${what}: ${(err as Error).message}`);
      });
      // A consent screen from the honest spec does not carry the hostile one through.
      const honest = await vault.review(shared, job);
      await expectRejects(vault.consent(spec, honest), SharedSpecRefusedError);
      expect(await captureState(stores), `${what}: nothing recorded`).to.deep.equal(before);
      // Consented under the honest spec, answered under the hostile one: refused before anything is sharded.
      await vault.consent(shared, honest);
      const { sent, publish } = recordingTransport(vault);
      let sharded = 0;
      const counting = (args: Parameters<typeof shardReport>[0]) => {
        sharded++;
        return shardReport(args);
      };
      await expectRejects(
        answerSharedJobWith({ publish, shard: counting }, vault, job, group, aggregatorKeys, { ...init, spec }),
        SharedSpecRefusedError,
      );
      expect(sharded, `${what}: nothing sharded`).to.equal(0);
      expect(sent).to.deep.equal([]);
      expect(vault.audit()).to.deep.equal([]);
      expect(vault.consents()[0]?.submitted).to.equal(undefined);
    }
  });

  it("leaves nothing when consent is withdrawn, before answering or while proving and waiting", async () => {
    const { vault, group } = await vaultInGroup();
    await vault.consent(shared, await vault.review(shared, job));
    await vault.withdraw(jobKey(job));
    const { sent, publish } = recordingTransport(vault);
    await expectRejects(answerSharedJobWith({ publish }, vault, job, group, aggregatorKeys, init), ConsentWithdrawnError);
    expect(vault.ledger()[0]).to.include({ state: "released" });

    const second = await vaultInGroup();
    await second.vault.consent(shared, await second.vault.review(shared, job));
    const t = recordingTransport(second.vault);
    const answering = answerSharedJobWith({ publish: t.publish }, second.vault, job, second.group, aggregatorKeys, {
      ...init,
      maxDelayMs: 1000,
      random: (bound) => bound - 1,
    });
    await second.vault.withdraw(jobKey(job));
    await expectRejects(answering, ConsentWithdrawnError, /withdrawn/);
    for (const v of [vault, second.vault]) {
      expect(v.audit()).to.deep.equal([]);
      expect(v.consents()[0]?.submitted).to.equal(undefined);
      expect(v.ledger()[0]).to.include({ state: "released" });
    }
    expect([...sent, ...t.sent]).to.deep.equal([]);
    // And without any consent: refused by name, nothing sent.
    const third = await vaultInGroup();
    await expectRejects(
      answerSharedJobWith({ publish }, third.vault, job, third.group, aggregatorKeys, init),
      ConsentRequiredError,
      /consent first/,
    );
    expect(sent).to.deep.equal([]);
  });

  it("keeps each mode's answer to its own path: the egress gate refuses the other mode, a foreign CID, one key twice", async () => {
    const { vault, group } = await vaultInGroup();
    const request = await vault.review(shared, job);
    // A local consent screen offered for the shared spec, and the reverse.
    await expectRejects(vault.consent(shared, { ...request, mode: "local" }), EgressMismatchError, /review it again/);
    await vault.consent(shared, request);
    const { sent, publish } = recordingTransport(vault);
    // The local path will not send a shared consent's exact answer.
    await expectRejects(answerJobWith({ publish }, vault, job, group, { ...init }), WrongModeError, /two encrypted shares/);
    const key = jobKey(job);
    const payload = request.preview.payload;
    const bytes = dagCbor.encode(payload);
    await expectRejects(vault.egress(key, bytes, payload), EgressMismatchError, /only as two encrypted shares/);
    await expectRejects(
      vault.egress(key, bytes, payload, {
        mode: "shared",
        cid: "bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
        aggregatorKeys,
      }),
      EgressMismatchError,
      /not the sha-256 CID/,
    );
    // A block with the right CID is still refused unless it is this job's envelope v2: the clear answer never leaves as "shares".
    const plain = await encodeBlock({ answer: payload });
    await expectRejects(
      vault.egress(key, plain.bytes, payload, { mode: "shared", cid: plain.cid.toString(), aggregatorKeys }),
      EgressMismatchError,
      /not this job's envelope/,
    );
    const v1 = await encodeSubmission(await proveSubmission(vault.avatar, group, { ...job, jobId: 1n }, payload));
    await expectRejects(
      vault.egress(key, v1.bytes, payload, { mode: "shared", cid: v1.cid.toString(), aggregatorKeys }),
      EgressMismatchError,
      /not this job's envelope/,
    );
    const otherJob = { ...job, jobId: job.jobId + 1n };
    const elsewhere = await encodeSubmission(
      await proveSharedSubmission(
        vault.avatar,
        group,
        otherJob,
        await shardReport({
          spec: shared,
          job: otherJob,
          clamped: payload,
          aggregatorKeys,
          nullifier: nullifierOf(vault.avatar, otherJob),
        }),
      ),
    );
    await expectRejects(
      vault.egress(key, elsewhere.bytes, payload, { mode: "shared", cid: elsewhere.cid.toString(), aggregatorKeys }),
      EgressMismatchError,
      /not this job's envelope/,
    );
    await expectRejects(
      answerSharedJobWith({ publish }, vault, job, group, [aggregatorKeys[0], aggregatorKeys[0]], init),
      RangeError,
      /same key/,
    );
    await expectRejects(answerSharedJobWith({ publish }, vault, job, group, aggregatorKeys, { ...init, spec: local }), WrongModeError);
    expect(sent).to.deep.equal([]);
    expect(vault.audit()).to.deep.equal([]);

    // A local consent is not answered as shares.
    const other = await vaultInGroup();
    const localJob = { ...job, jobId: 1n };
    await other.vault.consent(local, await other.vault.review(local, localJob));
    await expectRejects(
      answerSharedJobWith({ publish }, other.vault, localJob, other.group, aggregatorKeys, init),
      WrongModeError,
      /consented in local mode/,
    );
    expect(other.vault.audit()).to.deep.equal([]);
  });
});

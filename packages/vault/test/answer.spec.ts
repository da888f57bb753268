// Answering a job through the transport the caller passes: what the transport is handed, and that the egress gate still decides.
import { randomBytes } from "node:crypto";
import { decodeLocalSubmission, deriveAvatarIdentity, Group } from "@mosaic/avatar";
import { kmPerDayJob } from "@mosaic/mapreduce";
import { type Block, ConsentRequiredError, jobTopic } from "@mosaic/protocol";
import { bytesToHex } from "@noble/hashes/utils";
import { expect } from "chai";
import { expectRejects, memoryStores } from "../../../test/helpers.js";
import { type AnswerJobInit, answerJobWith, ConsentWithdrawnError, jobKey, type PublishBlockOptions, Vault } from "../src/index.js";

describe("vault: answering a job through the caller's transport (no network)", function () {
  this.timeout(60_000);
  const windowEnd = 1_700_006_400;
  const spec = kmPerDayJob({ collectionDeadline: windowEnd, epsilon: { num: 1, den: 1 } });
  const job = { chainId: 31337n, registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3", jobId: 1n };
  const init: AnswerJobInit = {
    peers: ["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"],
    collectionDeadline: windowEnd,
    now: windowEnd - 3600,
    minRecipients: 2,
    lingerMs: 500,
  };

  /** A transport that publishes nothing: it records each block, its options, and how many audit entries existed then. */
  function recordingTransport(vault: Vault) {
    const sent: { block: Block; options: PublishBlockOptions; audited: number }[] = [];
    const publish = async (block: Block, options: PublishBlockOptions): Promise<void> => {
      sent.push({ block, options, audited: vault.audit().length });
    };
    return { sent, publish };
  }

  async function vaultInGroup(): Promise<{ vault: Vault; group: Group }> {
    const vault = await Vault.open(memoryStores(), { rootSeed: randomBytes(32), clock: () => Date.UTC(2026, 10, 1) });
    await vault.addLocations([
      { t: windowEnd - 3600, lat: 0, lon: 0 },
      { t: windowEnd - 1800, lat: 0, lon: 0.1 },
    ]);
    const group = new Group([vault.avatar.commitment, deriveAvatarIdentity(randomBytes(32)).commitment]);
    return { vault, group };
  }

  it("hands the transport the block that passed the egress gate, after its audit entry, with the job's topic and options", async () => {
    const { vault, group } = await vaultInGroup();
    const request = await vault.review(spec, job);
    await vault.consent(spec, request);
    const { sent, publish } = recordingTransport(vault);

    const result = await answerJobWith({ publish }, vault, job, group, { ...init, random: () => 0 });

    expect(sent).to.have.length(1);
    const [{ block, options, audited }] = sent as [(typeof sent)[number]];
    expect(block.cid.equals(result.block.cid)).to.equal(true);
    expect(block.bytes).to.deep.equal(result.block.bytes);
    expect(decodeLocalSubmission(block.bytes).payload).to.deep.equal(request.preview.payload);
    expect(options).to.deep.equal({ peers: init.peers, topic: jobTopic(job), signal: undefined, minRecipients: 2, lingerMs: 500 });
    expect(audited, "the audit entry is written before the bytes are handed over").to.equal(1);
    expect(vault.audit()[0]).to.include({ jobKey: jobKey(job), bytes: bytesToHex(block.bytes) });
    expect(result.delayMs).to.equal(0);
  });

  it("publishes nothing when consent is withdrawn while it proves and waits: the egress gate checks consent at the publish instant", async () => {
    const { vault, group } = await vaultInGroup();
    await vault.consent(spec, await vault.review(spec, job));
    const { sent, publish } = recordingTransport(vault);

    // answerJobWith reads the consented payload before its first await; the withdrawal lands during the proof or the wait.
    const answering = answerJobWith({ publish }, vault, job, group, { ...init, maxDelayMs: 1000, random: (bound) => bound - 1 });
    await vault.withdraw(jobKey(job));

    await expectRejects(answering, ConsentWithdrawnError, /withdrawn/);
    expect(sent).to.deep.equal([]);
    expect(vault.audit()).to.deep.equal([]);
    expect(vault.consents()[0]?.submitted).to.equal(undefined);
  });

  it("refuses before proving when there is no consent, and publishes nothing", async () => {
    const { vault, group } = await vaultInGroup();
    const { sent, publish } = recordingTransport(vault);

    await expectRejects(answerJobWith({ publish }, vault, job, group, init), ConsentRequiredError, /consent first/);
    expect(sent).to.deep.equal([]);
    expect(vault.audit()).to.deep.equal([]);
  });
});

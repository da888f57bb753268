// Submission receipts (sign, verify, encode, decode) and the one-frame request/response streams they travel on.
import { expect } from "chai";
import { Wallet } from "ethers";
import {
  createIpfsNode,
  decodeHoldingsReply,
  decodeReceipt,
  decodeSubmitRequest,
  encodeBlock,
  encodeReceipt,
  encodeSubmitReply,
  FrameTooLargeError,
  ForgedReceiptError,
  HOLDINGS_PAGE,
  handle,
  type IpfsNode,
  MalformedMessageError,
  MalformedReceiptError,
  ReceiptRefusedError,
  receiptMessage,
  requestResponse,
  StreamFailedError,
  StreamTimeoutError,
  type SubmissionReceipt,
  SUBMIT_PROTOCOL,
  signReceipt,
  submitForReceipt,
  verifyReceipt,
  WrongReceiptError,
} from "../src/node.js";

const operator = new Wallet("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const stranger = new Wallet("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");
const registry = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

async function cidOf(n: number): Promise<string> {
  return (await encodeBlock({ n })).cid.toString();
}

async function receiptFor(signer: Wallet, jobId = "7", cid?: string): Promise<SubmissionReceipt> {
  return signReceipt(signer, { chainId: "31337", registry, jobId, cid: cid ?? (await cidOf(1)), receivedAt: 1_700_000_000_000 });
}

function expectThrow(fn: () => unknown, name: string, message?: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect((err as Error | undefined)?.name, String(err)).to.equal(name);
  if (message !== undefined) expect((err as Error).message).to.match(message);
}

describe("submission receipts", () => {
  const operators = new Set([operator.address.toLowerCase()]);

  it("signs and verifies: the checksummed operator comes back, and the message is domain-tagged", async () => {
    const cid = await cidOf(1);
    const r = await receiptFor(operator, "7", cid);
    expect(r.operator).to.equal(operator.address);
    expect(r.v).to.equal(1);
    expect(receiptMessage(r)).to.match(/^mosaic submission receipt v1\nchain 31337\nregistry 0x5fbdb/);
    expect(verifyReceipt(r, { chainId: 31337n, registry: registry.toLowerCase(), jobId: 7n, cid, operators })).to.equal(operator.address);
    const again = decodeReceipt(encodeReceipt(r));
    expect(again).to.deep.equal(r);
  });

  it("refuses a genuine receipt for another job, CID, chain or registry (WrongReceiptError)", async () => {
    const cid = await cidOf(1);
    const r = await receiptFor(operator, "7", cid);
    const base = { chainId: "31337", registry, jobId: "7", cid, operators };
    expectThrow(() => verifyReceipt(r, { ...base, jobId: "8" }), "WrongReceiptError", /job 7, not 8/);
    expectThrow(() => verifyReceipt(r, { ...base, chainId: "1" }), "WrongReceiptError", /chain 31337, not 1/);
    expectThrow(() => verifyReceipt(r, { ...base, registry: stranger.address }), "WrongReceiptError");
    expect(() => verifyReceipt(r, { ...base, cid: "bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy" })).to.throw(
      WrongReceiptError,
    );
  });

  it("refuses a receipt copied onto another job: the signature no longer matches its operator (ForgedReceiptError)", async () => {
    const cid = await cidOf(1);
    const r = await receiptFor(operator, "7", cid);
    const copied = { ...r, jobId: "8" };
    expectThrow(
      () => verifyReceipt(copied, { chainId: "31337", registry, jobId: "8", cid, operators }),
      "ForgedReceiptError",
      /signed by 0x/,
    );
    const otherCid = await cidOf(2);
    expect(() => verifyReceipt({ ...r, cid: otherCid }, { chainId: "31337", registry, jobId: "7", cid: otherCid, operators })).to.throw(
      ForgedReceiptError,
    );
  });

  it("refuses a receipt signed by an address that is not a staked operator, even one naming itself honestly", async () => {
    const cid = await cidOf(1);
    const r = await receiptFor(stranger, "7", cid);
    expectThrow(
      () => verifyReceipt(r, { chainId: "31337", registry, jobId: "7", cid, operators }),
      "ForgedReceiptError",
      /not a staked operator/,
    );
    // The stranger's signature under the operator's name.
    const claimed = { ...r, operator: operator.address };
    expectThrow(
      () => verifyReceipt(claimed, { chainId: "31337", registry, jobId: "7", cid, operators }),
      "ForgedReceiptError",
      /claims operator/,
    );
    // A signature of the right length that recovers to nothing.
    const garbage = { ...r, signature: `0x${"11".repeat(65)}` };
    expect(() => verifyReceipt(garbage, { chainId: "31337", registry, jobId: "7", cid, operators })).to.throw(ForgedReceiptError);
  });

  it("decodes strictly: bad JSON, over 1 KiB, unknown or missing keys, wrong types are MalformedReceiptError", async () => {
    const r = await receiptFor(operator);
    const json = JSON.parse(new TextDecoder().decode(encodeReceipt(r)));
    const bad = (v: unknown): string => JSON.stringify(v);
    expectThrow(() => decodeReceipt("{not json"), "MalformedReceiptError", /not UTF-8 JSON/);
    expectThrow(() => decodeReceipt(new Uint8Array([0xff, 0xfe, 0x7b])), "MalformedReceiptError", /not UTF-8 JSON/);
    expectThrow(() => decodeReceipt(bad({ ...json, pad: "x".repeat(1100) })), "MalformedReceiptError", /over the 1024-byte limit/);
    expectThrow(() => decodeReceipt(bad({ ...json, extra: 1 })), "MalformedReceiptError", /unknown key "extra"/);
    const { cid: _cid, ...noCid } = json;
    expectThrow(() => decodeReceipt(bad(noCid)), "MalformedReceiptError", /missing cid/);
    expectThrow(() => decodeReceipt(bad({ ...json, cid: 12345 })), "MalformedReceiptError", /cid must be a CID string/);
    expectThrow(() => decodeReceipt(bad({ ...json, cid: "not-a-cid" })), "MalformedReceiptError", /not a CID/);
    expectThrow(() => decodeReceipt(bad({ ...json, jobId: 7 })), "MalformedReceiptError", /jobId must be a decimal string/);
    expectThrow(() => decodeReceipt(bad({ ...json, jobId: "07" })), "MalformedReceiptError", /jobId/);
    expectThrow(() => decodeReceipt(bad({ ...json, v: 2 })), "MalformedReceiptError", /v must be 1/);
    expectThrow(() => decodeReceipt(bad({ ...json, receivedAt: "now" })), "MalformedReceiptError", /receivedAt/);
    expectThrow(() => decodeReceipt(bad({ ...json, receivedAt: -1 })), "MalformedReceiptError", /receivedAt/);
    expectThrow(() => decodeReceipt(bad({ ...json, signature: "0x1234" })), "MalformedReceiptError", /signature/);
    expectThrow(() => decodeReceipt(bad({ ...json, operator: "me" })), "MalformedReceiptError", /operator/);
    expectThrow(() => decodeReceipt("[1,2]"), "MalformedReceiptError", /JSON object/);
    expectThrow(() => decodeReceipt("null"), "MalformedReceiptError", /JSON object/);
    // verifyReceipt checks form too, for a receipt that never went through decodeReceipt.
    const typed = { ...r, cid: 5 } as unknown as SubmissionReceipt;
    expect(() => verifyReceipt(typed, { chainId: "31337", registry, jobId: "7", cid: r.cid, operators })).to.throw(MalformedReceiptError);
  });

  it("decodes protocol messages strictly too", async () => {
    const cid = await cidOf(1);
    const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
    expect(decodeSubmitRequest(enc({ job: "3", cid }))).to.deep.equal({ job: "3", cid });
    expect(() => decodeSubmitRequest(enc({ job: 3, cid }))).to.throw(MalformedMessageError);
    expect(() => decodeSubmitRequest(enc({ job: "3", cid, more: true }))).to.throw(MalformedMessageError);
    expect(() => decodeSubmitRequest(enc({ job: "3", cid: "x".repeat(2000) }))).to.throw(MalformedMessageError, /limit/);
    const many = Array.from({ length: HOLDINGS_PAGE + 1 }, () => cid);
    expect(() => decodeHoldingsReply(enc({ cids: many, next: null }))).to.throw(MalformedMessageError);
    expect(() => decodeHoldingsReply(enc({ cids: [cid], next: -1 }))).to.throw(MalformedMessageError);
  });
});

describe("request/response streams", function () {
  this.timeout(30_000);
  let a: IpfsNode;
  let b: IpfsNode;

  before(async () => {
    a = await createIpfsNode();
    b = await createIpfsNode();
    await a.libp2p.dial(b.libp2p.getMultiaddrs()[0]!);
  });

  after(async () => {
    await a?.stop();
    await b?.stop();
  });

  it("answers one request, and hands a vault's submission a receipt", async () => {
    const cid = await cidOf(9);
    const seen: string[] = [];
    const stop = await handle(
      b,
      SUBMIT_PROTOCOL,
      async (bytes, { peer }) => {
        const req = decodeSubmitRequest(bytes);
        seen.push(`${peer.toString()} ${req.job} ${req.cid}`);
        if (req.job !== "4") return encodeSubmitReply({ error: "UnknownJobError", message: `job ${req.job} is not served here` });
        const receipt = await signReceipt(operator, { chainId: "31337", registry, jobId: req.job, cid: req.cid, receivedAt: Date.now() });
        return encodeSubmitReply({ receipt });
      },
      { maxBytes: 1024 },
    );
    try {
      const receipt = await submitForReceipt(a, b.libp2p.peerId, { job: "4", cid });
      expect(verifyReceipt(receipt, { chainId: "31337", registry, jobId: "4", cid, operators: new Set([operator.address]) })).to.equal(
        operator.address,
      );
      expect(seen).to.deep.equal([`${a.libp2p.peerId.toString()} 4 ${cid}`]);
      let err: unknown;
      await submitForReceipt(a, b.libp2p.peerId, { job: "5", cid }).catch((e) => {
        err = e;
      });
      expect(err).to.be.instanceOf(ReceiptRefusedError);
      expect((err as ReceiptRefusedError).reason).to.equal("UnknownJobError");
    } finally {
      await stop();
    }
  });

  it("resets a request over the handler's cap without calling it, and refuses an answer over the asker's cap", async () => {
    let calls = 0;
    const stop = await handle(
      b,
      "/mosaic/test/echo",
      async (bytes) => {
        calls++;
        return new Uint8Array(bytes.length * 100);
      },
      { maxBytes: 64 },
    );
    try {
      let err: unknown;
      await requestResponse(a, b.libp2p.peerId, "/mosaic/test/echo", new Uint8Array(1000), { maxBytes: 1 << 20 }).catch((e) => {
        err = e;
      });
      expect((err as Error).name).to.equal("StreamFailedError");
      expect(calls).to.equal(0);
      err = undefined;
      await requestResponse(a, b.libp2p.peerId, "/mosaic/test/echo", new Uint8Array(10), { maxBytes: 100 }).catch((e) => {
        err = e;
      });
      expect(err).to.be.instanceOf(FrameTooLargeError);
      expect(calls).to.equal(1);
      const ok = await requestResponse(a, b.libp2p.peerId, "/mosaic/test/echo", new Uint8Array(1), { maxBytes: 100 });
      expect(ok.length).to.equal(100);
    } finally {
      await stop();
    }
  });

  it("answers a request over the cap with the named refusal it was given, without calling the handler", async () => {
    let calls = 0;
    const refusal = encodeSubmitReply({ error: "SubmissionTooLargeError", message: "submit request over 1024 bytes" });
    const stop = await handle(
      b,
      "/mosaic/test/capped",
      async () => {
        calls++;
        return new Uint8Array(1);
      },
      { maxBytes: 64, tooLargeReply: refusal },
    );
    try {
      const answer = await requestResponse(a, b.libp2p.peerId, "/mosaic/test/capped", new Uint8Array(5000), { maxBytes: 1024 });
      expect(JSON.parse(new TextDecoder().decode(answer)).error).to.equal("SubmissionTooLargeError");
      expect(calls).to.equal(0);
    } finally {
      await stop();
    }
  });

  it("times out a peer that never answers, and the handler's own timeout frees it", async () => {
    let aborted = false;
    const stop = await handle(
      b,
      "/mosaic/test/silent",
      (_bytes, { signal }) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener("abort", () => {
            aborted = true;
            reject(signal.reason);
          });
        }),
      { maxBytes: 64, timeoutMs: 300 },
    );
    try {
      const started = Date.now();
      let err: unknown;
      await requestResponse(a, b.libp2p.peerId, "/mosaic/test/silent", new Uint8Array(1), { maxBytes: 64, timeoutMs: 1500 }).catch((e) => {
        err = e;
      });
      expect((err as Error).name).to.be.oneOf(["StreamTimeoutError", "StreamFailedError"]);
      expect(Date.now() - started).to.be.below(2500);
      expect(aborted).to.equal(true);
      // A caller's timeout alone (the handler would wait 30 s).
      const stop2 = await handle(b, "/mosaic/test/silent2", () => new Promise(() => undefined), { maxBytes: 64 });
      err = undefined;
      await requestResponse(a, b.libp2p.peerId, "/mosaic/test/silent2", new Uint8Array(1), { maxBytes: 64, timeoutMs: 300 }).catch((e) => {
        err = e;
      });
      expect(err).to.be.instanceOf(StreamTimeoutError);
      await stop2();
    } finally {
      await stop();
    }
  });

  it("names a protocol the peer does not speak", async () => {
    let err: unknown;
    await requestResponse(a, b.libp2p.peerId, "/mosaic/test/none", new Uint8Array(1), { maxBytes: 64 }).catch((e) => {
      err = e;
    });
    expect(err).to.be.instanceOf(StreamFailedError);
  });
});

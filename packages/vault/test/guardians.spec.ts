// Tests for guardian recovery: split → open → approve → combine, the hiding property of Shamir, and every refusal.
import { randomBytes } from "node:crypto";
import { keccak_256 } from "@noble/hashes/sha3";
import { hkdf } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha2";
import * as dagCbor from "@ipld/dag-cbor";
import { expect } from "chai";
import { AbiCoder, computeAddress, getBytes, hexlify, keccak256, SigningKey, verifyMessage, Wallet } from "ethers";
import fc from "fast-check";
import { combine as rawCombine } from "shamir-secret-sharing";
import { expectRejects } from "../../../test/helpers.js";
import { accountIdOf } from "../src/recovery.js";
import {
  accountIdOfKey,
  accountKeyFromSeed,
  approvalHashOf,
  approveRecovery,
  combineApprovals,
  DecryptionFailedError,
  deviceKey,
  type GuardianConfig,
  type GuardianInfo,
  type GuardianKey,
  GuardiansMismatchError,
  guardianKeyFromPrivateKey,
  guardianKeyFromSeed,
  guardiansHash,
  MAX_SEALED_BYTES,
  MalformedShareError,
  openFrom,
  openSharePackage,
  sealTo,
  ShareTamperedError,
  registrationHashOf,
  signRecoveryApproval,
  signRecoveryRegistration,
  splitSeed,
  ThresholdNotMetError,
  WrongAccountError,
  WrongDeviceKeyError,
  WrongGuardianKeyError,
} from "../src/guardians.js";

const text = new TextEncoder();
const newOwner = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

/** Asserts `fn` throws an instance of `type` whose message matches `pattern`; returns the error. */
function expectThrows<E extends Error>(fn: () => unknown, type: new (...args: never[]) => E, pattern?: RegExp): E {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a ${type.name}`).to.be.instanceOf(type);
  if (pattern) expect((caught as Error).message).to.match(pattern);
  return caught as E;
}

// The AAD layouts, written out independently of the implementation so a drift in either shows up here.
function shareAad(accountId: Uint8Array): Uint8Array {
  return Buffer.concat([text.encode("mosaic/guardian/share/v1"), accountId]);
}
function approvalAad(accountId: Uint8Array, devicePublicKey: Uint8Array): Uint8Array {
  return Buffer.concat([text.encode("mosaic/guardian/approval/v1"), accountId, devicePublicKey]);
}

interface Setup {
  seed: Uint8Array;
  accountId: Uint8Array;
  keys: GuardianKey[];
  infos: GuardianInfo[];
  config: GuardianConfig;
  packages: Uint8Array[];
}

async function setup(n: number, threshold: number): Promise<Setup> {
  const seed = new Uint8Array(randomBytes(32));
  const accountId = new Uint8Array(randomBytes(32));
  const keys = Array.from({ length: n }, () => guardianKeyFromSeed(new Uint8Array(randomBytes(32))));
  const infos = keys.map((k, i) => ({ address: k.address, publicKey: k.publicKey, label: `guardian ${i}` }));
  const { config, packages } = await splitSeed(seed, { accountId, guardians: infos, threshold });
  return { seed, accountId, keys, infos, config, packages };
}

/** Every guardian in `indexes` approves a recovery to `device`. */
function approvalsFor(s: Setup, device: GuardianKey, indexes: number[]): Uint8Array[] {
  return indexes.map((i) =>
    approveRecovery(s.keys[i]!, s.packages[i]!, { accountId: s.accountId, devicePublicKey: device.publicKey, newOwner }),
  );
}

/** Seals a hand-built approval payload to the device, as a forger who knows the device public key could. */
function forgeApproval(device: GuardianKey, aadAccountId: Uint8Array, payload: Record<string, unknown>): Uint8Array {
  return sealTo(device.publicKey, dagCbor.encode(payload), approvalAad(aadAccountId, device.publicKey));
}

function configToCbor(c: GuardianConfig) {
  return {
    accountId: c.accountId,
    threshold: c.threshold,
    guardians: c.guardians.map((g) => ({ ...g })),
    shareHashes: c.shareHashes,
    salt: c.salt,
    seedCheck: c.seedCheck,
  };
}

/** Opens guardian i's package the raw way, to get at its share for forging. */
function rawShare(s: Setup, i: number): Uint8Array {
  return openSharePackage(s.keys[i]!, s.packages[i]!, s.accountId).share;
}

/** A combine that records that it was called, to prove ThresholdNotMetError comes first. */
function spyCombine(): { calls: number; combine: (shares: Uint8Array[]) => Promise<Uint8Array> } {
  const spy = {
    calls: 0,
    combine: async (shares: Uint8Array[]) => {
      spy.calls++;
      return rawCombine(shares);
    },
  };
  return spy;
}

function subsetsOf(n: number, k: number): number[][] {
  if (k === 0) return [[]];
  if (n < k) return [];
  return [...subsetsOf(n - 1, k), ...subsetsOf(n - 1, k - 1).map((s) => [...s, n - 1])];
}

describe("guardians: social recovery of the root seed", () => {
  let s: Setup;

  before(async () => {
    s = await setup(5, 3);
  });

  describe("keys", () => {
    it("derives the same guardian key from the same seed, with a checksummed address ethers agrees with", () => {
      const seed = new Uint8Array(randomBytes(32));
      const a = guardianKeyFromSeed(seed);
      const b = guardianKeyFromSeed(Uint8Array.from(seed));
      expect(a).to.deep.equal(b);
      expect(a.publicKey.length).to.equal(33);
      expect(a.address).to.equal(new Wallet(hexlify(a.privateKey)).address);
      expect(hexlify(a.publicKey)).to.equal(SigningKey.computePublicKey(hexlify(a.privateKey), true));
      expect(guardianKeyFromSeed(new Uint8Array(randomBytes(32))).address).to.not.equal(a.address);
      expect(guardianKeyFromPrivateKey(a.privateKey)).to.deep.equal(a);
    });

    it("refuses a root seed that is not 32 bytes, and a private key that is not a scalar", () => {
      expectThrows(() => guardianKeyFromSeed(new Uint8Array(31)), RangeError, /rootSeed: expected 32 bytes, got 31/);
      expectThrows(() => guardianKeyFromSeed("seed" as never), TypeError, /rootSeed/);
      expectThrows(() => guardianKeyFromPrivateKey(new Uint8Array(32)), RangeError, /privateKey: not a secp256k1 scalar/);
    });

    it("makes a fresh device key each time", () => {
      const a = deviceKey();
      const b = deviceKey();
      expect(a.address).to.not.equal(b.address);
      expect(computeAddress(hexlify(a.publicKey))).to.equal(a.address);
    });
  });

  describe("ECIES", () => {
    it("round-trips any plaintext and aad (property)", () => {
      const recipient = deviceKey();
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 2048 }), fc.uint8Array({ maxLength: 128 }), (plaintext, aad) => {
          const sealed = sealTo(recipient.publicKey, plaintext, aad);
          expect(sealed[0]).to.equal(0x01);
          expect(sealed.length).to.equal(1 + 33 + 24 + plaintext.length + 16);
          expect(openFrom(recipient.privateKey, sealed, aad)).to.deep.equal(plaintext);
        }),
        { numRuns: 50 },
      );
    });

    it("derives the key as specified: HKDF-SHA256(ECDH x, ephemeral ‖ recipient, info) and XChaCha20-Poly1305", async () => {
      const { xchacha20poly1305 } = await import("@noble/ciphers/chacha");
      const { secp256k1 } = await import("@noble/curves/secp256k1");
      const recipient = deviceKey();
      const aad = text.encode("aad");
      const sealed = sealTo(recipient.publicKey, text.encode("hello"), aad);
      const ephemeral = sealed.subarray(1, 34);
      const x = secp256k1.getSharedSecret(recipient.privateKey, ephemeral, true).subarray(1);
      const key = hkdf(sha256, x, Buffer.concat([ephemeral, recipient.publicKey]), "mosaic/guardian/ecies/v1", 32);
      const plain = xchacha20poly1305(key, sealed.subarray(34, 58), aad).decrypt(sealed.subarray(58));
      expect(new TextDecoder().decode(plain)).to.equal("hello");
    });

    it("refuses a wrong key, a wrong aad, and any flipped byte with a named error (property)", () => {
      const recipient = deviceKey();
      const aad = text.encode("aad");
      const sealed = sealTo(recipient.publicKey, text.encode("a secret share"), aad);
      expectThrows(() => openFrom(deviceKey().privateKey, sealed, aad), DecryptionFailedError, /authentication failed/);
      expectThrows(() => openFrom(recipient.privateKey, sealed, text.encode("aae")), DecryptionFailedError);
      fc.assert(
        fc.property(fc.nat(sealed.length - 1), fc.integer({ min: 1, max: 255 }), (at, mask) => {
          const bad = Uint8Array.from(sealed);
          bad[at] = bad[at]! ^ mask;
          let caught: unknown;
          try {
            openFrom(recipient.privateKey, bad, aad);
          } catch (err) {
            caught = err;
          }
          expect(caught).to.satisfy((e: unknown) => e instanceof DecryptionFailedError || e instanceof MalformedShareError);
        }),
        { numRuns: 200 },
      );
    });

    it("refuses a recipient key that is not a compressed point", () => {
      expectThrows(
        () => sealTo(new Uint8Array(33), new Uint8Array(1), new Uint8Array()),
        TypeError,
        /recipientPublicKey: not a compressed/,
      );
      expectThrows(
        () => sealTo(new Uint8Array(65), new Uint8Array(1), new Uint8Array()),
        RangeError,
        /recipientPublicKey: expected 33 bytes/,
      );
    });
  });

  describe("guardiansHash", () => {
    it("is keccak256(abi.encode(uint8, address[], bytes32[], bytes32)) and leaves out publicKeys, labels and seedCheck", () => {
      const independent = keccak256(
        AbiCoder.defaultAbiCoder().encode(
          ["uint8", "address[]", "bytes32[]", "bytes32"],
          [s.config.threshold, s.keys.map((k) => k.address), s.config.shareHashes.map((h) => hexlify(h)), hexlify(s.config.salt)],
        ),
      );
      expect(guardiansHash(s.config)).to.equal(independent);
      const relabelled = {
        ...s.config,
        guardians: s.config.guardians.map((g) => ({ address: g.address, publicKey: g.publicKey })),
        seedCheck: new Uint8Array(32),
      };
      expect(guardiansHash(relabelled)).to.equal(independent);
      expect(guardiansHash({ ...s.config, threshold: 2 })).to.not.equal(independent);
      expect(guardiansHash({ ...s.config, salt: new Uint8Array(32) })).to.not.equal(independent);
    });

    it("commits to keccak256 of each raw share and to nothing derived from the seed", () => {
      s.keys.forEach((_, i) => {
        expect(s.config.shareHashes[i]).to.deep.equal(keccak_256(rawShare(s, i)));
      });
      expect(s.config.seedCheck).to.deep.equal(hkdf(sha256, s.seed, undefined, "mosaic/guardian/seed-check/v1", 32));
    });

    it("refuses a salt or share hash of the wrong size", () => {
      expectThrows(() => guardiansHash({ ...s.config, salt: new Uint8Array(31) }), RangeError, /config\.salt: expected 32 bytes, got 31/);
      expectThrows(() => guardiansHash({ ...s.config, shareHashes: [new Uint8Array(33)] }), RangeError, /config\.shareHashes\[0\]/);
    });
  });

  describe("round trip", () => {
    it("3 of 5: each guardian opens its package, approves to a device key, and any 3 approvals recover the seed", async () => {
      const opened = s.keys.map((k, i) => openSharePackage(k, s.packages[i]!, s.accountId));
      opened.forEach((o, i) => {
        expect(o.index).to.equal(i);
        expect(o.accountId).to.deep.equal(s.accountId);
        expect(o.config.guardians[i]!.label).to.equal(`guardian ${i}`);
        expect(guardiansHash(o.config)).to.equal(guardiansHash(s.config));
      });
      const device = deviceKey();
      const approvals = approvalsFor(s, device, [0, 1, 2, 3, 4]);
      const expectedHash = guardiansHash(s.config);
      for (const subset of subsetsOf(5, 3)) {
        const result = await combineApprovals(
          device,
          subset.map((i) => approvals[i]!),
          { accountId: s.accountId, guardiansHash: expectedHash },
        );
        expect(result.seed).to.deep.equal(s.seed);
        expect(result.used).to.deep.equal(subset);
        expect(result.rejected).to.deep.equal([]);
        expect(guardiansHash(result.config)).to.equal(expectedHash);
      }
      // All five work as well, and without the on-chain hash when the approvals agree.
      expect((await combineApprovals(device, approvals, { accountId: s.accountId })).seed).to.deep.equal(s.seed);
    });

    it("recovers for any threshold, guardian count and subset of at least threshold approvals (property)", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc
            .integer({ min: 2, max: 7 })
            .chain((n) =>
              fc.tuple(fc.constant(n), fc.integer({ min: 2, max: n }), fc.shuffledSubarray([...Array(n).keys()], { minLength: 0 })),
            ),
          async ([n, threshold, subset]) => {
            const t = await setup(n, threshold);
            const device = deviceKey();
            const approvals = approvalsFor(t, device, subset);
            const spy = spyCombine();
            const expected = { accountId: t.accountId, guardiansHash: guardiansHash(t.config) };
            if (subset.length >= threshold) {
              const result = await combineApprovals(device, approvals, expected, spy);
              expect(result.seed).to.deep.equal(t.seed);
              expect(result.used).to.deep.equal([...subset].sort((a, b) => a - b));
            } else {
              const err = await expectRejects(combineApprovals(device, approvals, expected, spy), ThresholdNotMetError);
              expect(spy.calls).to.equal(0);
              expect((err as ThresholdNotMetError).have).to.equal(subset.length);
            }
          },
        ),
        { numRuns: 25 },
      );
    });

    it("counts a duplicated approval once", async () => {
      const device = deviceKey();
      const [a, b] = approvalsFor(s, device, [0, 1]);
      const spy = spyCombine();
      const err = (await expectRejects(
        combineApprovals(device, [a!, a!, b!, b!], { accountId: s.accountId }, spy),
        ThresholdNotMetError,
        /have 2 good shares, need 3/,
      )) as ThresholdNotMetError;
      expect(err.have).to.equal(2);
      expect(spy.calls).to.equal(0);
      const c = approvalsFor(s, device, [4])[0]!;
      const result = await combineApprovals(device, [a!, a!, b!, c, c], { accountId: s.accountId });
      expect(result.used).to.deep.equal([0, 1, 4]);
      expect(result.seed).to.deep.equal(s.seed);
    });
  });

  describe("too few shares", () => {
    it("2 of a 3-of-5 throws ThresholdNotMetError without ever calling combine", async () => {
      const device = deviceKey();
      const spy = spyCombine();
      const err = (await expectRejects(
        combineApprovals(device, approvalsFor(s, device, [1, 3]), { accountId: s.accountId, guardiansHash: guardiansHash(s.config) }, spy),
        ThresholdNotMetError,
        /have 2 good shares, need 3.*1 more guardian/,
      )) as ThresholdNotMetError;
      expect(err.name).to.equal("ThresholdNotMetError");
      expect([err.have, err.need]).to.deep.equal([2, 3]);
      expect(spy.calls).to.equal(0);
    });

    it("no approvals at all is ThresholdNotMetError with an unknown threshold", async () => {
      const err = (await expectRejects(
        combineApprovals(deviceKey(), [], { accountId: s.accountId }),
        ThresholdNotMetError,
      )) as ThresholdNotMetError;
      expect([err.have, err.need]).to.deep.equal([0, undefined]);
    });

    it("2 real shares of a 3-of-n split are consistent with every value of every secret byte", async () => {
      const s1 = rawShare(s, 0);
      const s2 = rawShare(s, 1);
      const usedX = new Set(s.keys.map((_, i) => rawShare(s, i)[32]));
      const x3 = [...Array(255).keys()].map((i) => i + 1).find((x) => !usedX.has(x))!;
      const seen = Array.from({ length: 32 }, () => new Set<number>());
      for (let v = 0; v < 256; v++) {
        const s3 = new Uint8Array(33).fill(v);
        s3[32] = x3;
        const candidate = await rawCombine([s1, s2, s3]);
        for (const [position, byte] of candidate.entries()) seen[position]!.add(byte);
      }
      // Each position takes all 256 values: the two shares alone rule out no seed at all.
      expect(seen.map((values) => values.size)).to.deep.equal(new Array(32).fill(256));
    });
  });

  describe("tampering", () => {
    it("a flipped byte in an approval is WrongDeviceKeyError; the other approvals still recover the seed", async () => {
      const device = deviceKey();
      const approvals = approvalsFor(s, device, [0, 1, 2, 3]);
      const bad = Uint8Array.from(approvals[1]!);
      bad[bad.length - 20] = bad[bad.length - 20]! ^ 0x40;
      approvals[1] = bad;
      const result = await combineApprovals(device, approvals, { accountId: s.accountId, guardiansHash: guardiansHash(s.config) });
      expect(result.seed).to.deep.equal(s.seed);
      expect(result.used).to.deep.equal([0, 2, 3]);
      expect(result.rejected).to.have.length(1);
      expect(result.rejected[0]!.position).to.equal(1);
      expect(result.rejected[0]!.index).to.equal(undefined);
      expect(result.rejected[0]!.error).to.be.instanceOf(WrongDeviceKeyError);
      expect(result.rejected[0]!.error.message).to.match(/altered/);
    });

    it("a re-encrypted modified share is ShareTamperedError naming the guardian index and address", async () => {
      const device = deviceKey();
      const approvals = approvalsFor(s, device, [0, 1, 2]);
      const opened = openSharePackage(s.keys[2]!, s.packages[2]!, s.accountId);
      const share = Uint8Array.from(opened.share);
      share[5] = share[5]! ^ 1;
      approvals[2] = forgeApproval(device, s.accountId, {
        v: 1,
        accountId: s.accountId,
        index: 2,
        share,
        config: configToCbor(opened.config),
      });
      const spy = spyCombine();
      const err = (await expectRejects(
        combineApprovals(device, approvals, { accountId: s.accountId }, spy),
        ThresholdNotMetError,
        /guardian 2\): ShareTamperedError/,
      )) as ThresholdNotMetError;
      expect(spy.calls).to.equal(0);
      const tampered = err.rejected.find((r) => r.error instanceof ShareTamperedError)!;
      expect(tampered.index).to.equal(2);
      const error = tampered.error as ShareTamperedError;
      expect(error.index).to.equal(2);
      expect(error.guardian).to.equal(s.keys[2]!.address);
      expect(error.message).to.contain(s.keys[2]!.address);
      // With a fourth honest approval the tampered one is set aside and recovery goes on.
      const result = await combineApprovals(device, [...approvals, ...approvalsFor(s, device, [4])], { accountId: s.accountId });
      expect(result.seed).to.deep.equal(s.seed);
      expect(result.used).to.deep.equal([0, 1, 4]);
      expect(result.rejected.map((r) => r.error.name)).to.deep.equal(["ShareTamperedError"]);
    });

    it("a share forged together with its config's hash is caught by seedCheck", async () => {
      const device = deviceKey();
      const opened = [0, 1, 2].map((i) => openSharePackage(s.keys[i]!, s.packages[i]!, s.accountId));
      const share = Uint8Array.from(opened[2]!.share);
      share[0] = share[0]! ^ 1;
      const forgedConfig = { ...opened[2]!.config, shareHashes: [...opened[2]!.config.shareHashes] };
      forgedConfig.shareHashes[2] = keccak_256(share);
      // A forger who controls every approval the device sees puts the forged config in all of them.
      const approvals = opened.map((o, i) =>
        forgeApproval(device, s.accountId, {
          v: 1,
          accountId: s.accountId,
          index: i,
          share: i === 2 ? share : o.share,
          config: configToCbor(forgedConfig),
        }),
      );
      await expectRejects(combineApprovals(device, approvals, { accountId: s.accountId }), ShareTamperedError, /seedCheck/);
      // The on-chain hash stops it earlier: the forged config is not the account's.
      await expectRejects(
        combineApprovals(device, approvals, { accountId: s.accountId, guardiansHash: guardiansHash(s.config) }),
        GuardiansMismatchError,
        /chain expects/,
      );
    });

    it("a package sealed to guardian A but claiming guardian B's slot is ShareTamperedError", () => {
      const opened = openSharePackage(s.keys[1]!, s.packages[1]!, s.accountId);
      const pkg = sealTo(
        s.keys[0]!.publicKey,
        dagCbor.encode({ v: 1, accountId: s.accountId, index: 1, share: opened.share, config: configToCbor(opened.config) }),
        shareAad(s.accountId),
      );
      const err = expectThrows(() => openSharePackage(s.keys[0]!, pkg, s.accountId), ShareTamperedError, /guardian index 1/);
      expect(err.index).to.equal(1);
    });
  });

  describe("wrong keys and accounts", () => {
    it("a package opened with another guardian's key, or for another account, is WrongGuardianKeyError", () => {
      const err = expectThrows(
        () => openSharePackage(s.keys[1]!, s.packages[0]!, s.accountId),
        WrongGuardianKeyError,
        /sealed to another guardian/,
      );
      expect(err.guardian).to.equal(s.keys[1]!.address);
      expect(err.cause).to.be.instanceOf(DecryptionFailedError);
      expectThrows(() => openSharePackage(s.keys[0]!, s.packages[0]!, new Uint8Array(32)), WrongGuardianKeyError, /another account id/);
      expectThrows(
        () => approveRecovery(s.keys[1]!, s.packages[0]!, { accountId: s.accountId, devicePublicKey: deviceKey().publicKey, newOwner }),
        WrongGuardianKeyError,
      );
    });

    it("approvals for another device key are WrongDeviceKeyError", async () => {
      const device = deviceKey();
      const approvals = approvalsFor(s, deviceKey(), [0, 1, 2]);
      const err = (await expectRejects(
        combineApprovals(device, approvals, { accountId: s.accountId }),
        ThresholdNotMetError,
      )) as ThresholdNotMetError;
      expect(err.need).to.equal(undefined);
      expect(err.rejected.map((r) => r.error.name)).to.deep.equal(new Array(3).fill("WrongDeviceKeyError"));
    });

    it("approvals from another account are refused: unopenable under this account, WrongAccountError when the payload claims another", async () => {
      const other = await setup(3, 2);
      const device = deviceKey();
      const foreign = approvalsFor(other, device, [0, 1]);
      const mine = approvalsFor(s, device, [0, 1, 2]);
      const result = await combineApprovals(device, [...foreign, ...mine], { accountId: s.accountId });
      expect(result.seed).to.deep.equal(s.seed);
      expect(result.rejected.map((r) => r.error.name)).to.deep.equal(["WrongDeviceKeyError", "WrongDeviceKeyError"]);
      expect(result.rejected[0]!.error.message).to.match(/another device key or account id/);
      // Sealed under this account's AAD but carrying the other account's share: the payload gives it away.
      const opened = openSharePackage(other.keys[0]!, other.packages[0]!, other.accountId);
      const smuggled = forgeApproval(device, s.accountId, {
        v: 1,
        accountId: other.accountId,
        index: 0,
        share: opened.share,
        config: configToCbor(opened.config),
      });
      const withSmuggled = await combineApprovals(device, [smuggled, ...mine], { accountId: s.accountId });
      expect(withSmuggled.seed).to.deep.equal(s.seed);
      const rejected = withSmuggled.rejected[0]!.error as WrongAccountError;
      expect(rejected).to.be.instanceOf(WrongAccountError);
      expect(rejected.found).to.equal(hexlify(other.accountId));
      expect(rejected.expected).to.equal(hexlify(s.accountId));
    });
  });

  describe("config agreement", () => {
    it("refuses approvals whose config does not hash to the on-chain guardiansHash", async () => {
      const device = deviceKey();
      const err = (await expectRejects(
        combineApprovals(device, approvalsFor(s, device, [0, 1, 2]), { accountId: s.accountId, guardiansHash: `0x${"ab".repeat(32)}` }),
        GuardiansMismatchError,
        /ask them for this account's current packages/,
      )) as GuardiansMismatchError;
      expect(err.expected).to.equal(`0x${"ab".repeat(32)}`);
      expect(err.found).to.deep.equal([guardiansHash(s.config)]);
    });

    it("the majority config wins without a chain hash; the chain hash wins over a majority", async () => {
      // A re-split of the same seed to the same guardians: a different salt and shares, so a different config.
      const { config: newConfig, packages: newPackages } = await splitSeed(s.seed, {
        accountId: s.accountId,
        guardians: s.infos,
        threshold: 3,
      });
      const next: Setup = { ...s, config: newConfig, packages: newPackages };
      const device = deviceKey();
      const oldApprovals = approvalsFor(s, device, [0, 1, 2]);
      const newApprovals = approvalsFor(next, device, [3, 4, 0, 1]);
      const majority = await combineApprovals(device, [...oldApprovals, ...newApprovals], { accountId: s.accountId });
      expect(guardiansHash(majority.config)).to.equal(guardiansHash(newConfig));
      expect(majority.used).to.deep.equal([0, 1, 3, 4]);
      expect(majority.rejected.map((r) => [r.position, r.error.name])).to.deep.equal([
        [0, "GuardiansMismatchError"],
        [1, "GuardiansMismatchError"],
        [2, "GuardiansMismatchError"],
      ]);
      const pinned = await combineApprovals(device, [...oldApprovals, ...newApprovals], {
        accountId: s.accountId,
        guardiansHash: guardiansHash(s.config),
      });
      expect(guardiansHash(pinned.config)).to.equal(guardiansHash(s.config));
      expect(pinned.used).to.deep.equal([0, 1, 2]);
      expect(pinned.seed).to.deep.equal(s.seed);
      // Two configs with equal support and no chain hash to decide: refuse rather than guess.
      await expectRejects(
        combineApprovals(device, [...oldApprovals, ...newApprovals.slice(0, 3)], { accountId: s.accountId }),
        GuardiansMismatchError,
        /equal support.*expected\.guardiansHash/,
      );
    });

    it("an approval whose config differs only in seedCheck is an outlier", async () => {
      const device = deviceKey();
      const approvals = approvalsFor(s, device, [0, 1, 2]);
      const opened = openSharePackage(s.keys[3]!, s.packages[3]!, s.accountId);
      approvals.push(
        forgeApproval(device, s.accountId, {
          v: 1,
          accountId: s.accountId,
          index: 3,
          share: opened.share,
          config: configToCbor({ ...opened.config, seedCheck: new Uint8Array(32) }),
        }),
      );
      const result = await combineApprovals(device, approvals, { accountId: s.accountId, guardiansHash: guardiansHash(s.config) });
      expect(result.used).to.deep.equal([0, 1, 2]);
      expect(result.rejected[0]!.error).to.be.instanceOf(GuardiansMismatchError);
      expect(result.rejected[0]!.error.message).to.match(/seedCheck differs/);
    });
  });

  describe("on-chain approval signature", () => {
    it("signRecoveryApproval recovers to the guardian's address as an EIP-191 message over the 32 bytes", async () => {
      const hash = keccak256(text.encode("approval"));
      const sig = await signRecoveryApproval(s.keys[2]!, hash);
      expect(verifyMessage(getBytes(hash), sig)).to.equal(s.keys[2]!.address);
      expect(verifyMessage(hash, sig)).to.not.equal(s.keys[2]!.address);
    });

    it("refuses an approvalHash that is not a bytes32", async () => {
      await expectRejects(signRecoveryApproval(s.keys[0]!, "0x1234"), TypeError, /approvalHash: expected a 0x-prefixed bytes32/);
    });

    it("the account key is deterministic, separate from the guardian key, and names the account id", async () => {
      const seed = new Uint8Array(randomBytes(32));
      const key = accountKeyFromSeed(seed);
      expect(accountKeyFromSeed(Uint8Array.from(seed)).address).to.equal(key.address);
      expect(key.address).to.not.equal(guardianKeyFromSeed(seed).address);
      const tag = keccak256(text.encode("mosaic.vault-recovery.account.v1"));
      const id = keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32", "address"], [tag, key.address]));
      expect(accountIdOfKey(key.address)).to.equal(id);
      expect(hexlify(accountIdOf(seed))).to.equal(id);
      expect(() => accountIdOfKey("0x1234")).to.throw(TypeError, /accountKeyAddress: expected an Ethereum address/);
      const hash = keccak256(text.encode("registration"));
      expect(verifyMessage(getBytes(hash), await signRecoveryRegistration(key, hash))).to.equal(key.address);
      await expectRejects(signRecoveryRegistration(key, "0x12"), TypeError, /registrationHash: expected a 0x-prefixed bytes32/);
    });

    it("approval and registration hashes bind every field", () => {
      const domain = { chainId: 31337n, contract: newOwner };
      const a = { accountId: keccak256("0x01"), newOwner, nonce: 0n, guardiansHash: keccak256("0x02"), expiresAt: 1_700_000_000 };
      const base = approvalHashOf(domain, a);
      const variants = [
        approvalHashOf({ ...domain, chainId: 1n }, a),
        approvalHashOf({ ...domain, contract: s.keys[0]!.address }, a),
        approvalHashOf(domain, { ...a, accountId: keccak256("0x03") }),
        approvalHashOf(domain, { ...a, newOwner: s.keys[0]!.address }),
        approvalHashOf(domain, { ...a, nonce: 1n }),
        approvalHashOf(domain, { ...a, guardiansHash: keccak256("0x04") }),
        approvalHashOf(domain, { ...a, expiresAt: a.expiresAt + 1 }),
      ];
      const r = { accountId: a.accountId, owner: newOwner, guardiansHash: a.guardiansHash, recoveryDelay: 7n, guardianDelay: 8n };
      const registration = registrationHashOf(domain, r);
      variants.push(
        registration,
        registrationHashOf(domain, { ...r, owner: s.keys[0]!.address }),
        registrationHashOf(domain, { ...r, recoveryDelay: 8n, guardianDelay: 7n }),
      );
      expect(new Set([base, ...variants]).size).to.equal(variants.length + 1);
    });
  });

  describe("hostile inputs", () => {
    const hostile: [string, () => Uint8Array, RegExp][] = [
      ["oversized", () => new Uint8Array(MAX_SEALED_BYTES + 1).fill(1), /over the 65536-byte limit/],
      ["empty", () => new Uint8Array(0), /shorter than/],
      ["wrong version byte", () => Uint8Array.of(0x02, ...new Uint8Array(100)), /version byte is 2/],
      ["an invalid ephemeral key", () => Uint8Array.of(0x01, 0x04, ...new Uint8Array(100)), /not a compressed secp256k1 point/],
    ];
    for (const [what, make, pattern] of hostile) {
      it(`a share package or approval that is ${what} is MalformedShareError`, async () => {
        expectThrows(() => openSharePackage(s.keys[0]!, make(), s.accountId), MalformedShareError, pattern);
        const device = deviceKey();
        const result = await combineApprovals(device, [make(), ...approvalsFor(s, device, [0, 1, 2])], { accountId: s.accountId });
        expect(result.seed).to.deep.equal(s.seed);
        expect(result.rejected[0]!.error).to.be.instanceOf(MalformedShareError);
        expect(result.rejected[0]!.error.message).to.match(pattern);
      });
    }

    it("checks the size limit before decrypting: a too-large package sealed to the right key is still refused", () => {
      const big = sealTo(s.keys[0]!.publicKey, new Uint8Array(MAX_SEALED_BYTES), shareAad(s.accountId));
      expectThrows(() => openSharePackage(s.keys[0]!, big, s.accountId), MalformedShareError, /over the 65536-byte limit/);
    });

    it("random bytes get a named error (property)", () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, versioned) => {
          if (versioned && bytes.length > 0) bytes[0] = 0x01;
          let caught: unknown;
          try {
            openSharePackage(s.keys[0]!, bytes, s.accountId);
          } catch (err) {
            caught = err;
          }
          expect(caught).to.satisfy((e: unknown) => e instanceof MalformedShareError || e instanceof WrongGuardianKeyError);
        }),
        { numRuns: 200 },
      );
    });

    it("well-sealed contents of the wrong shape are MalformedShareError naming the field", () => {
      const opened = openSharePackage(s.keys[0]!, s.packages[0]!, s.accountId);
      const good = { v: 1, accountId: s.accountId, index: 0, share: opened.share, config: configToCbor(opened.config) };
      const cases: [unknown, RegExp][] = [
        [{ ...good, v: 2 }, /v: expected 1, got 2/],
        [{ ...good, index: 5 }, /index: expected an integer from 0 to 4, got 5/],
        [{ ...good, index: -1 }, /index/],
        [{ ...good, share: opened.share.subarray(1) }, /share: expected 33 bytes, got 32 bytes/],
        [{ ...good, config: { ...good.config, threshold: 6 } }, /config\.threshold: expected an integer from 2 to 5, got 6/],
        [{ ...good, config: { ...good.config, shareHashes: good.config.shareHashes.slice(1) } }, /config\.shareHashes/],
        [{ ...good, config: { ...good.config, salt: "salt" } }, /config\.salt: expected 32 bytes, got "salt"/],
        [
          { ...good, config: { ...good.config, guardians: [{ address: "0x12" }, ...good.config.guardians.slice(1)] } },
          /config\.guardians\[0\]\.address/,
        ],
        [[1, 2, 3], /expected a map/],
        ["just a string", /expected a map/],
      ];
      for (const [payload, pattern] of cases) {
        const pkg = sealTo(s.keys[0]!.publicKey, dagCbor.encode(payload), shareAad(s.accountId));
        expectThrows(() => openSharePackage(s.keys[0]!, pkg, s.accountId), MalformedShareError, pattern);
      }
      const notCbor = sealTo(s.keys[0]!.publicKey, Uint8Array.of(0xff, 0xff), shareAad(s.accountId));
      expectThrows(() => openSharePackage(s.keys[0]!, notCbor, s.accountId), MalformedShareError, /not dag-cbor/);
    });
  });

  describe("splitSeed validation", () => {
    const base = () => ({ accountId: s.accountId, guardians: s.infos, threshold: 3 });
    const cases: [string, () => Parameters<typeof splitSeed>, new (...args: never[]) => Error, RegExp][] = [
      [
        "a threshold of 1",
        () => [s.seed, { ...base(), threshold: 1 }],
        RangeError,
        /threshold: expected an integer from 2 to guardians\.length \(5\), got 1/,
      ],
      ["a threshold above the guardian count", () => [s.seed, { ...base(), threshold: 6 }], RangeError, /threshold: .* got 6/],
      ["a fractional threshold", () => [s.seed, { ...base(), threshold: 2.5 }], RangeError, /threshold/],
      [
        "one guardian",
        () => [s.seed, { ...base(), guardians: s.infos.slice(0, 1), threshold: 2 }],
        RangeError,
        /guardians: expected 2 to 255 guardians, got 1/,
      ],
      [
        "256 guardians",
        () => [s.seed, { ...base(), guardians: new Array(256).fill(s.infos[0]), threshold: 2 }],
        RangeError,
        /guardians: expected 2 to 255 guardians, got 256/,
      ],
      [
        "a duplicated guardian",
        () => [s.seed, { ...base(), guardians: [...s.infos, s.infos[1]!] }],
        RangeError,
        /guardians\[5\]\.address: .* is also guardians\[1\]/,
      ],
      [
        "a bad address",
        () => [s.seed, { ...base(), guardians: [{ ...s.infos[0]!, address: "0xnope" }, ...s.infos.slice(1)] }],
        TypeError,
        /guardians\[0\]\.address: expected an Ethereum address, got "0xnope"/,
      ],
      [
        "a public key that is not a point",
        () => [
          s.seed,
          {
            ...base(),
            guardians: [{ ...s.infos[0]!, publicKey: Uint8Array.of(2, ...new Uint8Array(32).fill(0xff)) }, ...s.infos.slice(1)],
          },
        ],
        TypeError,
        /guardians\[0\]\.publicKey: not a compressed secp256k1 point/,
      ],
      [
        "another guardian's public key",
        () => [s.seed, { ...base(), guardians: [{ ...s.infos[0]!, publicKey: s.infos[1]!.publicKey }, ...s.infos.slice(1)] }],
        TypeError,
        /guardians\[0\]\.publicKey: belongs to .*, not guardians\[0\]\.address/,
      ],
      [
        "a label over 64 characters",
        () => [s.seed, { ...base(), guardians: [{ ...s.infos[0]!, label: "x".repeat(65) }, ...s.infos.slice(1)] }],
        RangeError,
        /guardians\[0\]\.label: expected at most 64 characters, got 65/,
      ],
      ["a 16-byte seed", () => [new Uint8Array(16), base()], RangeError, /rootSeed: expected 32 bytes, got 16/],
      [
        "a short account id",
        () => [s.seed, { ...base(), accountId: new Uint8Array(20) }],
        RangeError,
        /accountId: expected 32 bytes, got 20/,
      ],
    ];
    for (const [what, args, type, pattern] of cases) {
      it(`refuses ${what} with a ${type.name} naming the field`, async () => {
        await expectRejects(splitSeed(...args()), type, pattern);
      });
    }

    it("approveRecovery refuses a bad device key or new owner", () => {
      const request = { accountId: s.accountId, devicePublicKey: deviceKey().publicKey, newOwner };
      expectThrows(
        () => approveRecovery(s.keys[0]!, s.packages[0]!, { ...request, devicePublicKey: new Uint8Array(33) }),
        TypeError,
        /request\.devicePublicKey/,
      );
      expectThrows(() => approveRecovery(s.keys[0]!, s.packages[0]!, { ...request, newOwner: "bob" }), TypeError, /request\.newOwner/);
    });

    it("refuses a guardian key whose public half does not belong to its private half", () => {
      const forged = { ...s.keys[0]!, publicKey: s.keys[1]!.publicKey };
      expectThrows(() => openSharePackage(forged, s.packages[0]!, s.accountId), TypeError, /guardianKey\.publicKey: does not belong/);
    });
  });
});

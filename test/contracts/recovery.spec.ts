// VaultRecovery on Hardhat's in-process network: every function, every revert, and the stored accounts unchanged after each.
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";
import fc from "fast-check";
import {
  AbiCoder,
  type BaseWallet,
  concat,
  getBytes,
  hexlify,
  keccak256,
  type Signer,
  Signature,
  toBeHex,
  toUtf8Bytes,
  verifyMessage,
  Wallet,
  zeroPadValue,
  ZeroAddress,
  ZeroHash,
} from "ethers";
import { network } from "hardhat";

type Connection = Awaited<ReturnType<typeof network.connect>>;

/** A guardian set as the owner's client keeps it; only its hash goes on chain. */
interface GuardianSet {
  threshold: number;
  wallets: BaseWallet[];
  guardians: string[];
  shareHashes: string[];
  salt: string;
}

const abi = AbiCoder.defaultAbiCoder();
const HOUR = 3_600n;
const DAY = 86_400n;
const MIN_DELAY = 2n * HOUR;
const RECOVERY_DELAY = 3n * HOUR;
const GUARDIAN_DELAY = DAY;
const MAX_DELAY = 365n * DAY;
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const MAX_APPROVAL_LIFETIME = 30n * DAY;
const ACCOUNT_TAG = keccak256(toUtf8Bytes("mosaic.vault-recovery.account.v1"));
const REGISTER_TAG = keccak256(toUtf8Bytes("mosaic.vault-recovery.owner.v1"));
const APPROVAL_TAG = keccak256(toUtf8Bytes("mosaic.vault-recovery.approve.v2"));

function randomBytes32(): string {
  return hexlify(Wallet.createRandom().privateKey);
}

function makeSet(size: number, threshold: number): GuardianSet {
  const wallets: BaseWallet[] = Array.from({ length: size }, () => Wallet.createRandom());
  return {
    threshold,
    wallets,
    guardians: wallets.map((w) => w.address),
    shareHashes: wallets.map(() => randomBytes32()),
    salt: randomBytes32(),
  };
}

function hashSet(s: Pick<GuardianSet, "threshold" | "guardians" | "shareHashes" | "salt">): string {
  return keccak256(abi.encode(["uint8", "address[]", "bytes32[]", "bytes32"], [s.threshold, s.guardians, s.shareHashes, s.salt]));
}

/** The approval hash as a client builds it, independently of the contract's `approvalHash` view. */
function clientApprovalHash(d: {
  chainId: bigint;
  contract: string;
  accountId: string;
  newOwner: string;
  nonce: bigint;
  guardiansHash: string;
  expiresAt: bigint;
}): string {
  return keccak256(
    abi.encode(
      ["bytes32", "uint256", "address", "bytes32", "address", "uint256", "bytes32", "uint256"],
      [APPROVAL_TAG, d.chainId, d.contract, d.accountId, d.newOwner, d.nonce, d.guardiansHash, d.expiresAt],
    ),
  );
}

/** The account id of an account key, as a client derives it. */
function accountIdOfKey(key: string): string {
  return keccak256(abi.encode(["bytes32", "address"], [ACCOUNT_TAG, key]));
}

/** The registration hash as a client builds it, independently of the contract's `registrationHash` view. */
function clientRegistrationHash(d: {
  chainId: bigint;
  contract: string;
  accountId: string;
  owner: string;
  guardiansHash: string;
  recoveryDelay: bigint;
  guardianDelay: bigint;
}): string {
  return keccak256(
    abi.encode(
      ["bytes32", "uint256", "address", "bytes32", "address", "bytes32", "uint256", "uint256"],
      [REGISTER_TAG, d.chainId, d.contract, d.accountId, d.owner, d.guardiansHash, d.recoveryDelay, d.guardianDelay],
    ),
  );
}

/** Rebuilds a 65-byte signature from parts, none of them checked. */
function rawSignature(r: string, s: bigint, v: number): string {
  return concat([zeroPadValue(r, 32), toBeHex(s, 32), toBeHex(v, 1)]);
}

describe("VaultRecovery", () => {
  let ethers: Connection["ethers"];
  let networkHelpers: Connection["networkHelpers"];
  before(async () => {
    ({ ethers, networkHelpers } = await network.connect());
  });

  const deploy = (minDelay: bigint = MIN_DELAY) => ethers.deployContract("VaultRecovery", [minDelay]);
  let recovery: Awaited<ReturnType<typeof deploy>>;
  let address: string;
  let chainId: bigint;
  let owner: Signer, other: Signer, newOwner: Signer, outsider: Signer;
  let ownerAddr: string, otherAddr: string, newOwnerAddr: string;
  let set: GuardianSet;
  // Each account id is the tagged hash of an account key's address; the keys are fixed so the ids are too.
  const keyA = new Wallet(keccak256(toUtf8Bytes("account-key-a")));
  const keyB = new Wallet(keccak256(toUtf8Bytes("account-key-b")));
  const keyC = new Wallet(keccak256(toUtf8Bytes("account-key-c")));
  const keyUnknown = new Wallet(keccak256(toUtf8Bytes("account-key-unknown")));
  const A = accountIdOfKey(keyA.address);
  const B = accountIdOfKey(keyB.address);
  const C = accountIdOfKey(keyC.address);
  const UNKNOWN = accountIdOfKey(keyUnknown.address);

  async function snapshot(): Promise<string> {
    const accounts = await Promise.all([A, B, C, UNKNOWN].map((id) => recovery.accountOf(id)));
    return JSON.stringify(
      accounts.map((a) => [...a]),
      (_k, v) => (typeof v === "bigint" ? v.toString() : v),
    );
  }

  /** Asserts the call reverts with `error` (and `args`, when given) and leaves every account as it was. */
  async function expectRevert(call: () => Promise<unknown>, error: string, args?: unknown[]): Promise<void> {
    const before = await snapshot();
    const assertion = expect(call()).to.be.revertedWithCustomError(recovery, error);
    await (args ? assertion.withArgs(...args) : assertion);
    expect(await snapshot(), `${error} left state unchanged`).to.equal(before);
  }

  /** The account key signs `owner` in: what `register` checks. */
  async function signRegistration(
    key: BaseWallet,
    r: { owner: string; guardiansHash: string; recoveryDelay: bigint; guardianDelay: bigint },
    overrides: Partial<{ chainId: bigint; contract: string; accountId: string }> = {},
  ): Promise<string> {
    const hash = clientRegistrationHash({
      chainId: overrides.chainId ?? chainId,
      contract: overrides.contract ?? address,
      accountId: overrides.accountId ?? accountIdOfKey(key.address),
      ...r,
    });
    return key.signMessage(getBytes(hash));
  }

  /** Registers `key`'s account from `from`, signed for `from` and exactly these settings. */
  async function registerAs(from: Signer, key: BaseWallet, guardiansHash: string, recoveryDelay: bigint, guardianDelay: bigint) {
    const owner = await from.getAddress();
    const signature = await signRegistration(key, { owner, guardiansHash, recoveryDelay, guardianDelay });
    return recovery.connect(from).register(accountIdOfKey(key.address), guardiansHash, recoveryDelay, guardianDelay, signature);
  }

  /** An expiry a day ahead of the chain's clock: comfortably valid for the next transactions. */
  async function soon(): Promise<bigint> {
    return BigInt(await networkHelpers.time.latest()) + DAY;
  }

  let expiry: bigint;

  async function approve(
    wallets: BaseWallet[],
    to: string,
    overrides: Partial<{
      chainId: bigint;
      contract: string;
      accountId: string;
      nonce: bigint;
      guardiansHash: string;
      expiresAt: bigint;
    }> = {},
  ): Promise<string[]> {
    const accountId = overrides.accountId ?? A;
    const hash = clientApprovalHash({
      chainId: overrides.chainId ?? chainId,
      contract: overrides.contract ?? address,
      accountId,
      newOwner: to,
      nonce: overrides.nonce ?? (await recovery.nonceOf(accountId)),
      guardiansHash: overrides.guardiansHash ?? (await recovery.guardiansHashOf(accountId)),
      expiresAt: overrides.expiresAt ?? expiry,
    });
    return Promise.all(wallets.map((w) => w.signMessage(getBytes(hash))));
  }

  function start(
    signatures: string[],
    o: Partial<{
      accountId: string;
      to: string;
      expiresAt: bigint;
      set: Pick<GuardianSet, "threshold" | "guardians" | "shareHashes" | "salt">;
      from: Signer;
    }> = {},
  ) {
    const s = o.set ?? set;
    return recovery
      .connect(o.from ?? other)
      .startRecovery(
        o.accountId ?? A,
        o.to ?? newOwnerAddr,
        o.expiresAt ?? expiry,
        s.threshold,
        s.guardians,
        s.shareHashes,
        s.salt,
        signatures,
      );
  }

  /** Sends the next transaction at a known timestamp and returns it. */
  async function nextTimestamp(): Promise<bigint> {
    const t = BigInt(await networkHelpers.time.latest()) + 1n;
    await networkHelpers.time.setNextBlockTimestamp(t);
    return t;
  }

  beforeEach(async () => {
    [, owner, other, newOwner, outsider] = (await ethers.getSigners()) as unknown as [Signer, Signer, Signer, Signer, Signer];
    [ownerAddr, otherAddr, newOwnerAddr] = (await Promise.all([owner, other, newOwner].map((s) => s.getAddress()))) as [
      string,
      string,
      string,
    ];
    recovery = await deploy();
    address = await recovery.getAddress();
    chainId = (await ethers.provider.getNetwork()).chainId;
    set = makeSet(5, 3);
    await (await registerAs(owner, keyA, hashSet(set), RECOVERY_DELAY, GUARDIAN_DELAY)).wait();
    await (await registerAs(other, keyB, hashSet(makeSet(3, 2)), MIN_DELAY, 0n)).wait();
    // Tests that move the clock far take a fresh expiry; the rest approve until a day after setup.
    expiry = await soon();
  });

  describe("deployment and views", () => {
    it("test_constructor_setsMinRecoveryDelay", async () => {
      expect(await recovery.minRecoveryDelay()).to.equal(MIN_DELAY);
      expect(await recovery.MAX_DELAY()).to.equal(MAX_DELAY);
      expect(await recovery.MAX_GUARDIANS()).to.equal(255n);
    });
    it("test_constructor_rejectsMinDelayAboveMax", async () => {
      await expect(deploy(MAX_DELAY + 1n))
        .to.be.revertedWithCustomError(recovery, "DelayTooLong")
        .withArgs(MAX_DELAY + 1n, MAX_DELAY);
    });
    it("test_views_unknownAccountIsAllZero", async () => {
      expect(await recovery.ownerOf(UNKNOWN)).to.equal(ZeroAddress);
      expect(await recovery.guardiansHashOf(UNKNOWN)).to.equal(ZeroHash);
      expect(await recovery.nonceOf(UNKNOWN)).to.equal(0n);
      expect(await recovery.pendingRecoveryOf(UNKNOWN)).to.deep.equal([ZeroAddress, 0n]);
      expect(await recovery.accountOf(UNKNOWN)).to.deep.equal([ZeroAddress, ZeroHash, ZeroHash, 0n, 0n, 0n, 0n, ZeroAddress, 0n]);
    });
    it("test_approvalHash_matchesClientEncoding", async () => {
      const h = hashSet(set);
      const d = { chainId, contract: address, accountId: A, newOwner: newOwnerAddr, guardiansHash: h, expiresAt: expiry };
      expect(await recovery.approvalHash(A, newOwnerAddr, expiry)).to.equal(clientApprovalHash({ ...d, nonce: 0n }));
      await (await start(await approve(set.wallets.slice(0, 3), newOwnerAddr))).wait();
      await (await recovery.connect(owner).cancelRecovery(A)).wait();
      expect(await recovery.approvalHash(A, newOwnerAddr, expiry)).to.equal(clientApprovalHash({ ...d, nonce: 1n }));
      // The view counts a matured guardian change, as startRecovery does.
      const next = hashSet(makeSet(3, 2));
      await (await recovery.connect(owner).proposeGuardians(A, next)).wait();
      expect(await recovery.approvalHash(A, newOwnerAddr, expiry)).to.equal(clientApprovalHash({ ...d, nonce: 1n }));
      await networkHelpers.time.increase(GUARDIAN_DELAY);
      expect(await recovery.approvalHash(A, newOwnerAddr, expiry)).to.equal(clientApprovalHash({ ...d, nonce: 1n, guardiansHash: next }));
    });
    it("test_accountIdOf_andRegistrationHash_matchClientEncoding", async () => {
      expect(await recovery.accountIdOf(keyA.address)).to.equal(A);
      expect(await recovery.registrationHash(C, newOwnerAddr, hashSet(set), MIN_DELAY, 7n)).to.equal(
        clientRegistrationHash({
          chainId,
          contract: address,
          accountId: C,
          owner: newOwnerAddr,
          guardiansHash: hashSet(set),
          recoveryDelay: MIN_DELAY,
          guardianDelay: 7n,
        }),
      );
    });
  });

  describe("register", () => {
    it("test_register_emitsAndStores", async () => {
      const hash = hashSet(set);
      await expect(registerAs(newOwner, keyC, hash, MIN_DELAY, 0n))
        .to.emit(recovery, "AccountRegistered")
        .withArgs(C, newOwnerAddr, hash, MIN_DELAY, 0n);
      expect(await recovery.accountOf(C)).to.deep.equal([newOwnerAddr, hash, ZeroHash, 0n, MIN_DELAY, 0n, 0n, ZeroAddress, 0n]);
      expect(await recovery.ownerOf(C)).to.equal(newOwnerAddr);
      expect(await recovery.guardiansHashOf(C)).to.equal(hash);
      expect(await recovery.nonceOf(C)).to.equal(0n);
      expect(await recovery.pendingRecoveryOf(C)).to.deep.equal([ZeroAddress, 0n]);
    });
    it("test_register_acceptsBoundaryDelays", async () => {
      await expect(registerAs(newOwner, keyC, hashSet(set), MAX_DELAY, MAX_DELAY))
        .to.emit(recovery, "AccountRegistered")
        .withArgs(C, newOwnerAddr, hashSet(set), MAX_DELAY, MAX_DELAY);
    });
    it("test_register_rejectsBadInput", async () => {
      const hash = hashSet(set);
      const reg = (key: BaseWallet | undefined, id: string, h: string, rd: bigint, gd: bigint) => async () => {
        const signature = key
          ? await signRegistration(key, { owner: newOwnerAddr, guardiansHash: h, recoveryDelay: rd, guardianDelay: gd })
          : "0x";
        return recovery.connect(newOwner).register(id, h, rd, gd, signature);
      };
      const u = keyUnknown;
      await expectRevert(reg(undefined, ZeroHash, hash, MIN_DELAY, 0n), "InvalidAccountId", []);
      await expectRevert(reg(keyA, A, hash, MIN_DELAY, 0n), "AccountExists", [A]);
      await expectRevert(reg(u, UNKNOWN, ZeroHash, MIN_DELAY, 0n), "ZeroGuardiansHash", []);
      await expectRevert(reg(u, UNKNOWN, hash, MIN_DELAY - 1n, 0n), "DelayTooShort", [MIN_DELAY - 1n, MIN_DELAY]);
      await expectRevert(reg(u, UNKNOWN, hash, 0n, 0n), "DelayTooShort", [0n, MIN_DELAY]);
      await expectRevert(reg(u, UNKNOWN, hash, MAX_DELAY + 1n, 0n), "DelayTooLong", [MAX_DELAY + 1n, MAX_DELAY]);
      await expectRevert(reg(u, UNKNOWN, hash, MIN_DELAY, MAX_DELAY + 1n), "DelayTooLong", [MAX_DELAY + 1n, MAX_DELAY]);
      await expectRevert(reg(u, UNKNOWN, hash, MIN_DELAY, 2n ** 64n - 1n), "DelayTooLong", [2n ** 64n - 1n, MAX_DELAY]);
    });
    it("test_register_frontRunnerCopyingTheCallFromAnotherAddressIsRefused", async () => {
      // The user's transaction as it sits in the mempool: every argument is public.
      const hash = hashSet(set);
      const args = [C, hash, RECOVERY_DELAY, GUARDIAN_DELAY] as const;
      const signature = await signRegistration(keyC, {
        owner: newOwnerAddr,
        guardiansHash: hash,
        recoveryDelay: RECOVERY_DELAY,
        guardianDelay: GUARDIAN_DELAY,
      });
      const attacker = outsider;
      const attackerAddr = await attacker.getAddress();
      // Sent from the attacker's address, the signature recovers some unrelated key, not keyC.
      const signerFor = (owner: string, h: string, rd: bigint, gd: bigint) =>
        verifyMessage(
          getBytes(
            clientRegistrationHash({
              chainId,
              contract: address,
              accountId: C,
              owner,
              guardiansHash: h,
              recoveryDelay: rd,
              guardianDelay: gd,
            }),
          ),
          signature,
        );
      await expectRevert(() => recovery.connect(attacker).register(...args, signature), "NotSignedByAccountKey", [
        C,
        signerFor(attackerAddr, hash, RECOVERY_DELAY, GUARDIAN_DELAY),
      ]);
      // Nor with its own guardians and delays.
      const own = hashSet(makeSet(3, 2));
      await expectRevert(() => recovery.connect(attacker).register(C, own, MIN_DELAY, 0n, signature), "NotSignedByAccountKey", [
        C,
        signerFor(attackerAddr, own, MIN_DELAY, 0n),
      ]);
      // Nor from the user's own address with the settings changed.
      await expectRevert(
        () => recovery.connect(newOwner).register(C, own, RECOVERY_DELAY, GUARDIAN_DELAY, signature),
        "NotSignedByAccountKey",
        [C, signerFor(newOwnerAddr, own, RECOVERY_DELAY, GUARDIAN_DELAY)],
      );
      expect(await recovery.ownerOf(C)).to.equal(ZeroAddress);
      // The user's own transaction still lands.
      await expect(recovery.connect(newOwner).register(...args, signature))
        .to.emit(recovery, "AccountRegistered")
        .withArgs(C, newOwnerAddr, hash, RECOVERY_DELAY, GUARDIAN_DELAY);
      expect(await recovery.ownerOf(C)).to.equal(newOwnerAddr);
    });
    it("test_register_refusesSignatureByTheWrongKeyOrForAnotherDomain", async () => {
      const r = { owner: newOwnerAddr, guardiansHash: hashSet(set), recoveryDelay: MIN_DELAY, guardianDelay: 0n };
      const send = (signature: string) => () => recovery.connect(newOwner).register(C, r.guardiansHash, MIN_DELAY, 0n, signature);
      // Another account's key, a guardian's key, a random key, each signing exactly the right registration of C.
      for (const wrong of [keyB, keyA, set.wallets[0]!, Wallet.createRandom()]) {
        const signature = await signRegistration(wrong, r, { accountId: C });
        await expectRevert(send(signature), "NotSignedByAccountKey", [C, wrong.address]);
      }
      // The right key, over another chain, contract or account id: recovers an unrelated signer.
      const digest = getBytes(await recovery.registrationHash(C, newOwnerAddr, r.guardiansHash, MIN_DELAY, 0n));
      const otherContract = await (await deploy()).getAddress();
      for (const o of [{ chainId: chainId + 1n }, { contract: otherContract }, { accountId: B }]) {
        const signature = await signRegistration(keyC, r, o);
        await expectRevert(send(signature), "NotSignedByAccountKey", [C, verifyMessage(digest, signature)]);
      }
      // Malformed or malleable signatures recover no one.
      const good = Signature.from(await signRegistration(keyC, r));
      const malformed = [
        "0x",
        good.compactSerialized,
        rawSignature(good.r, BigInt(good.s), 29),
        rawSignature(good.r, SECP256K1_N - BigInt(good.s), good.v === 27 ? 28 : 27),
      ];
      for (const m of malformed) await expectRevert(send(m), "NotSignedByAccountKey", [C, ZeroAddress]);
      expect(await recovery.ownerOf(C)).to.equal(ZeroAddress);
      await expect(send(good.serialized)()).to.emit(recovery, "AccountRegistered");
    });
  });

  describe("guardian changes", () => {
    it("test_proposeGuardians_emitsAndTakesEffectAfterDelay", async () => {
      const oldHash = hashSet(set);
      const newHash = hashSet(makeSet(4, 2));
      const t = await nextTimestamp();
      await expect(recovery.connect(owner).proposeGuardians(A, newHash))
        .to.emit(recovery, "GuardiansChangeProposed")
        .withArgs(A, newHash, t + GUARDIAN_DELAY);
      const stored = await recovery.accountOf(A);
      expect([stored.guardiansHash, stored.pendingGuardiansHash, stored.guardiansEffectiveAt]).to.deep.equal([
        oldHash,
        newHash,
        t + GUARDIAN_DELAY,
      ]);
      expect(await recovery.guardiansHashOf(A)).to.equal(oldHash);
      await networkHelpers.time.increaseTo(t + GUARDIAN_DELAY - 1n);
      expect(await recovery.guardiansHashOf(A)).to.equal(oldHash);
      await networkHelpers.time.increaseTo(t + GUARDIAN_DELAY);
      expect(await recovery.guardiansHashOf(A)).to.equal(newHash);
    });
    it("test_proposeGuardians_zeroDelayTakesEffectAtOnce", async () => {
      const newHash = hashSet(makeSet(3, 3));
      await (await recovery.connect(other).proposeGuardians(B, newHash)).wait();
      expect(await recovery.guardiansHashOf(B)).to.equal(newHash);
    });
    it("test_proposeGuardians_replacesPendingAndRestartsDelay", async () => {
      const h2 = hashSet(makeSet(4, 2));
      const h3 = hashSet(makeSet(4, 3));
      await (await recovery.connect(owner).proposeGuardians(A, h2)).wait();
      await networkHelpers.time.increase(GUARDIAN_DELAY / 2n);
      const t = await nextTimestamp();
      await expect(recovery.connect(owner).proposeGuardians(A, h3))
        .to.emit(recovery, "GuardiansChangeProposed")
        .withArgs(A, h3, t + GUARDIAN_DELAY)
        .and.not.to.emit(recovery, "GuardiansChangeApplied");
      await networkHelpers.time.increaseTo(t + GUARDIAN_DELAY - 1n);
      expect(await recovery.guardiansHashOf(A)).to.equal(hashSet(set));
      await networkHelpers.time.increaseTo(t + GUARDIAN_DELAY);
      expect(await recovery.guardiansHashOf(A)).to.equal(h3);
    });
    it("test_proposeGuardians_foldsMaturedChangeFirst", async () => {
      const h2 = hashSet(makeSet(4, 2));
      const h3 = hashSet(makeSet(4, 3));
      await (await recovery.connect(owner).proposeGuardians(A, h2)).wait();
      await networkHelpers.time.increase(GUARDIAN_DELAY);
      await expect(recovery.connect(owner).proposeGuardians(A, h3))
        .to.emit(recovery, "GuardiansChangeApplied")
        .withArgs(A, h2)
        .and.to.emit(recovery, "GuardiansChangeProposed");
      const stored = await recovery.accountOf(A);
      expect([stored.guardiansHash, stored.pendingGuardiansHash]).to.deep.equal([h2, h3]);
      expect(await recovery.guardiansHashOf(A)).to.equal(h2);
    });
    it("test_proposeGuardians_rejectsNonOwnerUnknownAndZero", async () => {
      const h = hashSet(makeSet(3, 2));
      await expectRevert(() => recovery.connect(other).proposeGuardians(A, h), "NotOwner", [A, otherAddr]);
      await expectRevert(() => recovery.connect(owner).proposeGuardians(B, h), "NotOwner", [B, ownerAddr]);
      await expectRevert(() => recovery.connect(owner).proposeGuardians(UNKNOWN, h), "UnknownAccount", [UNKNOWN]);
      await expectRevert(() => recovery.connect(owner).proposeGuardians(A, ZeroHash), "ZeroGuardiansHash", []);
    });
    it("test_cancelGuardiansChange_emitsAndKeepsOldSet", async () => {
      const h2 = hashSet(makeSet(4, 2));
      await (await recovery.connect(owner).proposeGuardians(A, h2)).wait();
      await expect(recovery.connect(owner).cancelGuardiansChange(A)).to.emit(recovery, "GuardiansChangeCancelled").withArgs(A, h2);
      expect(await recovery.accountOf(A)).to.deep.equal([
        ownerAddr,
        hashSet(set),
        ZeroHash,
        0n,
        RECOVERY_DELAY,
        GUARDIAN_DELAY,
        0n,
        ZeroAddress,
        0n,
      ]);
      await networkHelpers.time.increase(GUARDIAN_DELAY);
      expect(await recovery.guardiansHashOf(A)).to.equal(hashSet(set));
    });
    it("test_cancelGuardiansChange_rejects", async () => {
      await expectRevert(() => recovery.connect(owner).cancelGuardiansChange(A), "NoPendingGuardiansChange", [A]);
      await expectRevert(() => recovery.connect(owner).cancelGuardiansChange(UNKNOWN), "UnknownAccount", [UNKNOWN]);
      const h2 = hashSet(makeSet(4, 2));
      await (await recovery.connect(owner).proposeGuardians(A, h2)).wait();
      await expectRevert(() => recovery.connect(other).cancelGuardiansChange(A), "NotOwner", [A, otherAddr]);
      // Once in effect, a change is no longer pending; the revert also undoes the lazy fold.
      await networkHelpers.time.increase(GUARDIAN_DELAY);
      await expectRevert(() => recovery.connect(owner).cancelGuardiansChange(A), "NoPendingGuardiansChange", [A]);
      expect(await recovery.guardiansHashOf(A)).to.equal(h2);
    });
    it("test_startRecovery_guardianChangeRespectsDelay", async () => {
      const next = makeSet(4, 2);
      await (await recovery.connect(owner).proposeGuardians(A, hashSet(next))).wait();
      // Before the delay: the old set recovers, the new one does not.
      await expectRevert(async () => start(await approve(next.wallets.slice(0, 2), newOwnerAddr), { set: next }), "GuardiansMismatch", [
        A,
        hashSet(next),
        hashSet(set),
      ]);
      await expect(start(await approve(set.wallets.slice(0, 3), newOwnerAddr))).to.emit(recovery, "RecoveryStarted");
      await (await recovery.connect(owner).cancelRecovery(A)).wait();
      // After it: the reverse, and the change is folded into storage on use.
      await networkHelpers.time.increase(GUARDIAN_DELAY);
      expiry = await soon();
      await expectRevert(async () => start(await approve(set.wallets.slice(0, 3), newOwnerAddr)), "GuardiansMismatch", [
        A,
        hashSet(set),
        hashSet(next),
      ]);
      await expect(start(await approve(next.wallets.slice(2, 4), newOwnerAddr), { set: next }))
        .to.emit(recovery, "GuardiansChangeApplied")
        .withArgs(A, hashSet(next))
        .and.to.emit(recovery, "RecoveryStarted");
      const stored = await recovery.accountOf(A);
      expect([stored.guardiansHash, stored.pendingGuardiansHash, stored.guardiansEffectiveAt]).to.deep.equal([hashSet(next), ZeroHash, 0n]);
    });
  });

  describe("recovery", () => {
    it("test_startRecovery_threeOfFive_completesAfterDelay", async () => {
      const sigs = await approve([set.wallets[4]!, set.wallets[0]!, set.wallets[2]!], newOwnerAddr);
      const t = await nextTimestamp();
      const executableAt = t + RECOVERY_DELAY;
      await expect(start(sigs)).to.emit(recovery, "RecoveryStarted").withArgs(A, newOwnerAddr, executableAt, 0n);
      expect(await recovery.pendingRecoveryOf(A)).to.deep.equal([newOwnerAddr, executableAt]);
      expect(await recovery.ownerOf(A)).to.equal(ownerAddr);

      await expectRevert(() => recovery.connect(other).completeRecovery(A), "RecoveryNotReady", [
        A,
        executableAt,
        (now: bigint) => now < executableAt,
      ]);
      await networkHelpers.time.increaseTo(executableAt - 2n);
      await expectRevert(() => recovery.connect(other).completeRecovery(A), "RecoveryNotReady", [A, executableAt, anyValue]);
      await networkHelpers.time.setNextBlockTimestamp(executableAt);
      await expect(recovery.connect(other).completeRecovery(A)).to.emit(recovery, "RecoveryCompleted").withArgs(A, ownerAddr, newOwnerAddr);
      expect(await recovery.accountOf(A)).to.deep.equal([
        newOwnerAddr,
        hashSet(set),
        ZeroHash,
        0n,
        RECOVERY_DELAY,
        GUARDIAN_DELAY,
        1n,
        ZeroAddress,
        0n,
      ]);
      await expectRevert(() => recovery.connect(other).completeRecovery(A), "NoPendingRecovery", [A]);
    });
    it("test_startRecovery_allFiveApprovalsAccepted", async () => {
      await expect(start(await approve(set.wallets, newOwnerAddr))).to.emit(recovery, "RecoveryStarted");
    });
    it("test_completeRecovery_newOwnerTakesControl", async () => {
      await (await start(await approve(set.wallets.slice(1, 4), newOwnerAddr))).wait();
      await networkHelpers.time.increase(RECOVERY_DELAY);
      await (await recovery.connect(outsider).completeRecovery(A)).wait();
      const h2 = hashSet(makeSet(3, 2));
      await expectRevert(() => recovery.connect(owner).proposeGuardians(A, h2), "NotOwner", [A, ownerAddr]);
      await expect(recovery.connect(newOwner).proposeGuardians(A, h2)).to.emit(recovery, "GuardiansChangeProposed");
    });
    it("test_startRecovery_rejectsUnknownPendingAndBadNewOwner", async () => {
      const sigs = await approve(set.wallets.slice(0, 3), newOwnerAddr);
      await expectRevert(() => start(sigs, { accountId: UNKNOWN }), "UnknownAccount", [UNKNOWN]);
      await expectRevert(async () => start(await approve(set.wallets.slice(0, 3), ZeroAddress), { to: ZeroAddress }), "InvalidNewOwner", [
        ZeroAddress,
      ]);
      await expectRevert(async () => start(await approve(set.wallets.slice(0, 3), ownerAddr), { to: ownerAddr }), "InvalidNewOwner", [
        ownerAddr,
      ]);
      const t = await nextTimestamp();
      await (await start(sigs)).wait();
      await expectRevert(() => start(sigs), "RecoveryAlreadyPending", [A, t + RECOVERY_DELAY]);
      await expectRevert(
        async () => start(await approve(set.wallets.slice(0, 3), otherAddr), { to: otherAddr }),
        "RecoveryAlreadyPending",
        [A, t + RECOVERY_DELAY],
      );
    });
    it("test_startRecovery_thresholdNotMet", async () => {
      await expectRevert(async () => start(await approve(set.wallets.slice(0, 2), newOwnerAddr)), "ThresholdNotMet", [2n, 3n]);
      await expectRevert(() => start([]), "ThresholdNotMet", [0n, 3n]);
    });
    it("test_startRecovery_notAGuardian", async () => {
      const stranger = Wallet.createRandom();
      const sigs = await approve([set.wallets[0]!, stranger, set.wallets[1]!, set.wallets[2]!], newOwnerAddr);
      await expectRevert(() => start(sigs), "NotAGuardian", [1n, stranger.address]);
    });
    it("test_startRecovery_duplicateApproval", async () => {
      const [s0, s1] = await approve(set.wallets.slice(0, 2), newOwnerAddr);
      await expectRevert(() => start([s0!, s1!, s0!]), "DuplicateApproval", [set.guardians[0]]);
      await expectRevert(() => start([s1!, s1!, s1!]), "DuplicateApproval", [set.guardians[1]]);
    });
    it("test_startRecovery_guardiansMismatch", async () => {
      const sigs = await approve(set.wallets.slice(0, 3), newOwnerAddr);
      const variants = [
        { ...set, salt: randomBytes32() },
        { ...set, threshold: 4 },
        { ...set, guardians: [...set.guardians].reverse() },
        { ...set, shareHashes: [...set.shareHashes.slice(1), set.shareHashes[0]!] },
        makeSet(5, 3),
      ];
      for (const v of variants) await expectRevert(() => start(sigs, { set: v }), "GuardiansMismatch", [A, hashSet(v), hashSet(set)]);
    });
    it("test_startRecovery_invalidGuardianSet", async () => {
      const sigs = await approve(set.wallets.slice(0, 3), newOwnerAddr);
      const big = makeSet(256, 255);
      const cases: [Pick<GuardianSet, "threshold" | "guardians" | "shareHashes" | "salt">, bigint[]][] = [
        [{ threshold: 0, guardians: [], shareHashes: [], salt: set.salt }, [0n, 0n, 0n]],
        [{ threshold: 2, guardians: [], shareHashes: [], salt: set.salt }, [2n, 0n, 0n]],
        [{ ...set, threshold: 0 }, [0n, 5n, 5n]],
        [{ ...set, threshold: 1 }, [1n, 5n, 5n]],
        [{ ...set, threshold: 6 }, [6n, 5n, 5n]],
        [{ ...set, shareHashes: set.shareHashes.slice(0, 4) }, [3n, 5n, 4n]],
        [{ ...set, guardians: [...set.guardians, otherAddr] }, [3n, 6n, 5n]],
        [big, [255n, 256n, 256n]],
      ];
      for (const [s, args] of cases) await expectRevert(() => start(sigs, { set: s }), "InvalidGuardianSet", args);
    });
    it("test_startRecovery_invalidSignature", async () => {
      const [s0, s1, s2] = (await approve(set.wallets.slice(0, 3), newOwnerAddr)) as [string, string, string];
      const sig = Signature.from(s1);
      const bad: string[] = [
        "0x",
        hexlify(getBytes(s1).slice(0, 64)), // 64 bytes
        concat([s1, "0x00"]), // 66 bytes
        sig.compactSerialized, // EIP-2098 64-byte form
        rawSignature(sig.r, BigInt(sig.s), 29),
        rawSignature(sig.r, BigInt(sig.s), sig.v - 27), // raw 0/1 recovery id
        rawSignature(ZeroHash, BigInt(sig.s), sig.v), // r = 0: ecrecover finds nothing
        rawSignature(sig.r, 0n, sig.v), // s = 0: ecrecover finds nothing
      ];
      for (const b of bad) await expectRevert(() => start([s0, b, s2]), "InvalidSignature", [1n]);
    });
    it("test_startRecovery_refusesMalleableHighS", async () => {
      const sigs = (await approve(set.wallets.slice(0, 3), newOwnerAddr)) as [string, string, string];
      const sig = Signature.from(sigs[2]);
      const twin = rawSignature(sig.r, SECP256K1_N - BigInt(sig.s), sig.v === 27 ? 28 : 27);
      // The twin is a valid signature by the same guardian as far as the bare precompile is concerned...
      const prefixed = concat([toUtf8Bytes("\x19Ethereum Signed Message:\n32"), await recovery.approvalHash(A, newOwnerAddr, expiry)]);
      const recovered = await ethers.provider.call({
        to: "0x0000000000000000000000000000000000000001",
        data: concat([keccak256(prefixed), toBeHex(sig.v === 27 ? 28 : 27, 32), sig.r, toBeHex(SECP256K1_N - BigInt(sig.s), 32)]),
      });
      expect(abi.decode(["address"], recovered)[0]).to.equal(set.guardians[2]);
      // ...so only the low-s rule stops it counting as a second approval.
      await expectRevert(() => start([sigs[0], sigs[1], twin]), "InvalidSignature", [2n]);
      await expectRevert(() => start([sigs[0], sigs[2], twin]), "InvalidSignature", [2n]);
    });
    it("test_startRecovery_refusesApprovalsForOtherDomains", async () => {
      const wallets = set.wallets.slice(0, 3);
      const otherContract = await (await deploy()).getAddress();
      const good = await approve(wallets, newOwnerAddr);
      const wrongs = [
        await approve(wallets, newOwnerAddr, { chainId: chainId + 1n }),
        await approve(wallets, newOwnerAddr, { contract: otherContract }),
        await approve(wallets, newOwnerAddr, { accountId: B }),
        await approve(wallets, newOwnerAddr, { nonce: 1n }),
        await approve(wallets, newOwnerAddr, { guardiansHash: hashSet(makeSet(5, 3)) }),
        await approve(wallets, newOwnerAddr, { expiresAt: expiry + 1n }),
        await approve(wallets, otherAddr), // signed for another new owner
      ];
      const digestOf = getBytes(await recovery.approvalHash(A, newOwnerAddr, expiry));
      for (const wrong of wrongs) {
        const sigs = [good[0]!, good[1]!, wrong[2]!];
        // A signature over anything else recovers to some unrelated address.
        await expectRevert(() => start(sigs), "NotAGuardian", [2n, verifyMessage(digestOf, wrong[2]!)]);
      }
      // Sanity: the same guardians' approvals over the right domain pass.
      await expect(start(good)).to.emit(recovery, "RecoveryStarted");
    });
    it("test_cancelRecovery_emitsBumpsNonceAndVoidsApprovals", async () => {
      const sigs = await approve(set.wallets.slice(0, 3), newOwnerAddr);
      await (await start(sigs)).wait();
      await expect(recovery.connect(owner).cancelRecovery(A)).to.emit(recovery, "RecoveryCancelled").withArgs(A, newOwnerAddr);
      expect(await recovery.nonceOf(A)).to.equal(1n);
      expect(await recovery.pendingRecoveryOf(A)).to.deep.equal([ZeroAddress, 0n]);
      await networkHelpers.time.increase(RECOVERY_DELAY);
      await expectRevert(() => recovery.connect(other).completeRecovery(A), "NoPendingRecovery", [A]);
      expect(await recovery.ownerOf(A)).to.equal(ownerAddr);
      // Replay of the cancelled approvals fails; fresh ones over the new nonce pass.
      const digest = getBytes(await recovery.approvalHash(A, newOwnerAddr, expiry));
      await expectRevert(() => start(sigs), "NotAGuardian", [0n, verifyMessage(digest, sigs[0]!)]);
      await expect(start(await approve(set.wallets.slice(0, 3), newOwnerAddr)))
        .to.emit(recovery, "RecoveryStarted")
        .withArgs(A, newOwnerAddr, anyValue, 1n);
    });
    it("test_cancelRecovery_rejects", async () => {
      await expectRevert(() => recovery.connect(owner).cancelRecovery(A), "NoPendingRecovery", [A]);
      await expectRevert(() => recovery.connect(owner).cancelRecovery(UNKNOWN), "UnknownAccount", [UNKNOWN]);
      await (await start(await approve(set.wallets.slice(0, 3), newOwnerAddr))).wait();
      await expectRevert(() => recovery.connect(newOwner).cancelRecovery(A), "NotOwner", [A, newOwnerAddr]);
      await expectRevert(() => recovery.connect(other).cancelRecovery(A), "NotOwner", [A, otherAddr]);
    });
    it("test_completeRecovery_rejectsWithoutPendingRecovery", async () => {
      await expectRevert(() => recovery.connect(other).completeRecovery(A), "NoPendingRecovery", [A]);
      await expectRevert(() => recovery.connect(other).completeRecovery(UNKNOWN), "NoPendingRecovery", [UNKNOWN]);
    });
    it("test_completeRecovery_voidsEarlierApprovals", async () => {
      const wallets = set.wallets.slice(0, 3);
      const toOther = await approve(wallets, otherAddr); // collected at nonce 0, never used
      const backToOwner = await approve(wallets, ownerAddr);
      await (await start(await approve(wallets, newOwnerAddr))).wait();
      await networkHelpers.time.increase(RECOVERY_DELAY);
      await (await recovery.completeRecovery(A)).wait();
      expect(await recovery.nonceOf(A)).to.equal(1n);
      const digestOther = getBytes(await recovery.approvalHash(A, otherAddr, expiry));
      const digestOwner = getBytes(await recovery.approvalHash(A, ownerAddr, expiry));
      await expectRevert(() => start(toOther, { to: otherAddr }), "NotAGuardian", [0n, verifyMessage(digestOther, toOther[0]!)]);
      await expectRevert(() => start(backToOwner, { to: ownerAddr }), "NotAGuardian", [0n, verifyMessage(digestOwner, backToOwner[0]!)]);
      // The recovered account can itself be recovered with fresh approvals.
      await expect(start(await approve(wallets, ownerAddr), { to: ownerAddr }))
        .to.emit(recovery, "RecoveryStarted")
        .withArgs(A, ownerAddr, anyValue, 1n);
    });
    it("test_startRecovery_refusesExpiredApprovals", async () => {
      const wallets = set.wallets.slice(0, 3);
      const t = BigInt(await networkHelpers.time.latest()) + 10n;
      const sigs = await approve(wallets, newOwnerAddr, { expiresAt: t });
      // One second after the expiry the approvals are void, and the error names both times.
      await networkHelpers.time.increaseTo(t);
      await networkHelpers.time.setNextBlockTimestamp(t + 1n);
      await expectRevert(() => start(sigs, { expiresAt: t }), "ApprovalExpired", [A, t, t + 1n]);
      // Much later too; and a relayer cannot stretch the expiry, which the guardians signed.
      await networkHelpers.time.increase(DAY);
      const now = BigInt(await networkHelpers.time.latest()) + 1n;
      await networkHelpers.time.setNextBlockTimestamp(now);
      await expectRevert(() => start(sigs, { expiresAt: t }), "ApprovalExpired", [A, t, now]);
      const digest = getBytes(await recovery.approvalHash(A, newOwnerAddr, now + HOUR));
      await expectRevert(() => start(sigs, { expiresAt: now + HOUR }), "NotAGuardian", [0n, verifyMessage(digest, sigs[0]!)]);
      expect(await recovery.pendingRecoveryOf(A)).to.deep.equal([ZeroAddress, 0n]);
      // Approvals used at their last second still count.
      const last = BigInt(await networkHelpers.time.latest()) + 5n;
      const fresh = await approve(wallets, newOwnerAddr, { expiresAt: last });
      await networkHelpers.time.setNextBlockTimestamp(last);
      await expect(start(fresh, { expiresAt: last })).to.emit(recovery, "RecoveryStarted");
    });
    it("test_startRecovery_refusesExpiryBeyondMaxLifetime", async () => {
      const wallets = set.wallets.slice(0, 3);
      const t = BigInt(await networkHelpers.time.latest()) + 1n;
      const far = t + MAX_APPROVAL_LIFETIME + 1n;
      const sigs = await approve(wallets, newOwnerAddr, { expiresAt: far });
      await networkHelpers.time.setNextBlockTimestamp(t);
      await expectRevert(() => start(sigs, { expiresAt: far }), "ApprovalExpiryTooFar", [A, far, t + MAX_APPROVAL_LIFETIME]);
      const never = 2n ** 64n - 1n;
      await expectRevert(
        async () => start(await approve(wallets, newOwnerAddr, { expiresAt: never }), { expiresAt: never }),
        "ApprovalExpiryTooFar",
        [A, never, anyValue],
      );
      const edge = BigInt(await networkHelpers.time.latest()) + 1n + MAX_APPROVAL_LIFETIME;
      const ok = await approve(wallets, newOwnerAddr, { expiresAt: edge });
      await networkHelpers.time.setNextBlockTimestamp(edge - MAX_APPROVAL_LIFETIME);
      await expect(start(ok, { expiresAt: edge })).to.emit(recovery, "RecoveryStarted");
    });
    it("test_startRecovery_approvalsForAnOlderGuardianSetAreVoidOnceTheChangeTakesEffect", async () => {
      // The owner re-splits among the same guardians plus one: same keys, new share hashes and salt.
      const extra = Wallet.createRandom();
      const wallets = [...set.wallets, extra];
      const next: GuardianSet = {
        threshold: 3,
        wallets,
        guardians: wallets.map((w) => w.address),
        shareHashes: wallets.map(() => randomBytes32()),
        salt: randomBytes32(),
      };
      expiry = BigInt(await networkHelpers.time.latest()) + 2n * DAY;
      // Collected while the old set is in effect (same nonce throughout: no recovery was cancelled or completed).
      const early = await approve(set.wallets.slice(0, 3), newOwnerAddr);
      await (await recovery.connect(owner).proposeGuardians(A, hashSet(next))).wait();
      const pending = await approve(set.wallets.slice(0, 3), newOwnerAddr);
      await networkHelpers.time.increase(GUARDIAN_DELAY);
      expect(await recovery.nonceOf(A)).to.equal(0n);
      const digest = getBytes(await recovery.approvalHash(A, newOwnerAddr, expiry));
      for (const old of [early, pending]) {
        await expectRevert(() => start(old, { set: next }), "NotAGuardian", [0n, verifyMessage(digest, old[0]!)]);
        // Revealing the old set instead does not help: it is no longer the one in effect.
        await expectRevert(() => start(old), "GuardiansMismatch", [A, hashSet(set), hashSet(next)]);
      }
      expect(await recovery.pendingRecoveryOf(A)).to.deep.equal([ZeroAddress, 0n]);
      // The same guardians approving again, over the set now in effect, succeed.
      await expect(start(await approve([set.wallets[0]!, extra, set.wallets[2]!], newOwnerAddr), { set: next }))
        .to.emit(recovery, "RecoveryStarted")
        .withArgs(A, newOwnerAddr, anyValue, 0n);
    });
    it("test_startRecovery_replayedApprovalsStayRefusedAfterCancelAndComplete", async () => {
      const wallets = set.wallets.slice(0, 3);
      expiry = BigInt(await networkHelpers.time.latest()) + 2n * DAY;
      const sigs = await approve(wallets, newOwnerAddr);
      await (await start(sigs)).wait();
      await (await recovery.connect(owner).cancelRecovery(A)).wait();
      const digest1 = getBytes(await recovery.approvalHash(A, newOwnerAddr, expiry));
      await expectRevert(() => start(sigs), "NotAGuardian", [0n, verifyMessage(digest1, sigs[0]!)]);
      const again = await approve(wallets, newOwnerAddr);
      await (await start(again)).wait();
      await networkHelpers.time.increase(RECOVERY_DELAY);
      await (await recovery.completeRecovery(A)).wait();
      // Approvals back to the old owner signed at nonces 0 and 1 are void at nonce 2, though neither expired.
      expect(await recovery.nonceOf(A)).to.equal(2n);
      const digest2 = getBytes(await recovery.approvalHash(A, ownerAddr, expiry));
      for (const nonce of [0n, 1n]) {
        const old = await approve(wallets, ownerAddr, { nonce });
        await expectRevert(() => start(old, { to: ownerAddr }), "NotAGuardian", [0n, verifyMessage(digest2, old[0]!)]);
      }
    });
    it("test_startRecovery_randomSignatureBytesNeverMoveState", async () => {
      const [s0, s1] = await approve(set.wallets.slice(0, 2), newOwnerAddr);
      const errors = new Set(["InvalidSignature", "NotAGuardian"]);
      // Mostly well-formed (r, s, v) with plausible and implausible v, plus arbitrary lengths.
      const signatureBytes = fc.oneof(
        fc
          .tuple(
            fc.uint8Array({ minLength: 32, maxLength: 32 }),
            fc.uint8Array({ minLength: 32, maxLength: 32 }),
            fc.constantFrom(27, 28, 27, 28, 0, 1, 29),
          )
          .map(([r, sv, v]) => getBytes(concat([r, sv, toBeHex(v, 1)]))),
        fc.uint8Array({ maxLength: 97 }),
      );
      await fc.assert(
        fc.asyncProperty(signatureBytes, async (bytes) => {
          const before = await snapshot();
          let name: string | undefined;
          try {
            await start([s0!, s1!, hexlify(bytes)]);
          } catch (e) {
            name = recovery.interface.parseError((e as { data?: string }).data ?? "0x")?.name;
          }
          expect(errors.has(name ?? ""), `random signature gave ${name}`).to.equal(true);
          expect(await snapshot()).to.equal(before);
        }),
        { seed: 20_240_611, numRuns: 40 },
      );
    });
  });
});

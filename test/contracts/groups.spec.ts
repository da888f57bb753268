// Avatar groups and their admission policies on Hardhat's in-process network: every function, every revert, state
// unchanged after each, replayed and forged attestations.
import {
  attestationEvidence,
  attestationHash,
  createAvatarGroup,
  Group,
  listGroups,
  MalformedAttestationError,
  parseAttestation,
  attestationToJson,
  signAttestation,
  attestationSigner,
} from "@mosaic/avatar";
import { deployMosaic, type MosaicContracts, SNARK_SCALAR_FIELD } from "@mosaic/protocol";
import { Identity } from "@semaphore-protocol/identity";
import { expect } from "chai";
import { AbiCoder, type BaseContract, getBytes, type Signer, Wallet } from "ethers";
import fc from "fast-check";
import { network } from "hardhat";

type Connection = Awaited<ReturnType<typeof network.connect>>;

describe("AvatarGroups with OpenAdmission and RegistrarAdmission", () => {
  let ethers: Connection["ethers"];
  let networkHelpers: Connection["networkHelpers"];
  let c: MosaicContracts;
  let deployer: Signer, registrar: Signer, alice: Signer, bob: Signer, relayer: Signer;
  let openGroup: bigint;
  let regGroup: bigint;
  let chainId: bigint;
  const commitment = (s: string) => new Identity(s).commitment;

  before(async () => {
    ({ ethers, networkHelpers } = await network.connect());
    chainId = (await ethers.provider.getNetwork()).chainId;
  });

  beforeEach(async () => {
    [deployer, registrar, alice, bob, relayer] = (await ethers.getSigners()) as unknown as [Signer, Signer, Signer, Signer, Signer];
    c = await deployMosaic(deployer);
    openGroup = await createAvatarGroup(c, { name: "panel", policy: "open" });
    regGroup = await createAvatarGroup(c, { name: "positives", policy: "registrar", registrar: await registrar.getAddress() });
  });

  /** Everything the three contracts hold for the two groups and three wallets. */
  async function snapshot(): Promise<string> {
    const state: unknown[] = [];
    for (const g of [openGroup, regGroup]) {
      state.push(await c.avatarGroups.groupSize(g), await c.avatarGroups.groupRoot(g), await c.registrarAdmission.registrarOf(g));
      for (const s of [alice, bob, relayer]) state.push(await c.openAdmission.isRegistered(g, await s.getAddress()));
      for (const name of ["a", "b", "x"]) state.push(await c.registrarAdmission.isAdmitted(g, commitment(name)));
    }
    state.push(await c.semaphore.groupCounter());
    return JSON.stringify(state, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
  }

  async function expectRevert(call: () => Promise<unknown>, contract: BaseContract, error: string): Promise<void> {
    const before = await snapshot();
    await expect(call()).to.be.revertedWithCustomError(contract, error);
    expect(await snapshot(), `${error} left state unchanged`).to.equal(before);
  }

  const attest = async (id: string, overrides: Partial<{ signer: Signer; expiresAt: bigint; group: bigint; chain: bigint }> = {}) =>
    signAttestation(overrides.signer ?? registrar, {
      chainId: overrides.chain ?? chainId,
      policy: c.addresses.registrarAdmission,
      groupId: overrides.group ?? regGroup,
      commitment: commitment(id),
      expiresAt: overrides.expiresAt ?? BigInt(await networkHelpers.time.latest()) + 3600n,
    });

  describe("createGroup", () => {
    it("test_createGroup_recordsPolicyAndEmits", async () => {
      expect(await c.avatarGroups.groupPolicy(openGroup)).to.equal(c.addresses.openAdmission);
      expect(await c.avatarGroups.groupPolicy(regGroup)).to.equal(c.addresses.registrarAdmission);
      expect(await c.registrarAdmission.registrarOf(regGroup)).to.equal(await registrar.getAddress());
      await expect(c.avatarGroups.connect(alice).createGroup("third", c.addresses.openAdmission, "0x"))
        .to.emit(c.avatarGroups, "GroupCreated")
        .withArgs(2n, await alice.getAddress(), c.addresses.openAdmission, "third");
      const listed = await listGroups(c.avatarGroups);
      expect(listed.map((g) => [g.groupId, g.name, g.kind])).to.deep.equal([
        [0n, "panel", "open"],
        [1n, "positives", "registrar"],
        [2n, "third", "open"],
      ]);
      expect(listed[1]?.registrar).to.equal(await registrar.getAddress());
    });
    it("test_createGroup_rejectsBadPolicyAndConfig", async () => {
      await expectRevert(() => c.avatarGroups.createGroup("x", Wallet.createRandom().address, "0x"), c.avatarGroups, "InvalidPolicy");
      await expectRevert(() => c.avatarGroups.createGroup("x", c.addresses.openAdmission, "0x01"), c.openAdmission, "InvalidConfig");
      await expectRevert(
        () => c.avatarGroups.createGroup("x", c.addresses.registrarAdmission, "0x"),
        c.registrarAdmission,
        "InvalidConfig",
      );
      const zero = AbiCoder.defaultAbiCoder().encode(["address"], ["0x0000000000000000000000000000000000000000"]);
      await expectRevert(
        () => c.avatarGroups.createGroup("x", c.addresses.registrarAdmission, zero),
        c.registrarAdmission,
        "ZeroRegistrar",
      );
      await expectRevert(
        () => c.avatarGroups.createGroup("x", c.addresses.registrarAdmission, `0x${"ff".repeat(32)}`),
        c.registrarAdmission,
        "InvalidConfig",
      );
    });
    it("test_policies_onlyCallableByAvatarGroups", async () => {
      const me = await alice.getAddress();
      await expectRevert(() => c.openAdmission.connect(alice).configure(9n, me, "0x"), c.openAdmission, "NotAvatarGroups");
      await expectRevert(() => c.openAdmission.connect(alice).admit(openGroup, me, 5n, "0x"), c.openAdmission, "NotAvatarGroups");
      await expectRevert(
        () => c.registrarAdmission.connect(registrar).admitBatch(regGroup, me, [5n]),
        c.registrarAdmission,
        "NotAvatarGroups",
      );
      await expectRevert(
        () => c.registrarAdmission.connect(registrar).authorizeRemoval(regGroup, me, 5n),
        c.registrarAdmission,
        "NotAvatarGroups",
      );
    });
  });

  describe("OpenAdmission", () => {
    it("test_register_oncePerWallet", async () => {
      await expect(c.avatarGroups.connect(alice).register(openGroup, commitment("a"), "0x"))
        .to.emit(c.avatarGroups, "MemberRegistered")
        .withArgs(openGroup, await alice.getAddress(), commitment("a"));
      expect(await c.openAdmission.isRegistered(openGroup, await alice.getAddress())).to.equal(true);
      expect(await c.avatarGroups.groupRoot(openGroup)).to.equal(new Group([commitment("a")]).root);
      await expectRevert(
        () => c.avatarGroups.connect(alice).register(openGroup, commitment("b"), "0x"),
        c.openAdmission,
        "AlreadyRegistered",
      );
    });
    it("test_register_rejectsBadInput", async () => {
      const g = c.avatarGroups.connect(bob);
      await expectRevert(() => g.register(openGroup, 0n, "0x"), c.avatarGroups, "InvalidCommitment");
      await expectRevert(() => g.register(openGroup, SNARK_SCALAR_FIELD, "0x"), c.avatarGroups, "InvalidCommitment");
      await expectRevert(() => g.register(7n, commitment("b"), "0x"), c.avatarGroups, "UnknownGroup");
      await expectRevert(() => g.register(openGroup, commitment("b"), "0x01"), c.openAdmission, "UnexpectedEvidence");
      await expectRevert(() => g.registerBatch(openGroup, [commitment("b")]), c.openAdmission, "BatchNotAllowed");
      await (await g.register(openGroup, commitment("b"), "0x")).wait();
      // The same commitment from another wallet: Semaphore's tree refuses a duplicate leaf.
      const before = await snapshot();
      await expect(c.avatarGroups.connect(relayer).register(openGroup, commitment("b"), "0x")).to.revert(ethers);
      expect(await snapshot()).to.equal(before);
      const tree = new Group([commitment("b")]);
      await expectRevert(
        () => c.avatarGroups.connect(bob).removeMember(openGroup, commitment("b"), tree.generateMerkleProof(0).siblings),
        c.openAdmission,
        "RemovalNotAllowed",
      );
    });
  });

  describe("RegistrarAdmission", () => {
    it("test_attestationHash_matchesTheClient", async () => {
      const a = await attest("a");
      expect(await c.registrarAdmission.attestationHash(a.groupId, a.commitment, a.expiresAt)).to.equal(attestationHash(a));
      expect(attestationSigner(a)).to.equal(await registrar.getAddress());
    });
    it("test_register_withAttestation_fromAnyWallet", async () => {
      const a = await attest("a");
      // A relayer submits it: the attestation binds the commitment, not the wallet.
      await expect(c.avatarGroups.connect(relayer).register(regGroup, a.commitment, attestationEvidence(a)))
        .to.emit(c.registrarAdmission, "CommitmentAdmitted")
        .withArgs(regGroup, a.commitment);
      expect(await c.registrarAdmission.isAdmitted(regGroup, a.commitment)).to.equal(true);
      expect(await c.avatarGroups.groupSize(regGroup)).to.equal(1n);
      // Replayed: refused, nothing changes.
      await expectRevert(
        () => c.avatarGroups.connect(bob).register(regGroup, a.commitment, attestationEvidence(a)),
        c.registrarAdmission,
        "AlreadyAdmitted",
      );
    });
    it("test_register_rejectsForgedExpiredAndForeignAttestations", async () => {
      const g = c.avatarGroups.connect(alice);
      const forged = await attest("x", { signer: bob });
      await expectRevert(
        () => g.register(regGroup, forged.commitment, attestationEvidence(forged)),
        c.registrarAdmission,
        "NotSignedByRegistrar",
      );
      const now = BigInt(await networkHelpers.time.latest());
      const expired = await attest("x", { expiresAt: now });
      await networkHelpers.time.increase(5);
      await expectRevert(
        () => g.register(regGroup, expired.commitment, attestationEvidence(expired)),
        c.registrarAdmission,
        "AttestationExpired",
      );
      // Signed for another commitment, another group, another chain: the recovered signer is not the registrar.
      const a = await attest("a");
      await expectRevert(() => g.register(regGroup, commitment("b"), attestationEvidence(a)), c.registrarAdmission, "NotSignedByRegistrar");
      const forOpen = await attest("x", { group: openGroup });
      await expectRevert(
        () => g.register(regGroup, forOpen.commitment, attestationEvidence(forOpen)),
        c.registrarAdmission,
        "NotSignedByRegistrar",
      );
      const otherChain = await attest("x", { chain: chainId + 1n });
      await expectRevert(
        () => g.register(regGroup, otherChain.commitment, attestationEvidence(otherChain)),
        c.registrarAdmission,
        "NotSignedByRegistrar",
      );
      // Malformed evidence: wrong length, a malleable (high-s) twin, a bad v.
      await expectRevert(() => g.register(regGroup, a.commitment, "0x"), c.registrarAdmission, "MalformedAttestation");
      await expectRevert(() => g.register(regGroup, a.commitment, new Uint8Array(74)), c.registrarAdmission, "MalformedAttestation");
      const ev = attestationEvidence(a);
      const badV = ev.slice();
      badV[72] = 29;
      await expectRevert(() => g.register(regGroup, a.commitment, badV), c.registrarAdmission, "NotSignedByRegistrar");
      const n = BigInt("0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141");
      const s = BigInt(`0x${Buffer.from(ev.slice(40, 72)).toString("hex")}`);
      const twin = ev.slice();
      twin.set(getBytes(`0x${(n - s).toString(16).padStart(64, "0")}`), 40);
      twin[72] = ev[72] === 27 ? 28 : 27;
      await expectRevert(() => g.register(regGroup, a.commitment, twin), c.registrarAdmission, "NotSignedByRegistrar");
    });
    it("test_registerBatch_onlyRegistrar_andBounded", async () => {
      const batch = ["a", "b", "x"].map(commitment);
      await expectRevert(() => c.avatarGroups.connect(alice).registerBatch(regGroup, batch), c.registrarAdmission, "NotRegistrar");
      await expectRevert(() => c.avatarGroups.connect(registrar).registerBatch(regGroup, []), c.avatarGroups, "InvalidBatchSize");
      const max = Number(await c.avatarGroups.MAX_BATCH());
      await expectRevert(
        () =>
          c.avatarGroups.connect(registrar).registerBatch(
            regGroup,
            Array.from({ length: max + 1 }, (_, i) => BigInt(i + 1)),
          ),
        c.avatarGroups,
        "InvalidBatchSize",
      );
      await expectRevert(
        () => c.avatarGroups.connect(registrar).registerBatch(regGroup, [batch[0] as bigint, 0n]),
        c.avatarGroups,
        "InvalidCommitment",
      );
      await expectRevert(
        () => c.avatarGroups.connect(registrar).registerBatch(regGroup, [batch[0] as bigint, batch[0] as bigint]),
        c.registrarAdmission,
        "AlreadyAdmitted",
      );
      await expect(c.avatarGroups.connect(registrar).registerBatch(regGroup, batch))
        .to.emit(c.avatarGroups, "MembersRegistered")
        .withArgs(regGroup, await registrar.getAddress(), 3n);
      expect(await c.avatarGroups.groupRoot(regGroup)).to.equal(new Group(batch).root);
    });
    it("test_removeMember_onlyRegistrar_leafBecomesZero", async () => {
      const batch = ["a", "b", "x"].map(commitment);
      await (await c.avatarGroups.connect(registrar).registerBatch(regGroup, batch)).wait();
      const tree = new Group(batch);
      const siblings = tree.generateMerkleProof(1).siblings;
      await expectRevert(
        () => c.avatarGroups.connect(alice).removeMember(regGroup, batch[1] as bigint, siblings),
        c.registrarAdmission,
        "NotRegistrar",
      );
      await expect(c.avatarGroups.connect(registrar).removeMember(regGroup, batch[1] as bigint, siblings))
        .to.emit(c.avatarGroups, "MemberRemoved")
        .withArgs(regGroup, await registrar.getAddress(), batch[1]);
      tree.removeMember(1);
      expect(await c.avatarGroups.groupRoot(regGroup)).to.equal(tree.root);
      // A removed member cannot come back on an old attestation.
      const a = await attest("b");
      await expectRevert(
        () => c.avatarGroups.connect(bob).register(regGroup, a.commitment, attestationEvidence(a)),
        c.registrarAdmission,
        "AlreadyAdmitted",
      );
    });
    it("test_setRegistrar_handsTheRoleOn", async () => {
      const aliceAddress = await alice.getAddress();
      const bobAddress = await bob.getAddress();
      await expectRevert(
        () => c.registrarAdmission.connect(alice).setRegistrar(regGroup, aliceAddress),
        c.registrarAdmission,
        "NotRegistrar",
      );
      await expectRevert(
        () => c.registrarAdmission.connect(registrar).setRegistrar(regGroup, "0x0000000000000000000000000000000000000000"),
        c.registrarAdmission,
        "ZeroRegistrar",
      );
      await expectRevert(
        () => c.registrarAdmission.connect(registrar).setRegistrar(99n, bobAddress),
        c.registrarAdmission,
        "NotConfigured",
      );
      await expect(c.registrarAdmission.connect(registrar).setRegistrar(regGroup, await bob.getAddress()))
        .to.emit(c.registrarAdmission, "RegistrarChanged")
        .withArgs(regGroup, await registrar.getAddress(), await bob.getAddress());
      // The old registrar's attestations no longer admit anyone.
      const old = await attest("a");
      await expectRevert(
        () => c.avatarGroups.connect(alice).register(regGroup, old.commitment, attestationEvidence(old)),
        c.registrarAdmission,
        "NotSignedByRegistrar",
      );
      const fresh = await attest("a", { signer: bob });
      await (await c.avatarGroups.connect(alice).register(regGroup, fresh.commitment, attestationEvidence(fresh))).wait();
    });
  });

  describe("attestation files", () => {
    it("round-trip through JSON and refuse malformed fields by name", async () => {
      const a = await attest("a");
      const json = JSON.parse(JSON.stringify(attestationToJson(a)));
      expect(parseAttestation(json)).to.deep.equal(a);
      const bad: Array<[Record<string, unknown> | unknown, RegExp]> = [
        [null, /expected an object/],
        [[], /expected an object/],
        [{ ...json, extra: 1 }, /unexpected field extra/],
        [{ ...json, format: "v2" }, /attestation\.format/],
        [{ ...json, chainId: 31337 }, /attestation\.chainId/],
        [{ ...json, groupId: "-1" }, /attestation\.groupId/],
        [{ ...json, groupId: "01" }, /attestation\.groupId/],
        [{ ...json, commitment: "0" }, /attestation\.commitment/],
        [{ ...json, commitment: SNARK_SCALAR_FIELD.toString() }, /attestation\.commitment/],
        [{ ...json, expiresAt: (1n << 64n).toString() }, /attestation\.expiresAt/],
        [{ ...json, policy: "0x1234" }, /attestation\.policy/],
        [{ ...json, signature: "0x00" }, /attestation\.signature/],
        [{ ...json, signature: undefined }, /attestation\.signature/],
      ];
      for (const [input, pattern] of bad)
        expect(() => parseAttestation(input), String(pattern)).to.throw(MalformedAttestationError, pattern);
    });
    it("parses arbitrary JSON into an attestation or a MalformedAttestationError, nothing else", () => {
      fc.assert(
        fc.property(fc.jsonValue(), (v) => {
          try {
            parseAttestation(v);
          } catch (err) {
            if (!(err instanceof MalformedAttestationError)) throw err;
          }
        }),
        { seed: 42, numRuns: 500 },
      );
    });
  });
});

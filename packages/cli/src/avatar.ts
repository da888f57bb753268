// `mosaic avatar`: the vault's anonymous avatar and its groups, and the commands a group's registrar runs.
import { readFile } from "node:fs/promises";
import path from "node:path";
import {
  AttestationMismatchError,
  attestationEvidence,
  attestationSigner,
  attestationToJson,
  type GroupInfo,
  groupInfo,
  listGroups,
  openGroupSync,
  parseAttestation,
  registerAvatar,
  signAttestation,
} from "@mosaic/avatar";
import {
  type AvatarGroups,
  attachAvatarGroups,
  AvatarGroups__factory,
  attachRegistrarAdmission,
  findEvent,
  IAdmissionPolicy__factory,
  namedError,
  OpenAdmission__factory,
  RegistrarAdmission__factory,
  SNARK_SCALAR_FIELD,
  writeFileAtomic,
} from "@mosaic/protocol";
import { AbiCoder, getAddress, isAddress, type Provider, type Signer } from "ethers";
import { contractRefusal, decodeRevert, withContract } from "./chain-flags.js";
import { contractTarget, type ResolvedNetwork } from "./network-flags.js";
import { exists, pathsOf, type VaultAccess, withProgress, withVault } from "./vault.js";

/** The avatar groups contract or a policy refused a transaction; `reason` is the contract's error name. */
export class GroupContractError extends contractRefusal("GroupContractError") {}

/** A commitments file holds something other than one identity commitment per line. */
export class MalformedCommitmentsError extends namedError("MalformedCommitmentsError") {}

/** Where the groups contract is, and (for transactions) the key of the wallet that pays. */
export interface GroupFlags {
  rpc: string;
  /** The AvatarGroups contract's address. */
  groups: string;
  walletKeyFile?: string;
  /** The network flags these came from, when resolved from them: where each value came from and the expected chain. */
  network?: ResolvedNetwork;
}

const REVERT_ADVICE: Record<string, string> = {
  AlreadyRegistered: "this wallet already registered an avatar in the group; an open group admits one per wallet",
  AlreadyAdmitted: "this identity commitment was admitted to the group before",
  UnknownGroup: "no such group; list them with 'mosaic avatar groups'",
  NotRegistrar: "--wallet-key-file must hold the key of the group's registrar",
  NotSignedByRegistrar: "the attestation is not signed by the group's current registrar; ask the registrar for a new one",
  AttestationExpired: "the attestation has expired; ask the registrar for a new one",
  BatchNotAllowed: "this group's policy does not admit in batches",
  RemovalNotAllowed: "this group's policy never removes members",
};

interface Connected {
  provider: Provider;
  chainId: bigint;
  groups: AvatarGroups;
  signer?: Signer;
}

/** Connects to the groups contract for the length of `use`, turning contract reverts into GroupContractError. */
async function withGroups<T>(flags: GroupFlags, use: (c: Connected) => Promise<T>): Promise<T> {
  return withContract(
    {
      ...(flags.network === undefined
        ? { rpc: flags.rpc, address: flags.groups, flag: "--groups", what: "AvatarGroups contract" }
        : contractTarget({ ...flags.network, rpc: flags.rpc, groups: flags.groups }, "groups", "AvatarGroups contract")),
      walletKeyFile: flags.walletKeyFile,
    },
    (s) =>
      use({ provider: s.provider, chainId: s.chainId, groups: attachAvatarGroups(s.signer ?? s.provider, s.address), signer: s.signer }),
    (err) => {
      const revert = decodeRevert(
        err,
        AvatarGroups__factory.createInterface(),
        OpenAdmission__factory.createInterface(),
        RegistrarAdmission__factory.createInterface(),
        IAdmissionPolicy__factory.createInterface(),
      );
      if (revert === undefined) return err;
      const advice = REVERT_ADVICE[revert.name];
      return new GroupContractError(
        revert.name,
        `the groups contract refused: ${revert.name}(${revert.args})${advice === undefined ? "" : `: ${advice}`}`,
      );
    },
  );
}

function needSigner(c: Connected): Signer {
  if (c.signer === undefined) throw new TypeError("--wallet-key-file is required: this command sends a transaction");
  return c.signer;
}

/** Parses a group id flag. */
export function parseGroupId(value: string): bigint {
  if (!/^(0|[1-9][0-9]{0,76})$/.test(value))
    throw new RangeError(`--group: expected a group id (a decimal integer), got ${JSON.stringify(value)}`);
  return BigInt(value);
}

/** Parses an identity commitment given as a decimal string. */
export function parseCommitment(value: string, where = "--commitment"): bigint {
  if (!/^[1-9][0-9]{0,77}$/.test(value) || BigInt(value) >= SNARK_SCALAR_FIELD)
    throw new RangeError(`${where}: expected an identity commitment (a decimal integer in 1..field-1), got ${JSON.stringify(value)}`);
  return BigInt(value);
}

const json = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
const groupToJson = (g: GroupInfo) => JSON.parse(json(g)) as Record<string, string>;

// ---------------------------------------------------------------------------------------------------------------
// status

export interface MembershipStatus {
  groupId: string;
  member: boolean;
  /** The avatar's leaf index, -1 when not a member. */
  index: number;
  size: number;
  root: string;
  syncedBlock: number;
}

export interface AvatarStatusResult {
  commitment: string;
  groups: MembershipStatus[];
}

/**
 * The avatar's identity commitment (what a registrar admits), and for each group asked about, whether the avatar is
 * a member: the group is rebuilt from the Semaphore contract's events, cached in the vault's directory.
 */
export async function avatarStatus(options: VaultAccess & { chain?: GroupFlags; groupIds: bigint[] }): Promise<AvatarStatusResult> {
  const commitment = await withVault(options, async ({ vault }) => vault.avatar.commitment);
  const result: AvatarStatusResult = { commitment: commitment.toString(), groups: [] };
  if (options.chain === undefined || options.groupIds.length === 0) return result;
  const cacheDir = path.join(pathsOf(options).dir, "groups");
  await withGroups(options.chain, async (c) => {
    const semaphore = await c.groups.semaphore();
    for (const groupId of options.groupIds) {
      await groupInfo(c.groups, groupId);
      const sync = await withProgress(`syncing group ${groupId}`, "blocks", async (p) => {
        const s = await openGroupSync({ provider: c.provider, semaphore }, groupId, {
          cacheDir,
          // The network file's Semaphore deploy block: no log read before it.
          fromBlock: options.chain?.network?.deployBlocks.semaphore,
          onProgress: ({ block, head }) => p.update(block, head),
        });
        await s.sync();
        return s;
      });
      const index = sync.indexOf(commitment);
      result.groups.push({
        groupId: groupId.toString(),
        member: index >= 0,
        index,
        size: sync.size,
        root: sync.root.toString(),
        syncedBlock: sync.block,
      });
    }
  });
  return result;
}

export function formatAvatarStatus(r: AvatarStatusResult): string {
  const lines = [
    `avatar identity commitment: ${r.commitment}`,
    "  (give this to a group's registrar to be admitted; it never appears in what you submit)",
  ];
  for (const g of r.groups) {
    lines.push(
      g.member
        ? `group ${g.groupId}: member (leaf ${g.index} of ${g.size}), root ${g.root}, synced to block ${g.syncedBlock}`
        : `group ${g.groupId}: not a member (${g.size} members), synced to block ${g.syncedBlock}; join with 'mosaic avatar register --group ${g.groupId}'`,
    );
  }
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// groups

export async function avatarGroups(flags: GroupFlags): Promise<{ groups: Record<string, string>[] }> {
  return withGroups(flags, async (c) => ({ groups: (await listGroups(c.groups)).map(groupToJson) }));
}

export function formatAvatarGroups(r: { groups: Record<string, string>[] }): string {
  if (r.groups.length === 0) return "no groups yet; a registrar creates one with 'mosaic avatar registrar create-group'";
  return r.groups
    .map(
      (g) =>
        `group ${g.groupId} ${JSON.stringify(g.name)}: ${g.kind} admission${g.registrar === undefined ? "" : ` (registrar ${g.registrar})`}, ${g.size} members, root ${g.root}`,
    )
    .join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// register

export interface RegisterResult {
  groupId: string;
  commitment: string;
  kind: string;
  size: string;
  root: string;
  tx: string;
}

/**
 * Adds the vault's avatar to a group from the paying wallet. An open group takes no evidence (one per wallet); a
 * registrar group takes the registrar's attestation, checked here before anything is sent.
 */
export async function avatarRegister(
  options: VaultAccess & { chain: GroupFlags; groupId: bigint; attestationFile?: string },
): Promise<RegisterResult> {
  const commitment = await withVault(options, async ({ vault }) => vault.avatar.commitment);
  const attestation =
    options.attestationFile === undefined ? undefined : parseAttestation(JSON.parse(await readFile(options.attestationFile, "utf8")));
  return withGroups(options.chain, async (c) => {
    const signer = needSigner(c);
    const info = await groupInfo(c.groups, options.groupId);
    let evidence: Uint8Array = new Uint8Array();
    if (info.kind === "registrar") {
      if (attestation === undefined)
        throw new TypeError(
          `group ${options.groupId} admits by registrar attestation: ask its registrar for one and pass --attestation FILE`,
        );
      const mismatch =
        attestation.commitment !== commitment
          ? `it admits commitment ${attestation.commitment}, not this vault's avatar ${commitment}`
          : attestation.groupId !== options.groupId
            ? `it is for group ${attestation.groupId}, not group ${options.groupId}`
            : attestation.chainId !== c.chainId
              ? `it is for chain ${attestation.chainId}, not chain ${c.chainId}`
              : getAddress(attestation.policy) !== getAddress(info.policy)
                ? `it is for the policy at ${attestation.policy}, not this group's ${info.policy}`
                : attestationSigner(attestation) !== info.registrar
                  ? `it is signed by ${attestationSigner(attestation)}, not the group's registrar ${info.registrar}`
                  : undefined;
      if (mismatch !== undefined) throw new AttestationMismatchError(`--attestation: ${mismatch}`);
      evidence = attestationEvidence(attestation);
    } else if (attestation !== undefined) {
      throw new TypeError(`group ${options.groupId} has ${info.kind} admission and takes no attestation; drop --attestation`);
    }
    const receipt = await registerAvatar(c.groups.connect(signer), options.groupId, commitment, evidence);
    return {
      groupId: options.groupId.toString(),
      commitment: commitment.toString(),
      kind: info.kind,
      size: (await c.groups.groupSize(options.groupId)).toString(),
      root: (await c.groups.groupRoot(options.groupId)).toString(),
      tx: receipt?.hash ?? "",
    };
  });
}

export function formatAvatarRegister(r: RegisterResult): string {
  return [
    `registered in group ${r.groupId} (${r.kind} admission): the group now has ${r.size} members, root ${r.root}`,
    `transaction ${r.tx}`,
    "the transaction shows which wallet joined, never which answers the avatar gives: those carry only a zero-knowledge proof",
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// registrar

/**
 * Creates a group under the admission policy contract at `admission` (the deployed OpenAdmission or
 * RegistrarAdmission, or a third-party policy). A registrar policy is configured with `registrar`, by default the
 * paying wallet.
 */
export async function registrarCreateGroup(
  flags: GroupFlags,
  init: { name: string; admission: string; registrar?: string },
): Promise<{ groupId: string; kind: string; policy: string; registrar?: string }> {
  if (!isAddress(init.admission))
    throw new TypeError(`--admission: expected the policy contract's 0x address, got ${JSON.stringify(init.admission)}`);
  if (init.registrar !== undefined && !isAddress(init.registrar))
    throw new TypeError(`--registrar: expected the registrar's 0x address, got ${JSON.stringify(init.registrar)}`);
  return withGroups(flags, async (c) => {
    const signer = needSigner(c);
    const policy = getAddress(init.admission);
    if ((await c.provider.getCode(policy)) === "0x") throw new TypeError(`--admission: no contract at ${policy}; check the address`);
    const kind = await IAdmissionPolicy__factory.connect(policy, c.provider).kind();
    let registrar: string | undefined;
    let config = "0x";
    if (kind === "registrar") {
      registrar = getAddress(init.registrar ?? (await signer.getAddress()));
      config = AbiCoder.defaultAbiCoder().encode(["address"], [registrar]);
    } else if (init.registrar !== undefined) {
      throw new TypeError(`--registrar: the policy at ${policy} is "${kind}" admission, which has no registrar`);
    }
    const receipt = await (await c.groups.connect(signer).createGroup(init.name, policy, config)).wait();
    const groupId = findEvent(receipt, c.groups.interface, "GroupCreated").args.groupId as bigint;
    return { groupId: groupId.toString(), kind, policy, ...(registrar === undefined ? {} : { registrar }) };
  });
}

export async function registrarAttest(
  flags: GroupFlags,
  options: { groupId: bigint; commitment: bigint; expiresInSeconds: number; out: string },
): Promise<{ out: string; groupId: string; commitment: string; expiresAt: string }> {
  if (await exists(options.out)) throw new TypeError(`--out ${options.out} already exists; choose another file`);
  return withGroups(flags, async (c) => {
    const signer = needSigner(c);
    const info = await groupInfo(c.groups, options.groupId);
    if (info.kind !== "registrar") throw new TypeError(`group ${options.groupId} has ${info.kind} admission: it takes no attestations`);
    const me = await signer.getAddress();
    if (info.registrar !== me)
      throw new GroupContractError(
        "NotRegistrar",
        `--wallet-key-file holds ${me}, but group ${options.groupId}'s registrar is ${info.registrar}`,
      );
    const block = await c.provider.getBlock("latest");
    const expiresAt = BigInt((block?.timestamp ?? Math.floor(Date.now() / 1000)) + options.expiresInSeconds);
    const attestation = await signAttestation(signer, {
      chainId: c.chainId,
      policy: info.policy,
      groupId: options.groupId,
      commitment: options.commitment,
      expiresAt,
    });
    // Create-only: a file that appeared while the attestation was signed is not replaced (FileExistsError).
    await writeFileAtomic(options.out, `${JSON.stringify(attestationToJson(attestation), null, 2)}\n`, { createOnly: true, mode: 0o600 });
    return {
      out: options.out,
      groupId: options.groupId.toString(),
      commitment: options.commitment.toString(),
      expiresAt: expiresAt.toString(),
    };
  });
}

/** Reads a file of identity commitments, one decimal per line (blank lines and # comments skipped). */
export async function readCommitments(file: string): Promise<bigint[]> {
  const out: bigint[] = [];
  const seen = new Set<bigint>();
  const lines = (await readFile(file, "utf8")).split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    let c: bigint;
    try {
      c = parseCommitment(line, `${file}:${i + 1}`);
    } catch (err) {
      throw new MalformedCommitmentsError((err as Error).message);
    }
    if (seen.has(c)) throw new MalformedCommitmentsError(`${file}:${i + 1}: commitment ${c} appears twice`);
    seen.add(c);
    out.push(c);
  });
  if (out.length === 0) throw new MalformedCommitmentsError(`${file}: no commitments; write one decimal commitment per line`);
  return out;
}

export async function registrarAdmit(
  flags: GroupFlags,
  options: { groupId: bigint; commitments: bigint[] },
): Promise<{ groupId: string; admitted: number; batches: number; size: string; root: string }> {
  return withGroups(flags, async (c) => {
    const groups = c.groups.connect(needSigner(c));
    const max = Number(await groups.MAX_BATCH());
    const batches = Math.ceil(options.commitments.length / max);
    await withProgress(`admitting to group ${options.groupId}`, "members", async (p) => {
      for (let b = 0; b < batches; b++) {
        const batch = options.commitments.slice(b * max, (b + 1) * max);
        await (await groups.registerBatch(options.groupId, batch)).wait();
        p.update(Math.min((b + 1) * max, options.commitments.length), options.commitments.length);
      }
    });
    return {
      groupId: options.groupId.toString(),
      admitted: options.commitments.length,
      batches,
      size: (await groups.groupSize(options.groupId)).toString(),
      root: (await groups.groupRoot(options.groupId)).toString(),
    };
  });
}

export async function registrarRemove(
  flags: GroupFlags,
  options: { groupId: bigint; commitment: bigint; cacheDir?: string },
): Promise<{ groupId: string; removed: string; root: string }> {
  return withGroups(flags, async (c) => {
    const groups = c.groups.connect(needSigner(c));
    const sync = await openGroupSync({ provider: c.provider, semaphore: await groups.semaphore() }, options.groupId, {
      cacheDir: options.cacheDir,
      fromBlock: flags.network?.deployBlocks.semaphore,
    });
    await sync.sync();
    const index = sync.indexOf(options.commitment);
    if (index < 0) throw new TypeError(`--commitment ${options.commitment} is not a member of group ${options.groupId}`);
    const { siblings } = sync.group().generateMerkleProof(index);
    await (await groups.removeMember(options.groupId, options.commitment, siblings)).wait();
    return {
      groupId: options.groupId.toString(),
      removed: options.commitment.toString(),
      root: (await groups.groupRoot(options.groupId)).toString(),
    };
  });
}

export async function registrarHandOver(
  flags: GroupFlags,
  options: { groupId: bigint; to: string },
): Promise<{ groupId: string; registrar: string }> {
  if (!isAddress(options.to)) throw new TypeError(`--to: expected the new registrar's 0x address, got ${JSON.stringify(options.to)}`);
  return withGroups(flags, async (c) => {
    const signer = needSigner(c);
    const info = await groupInfo(c.groups, options.groupId);
    if (info.kind !== "registrar") throw new TypeError(`group ${options.groupId} has ${info.kind} admission: it has no registrar`);
    const policy = attachRegistrarAdmission(signer, info.policy);
    try {
      await (await policy.setRegistrar(options.groupId, getAddress(options.to))).wait();
    } catch (err) {
      const revert = decodeRevert(err, policy.interface);
      if (revert === undefined) throw err;
      throw new GroupContractError(
        revert.name,
        `the registrar policy refused: ${revert.name}(${revert.args}): ${REVERT_ADVICE[revert.name] ?? ""}`,
      );
    }
    return { groupId: options.groupId.toString(), registrar: getAddress(options.to) };
  });
}

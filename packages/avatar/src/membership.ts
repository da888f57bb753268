// Joining avatar groups: creating a group under an admission policy, registrar attestations, registration.
import {
  attachRegistrarAdmission,
  type AvatarGroups,
  findEvent,
  fromHex,
  IAdmissionPolicy__factory,
  type MosaicContracts,
  namedError,
  SNARK_SCALAR_FIELD,
} from "@mosaic/protocol";
import { AbiCoder, getAddress, type Provider, isAddress, keccak256, type Signer, toUtf8Bytes, verifyMessage } from "ethers";

/** The admission policies Mosaic deploys: anyone once per wallet, or by a registrar. */
export type AdmissionKind = "open" | "registrar";

/** An attestation file is malformed; the message names the field. */
export class MalformedAttestationError extends namedError("MalformedAttestationError") {}
/** The group does not exist on this AvatarGroups contract. */
export class UnknownGroupError extends namedError("UnknownGroupError") {}
/** An attestation is not signed by the registrar it claims, or is for another chain, policy, group or identity. */
export class AttestationMismatchError extends namedError("AttestationMismatchError") {}

/** What a registrar hands a person it admits: a signature over (chain, policy, group, commitment, expiry). */
export interface Attestation {
  format: "mosaic.attestation.v1";
  chainId: bigint;
  /** The RegistrarAdmission contract. */
  policy: string;
  groupId: bigint;
  commitment: bigint;
  /** Unix seconds after which the contract refuses it. */
  expiresAt: bigint;
  /** The registrar's EIP-191 signature of `attestationHash(...)`, 65 bytes hex. */
  signature: string;
}

const ATTESTATION_TAG = keccak256(toUtf8Bytes("mosaic.registrar-admission.v1"));
const UINT64_MAX = (1n << 64n) - 1n;

/** The hash a registrar signs; equals RegistrarAdmission.attestationHash on the chain `chainId`. */
export function attestationHash(a: Pick<Attestation, "chainId" | "policy" | "groupId" | "commitment" | "expiresAt">): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["bytes32", "uint256", "address", "uint256", "uint256", "uint256"],
      [ATTESTATION_TAG, a.chainId, a.policy, a.groupId, a.commitment, a.expiresAt],
    ),
  );
}

/** Signs an attestation admitting `commitment` to a registrar group until `expiresAt`. */
export async function signAttestation(
  registrar: Signer,
  fields: { chainId: bigint; policy: string; groupId: bigint; commitment: bigint; expiresAt: bigint },
): Promise<Attestation> {
  checkCommitment(fields.commitment, "commitment");
  if (fields.expiresAt < 0n || fields.expiresAt > UINT64_MAX) throw new RangeError(`expiresAt: expected a uint64, got ${fields.expiresAt}`);
  const a = { ...fields, policy: getAddress(fields.policy) };
  const signature = await registrar.signMessage(fromHex(attestationHash(a)));
  return { format: "mosaic.attestation.v1", ...a, signature };
}

/** The address that signed an attestation. */
export function attestationSigner(a: Attestation): string {
  return verifyMessage(fromHex(attestationHash(a)), a.signature);
}

/** The `evidence` bytes RegistrarAdmission takes: expiresAt as 8 bytes big-endian, then the 65-byte signature. */
export function attestationEvidence(a: Attestation): Uint8Array {
  const sig = fromHex(a.signature, { field: "attestation.signature" });
  if (sig.length !== 65) throw new MalformedAttestationError(`attestation.signature: expected 65 bytes, got ${sig.length}`);
  const out = new Uint8Array(73);
  new DataView(out.buffer).setBigUint64(0, a.expiresAt);
  out.set(sig, 8);
  return out;
}

/** The JSON form of an attestation, for a file the person keeps. */
export function attestationToJson(a: Attestation): Record<string, string | number> {
  return {
    format: a.format,
    chainId: a.chainId.toString(),
    policy: a.policy,
    groupId: a.groupId.toString(),
    commitment: a.commitment.toString(),
    expiresAt: a.expiresAt.toString(),
    signature: a.signature,
  };
}

/** Parses an attestation from untrusted JSON; every deviation is a MalformedAttestationError naming the field. */
export function parseAttestation(json: unknown): Attestation {
  if (json === null || typeof json !== "object" || Array.isArray(json))
    throw new MalformedAttestationError("attestation: expected an object");
  const o = json as Record<string, unknown>;
  const keys = ["format", "chainId", "policy", "groupId", "commitment", "expiresAt", "signature"];
  const extra = Object.keys(o).filter((k) => !keys.includes(k));
  if (extra.length > 0) throw new MalformedAttestationError(`attestation: unexpected field ${extra[0]}`);
  if (o.format !== "mosaic.attestation.v1")
    throw new MalformedAttestationError(`attestation.format: expected "mosaic.attestation.v1", got ${JSON.stringify(o.format)}`);
  const uint = (field: string, max: bigint): bigint => {
    const v = o[field];
    if (typeof v !== "string" || !/^(0|[1-9][0-9]{0,77})$/.test(v))
      throw new MalformedAttestationError(`attestation.${field}: expected a decimal integer string, got ${JSON.stringify(v)}`);
    const n = BigInt(v);
    if (n > max) throw new MalformedAttestationError(`attestation.${field}: ${v} is out of range`);
    return n;
  };
  if (typeof o.policy !== "string" || !isAddress(o.policy) || !o.policy.startsWith("0x"))
    throw new MalformedAttestationError(`attestation.policy: expected a 0x address, got ${JSON.stringify(o.policy)}`);
  if (typeof o.signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(o.signature))
    throw new MalformedAttestationError("attestation.signature: expected 65 bytes as 0x hex");
  const commitment = uint("commitment", SNARK_SCALAR_FIELD - 1n);
  if (commitment === 0n) throw new MalformedAttestationError("attestation.commitment: must not be 0");
  return {
    format: "mosaic.attestation.v1",
    chainId: uint("chainId", (1n << 256n) - 1n),
    policy: getAddress(o.policy),
    groupId: uint("groupId", (1n << 256n) - 1n),
    commitment,
    expiresAt: uint("expiresAt", UINT64_MAX),
    signature: o.signature,
  };
}

/** Information about a group, as `mosaic avatar groups` lists it. */
export interface GroupInfo {
  groupId: bigint;
  name: string;
  creator: string;
  policy: string;
  /** "open", "registrar", or what a third-party policy calls itself. */
  kind: string;
  /** Leaves, counting removed members' zero leaves. */
  size: bigint;
  root: bigint;
  /** For a registrar group, the current registrar. */
  registrar?: string;
}

/** Creates a group under one of the deployed policies; returns its Semaphore group id. */
export async function createAvatarGroup(
  contracts: Pick<MosaicContracts, "avatarGroups" | "addresses">,
  init: { name: string; policy: AdmissionKind; registrar?: string },
): Promise<bigint> {
  let policy: string;
  let config = "0x";
  if (init.policy === "open") {
    if (init.registrar !== undefined) throw new TypeError("registrar: an open group has no registrar");
    policy = contracts.addresses.openAdmission;
  } else {
    if (init.registrar === undefined || !isAddress(init.registrar))
      throw new TypeError(`registrar: expected the registrar's 0x address, got ${JSON.stringify(init.registrar)}`);
    policy = contracts.addresses.registrarAdmission;
    config = AbiCoder.defaultAbiCoder().encode(["address"], [init.registrar]);
  }
  const receipt = await (await contracts.avatarGroups.createGroup(init.name, policy, config)).wait();
  return findEvent(receipt, contracts.avatarGroups.interface, "GroupCreated").args.groupId as bigint;
}

/** Adds an identity commitment to a group; `evidence` is empty for open groups, attestationEvidence(...) for registrar ones. */
export async function registerAvatar(groups: AvatarGroups, groupId: bigint, commitment: bigint, evidence: Uint8Array = new Uint8Array()) {
  checkCommitment(commitment, "commitment");
  // Inserting into the group's Merkle tree costs more when it updates more levels: a registration estimated just before
  // another one lands can run out of gas (the 167th of 200 concurrent ones did). Leave room for a few more levels.
  const estimate = await groups.register.estimateGas(groupId, commitment, evidence);
  return (await groups.register(groupId, commitment, evidence, { gasLimit: (estimate * 13n) / 10n + 60_000n })).wait();
}

/** Every group created through AvatarGroups, with its policy, size and root (and registrar, for registrar groups). */
export async function listGroups(groups: AvatarGroups): Promise<GroupInfo[]> {
  const events = await groups.queryFilter(groups.filters.GroupCreated());
  const out: GroupInfo[] = [];
  for (const e of events) out.push(await groupInfo(groups, e.args.groupId, e.args));
  return out;
}

/** One group's listing; `created` saves a log query when the caller already has the GroupCreated event. */
export async function groupInfo(
  groups: AvatarGroups,
  groupId: bigint,
  created?: { creator: string; policy: string; name: string },
): Promise<GroupInfo> {
  let event = created;
  if (event === undefined) {
    const [e] = await groups.queryFilter(groups.filters.GroupCreated(groupId));
    if (e === undefined)
      throw new UnknownGroupError(
        `group ${groupId} was not created through AvatarGroups at ${await groups.getAddress()}; see 'mosaic avatar groups'`,
      );
    event = e.args;
  }
  const kind = await IAdmissionPolicy__factory.connect(event.policy, groups.runner).kind();
  const info: GroupInfo = {
    groupId,
    name: event.name,
    creator: event.creator,
    policy: event.policy,
    kind,
    size: await groups.groupSize(groupId),
    root: await groups.groupRoot(groupId),
  };
  if (kind === "registrar") info.registrar = await attachRegistrarAdmission(groups.runner as Provider, event.policy).registrarOf(groupId);
  return info;
}

function checkCommitment(commitment: bigint, field: string): void {
  if (commitment <= 0n || commitment >= SNARK_SCALAR_FIELD)
    throw new RangeError(`${field}: expected an identity commitment in 1..field-1, got ${commitment}`);
}

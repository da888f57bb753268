// An aggregator's half of the shared mode: the verify key both share, preparing its own share of a report,
// finishing it with the other's prep share (or rejecting it), and the noised aggregate share it commits on-chain.
import type { JobRef, JobSpec } from "@mosaic/protocol";
import { equalBytes } from "@mosaic/protocol";
import * as dagCbor from "@ipld/dag-cbor";
import { x25519 } from "@noble/curves/ed25519";
import { hkdf } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha2";
import { concatBytes, utf8ToBytes } from "@noble/hashes/utils";
import { sampleDiscreteGaussian } from "../dp/gaussian.js";
import { cryptoUniform, keyedUniform, type UniformInt } from "../dp/uniform.js";
import { InvalidShareProofError, MalformedReportError, ReportTotalError } from "./errors.js";
import { open, publicKeyOf } from "./hpke.js";
import { checkReport, jobWire, type SharedReport, shareAad, shareInfo } from "./report.js";
import { decodeInputShare, decodePrepShare, decodePublicShare, encodePrepShare, type SharedPrio3, sharedVdafOf } from "./vdaf.js";

const VERIFY_KEY_SALT = utf8ToBytes("mosaic/prio3-verify-key/1");
const NOISE_SALT = utf8ToBytes("mosaic/aggregator-noise/1");

function aggregatorIndex(index: unknown): 0 | 1 {
  if (index !== 0 && index !== 1) throw new RangeError(`index: expected 0 (leader) or 1 (helper), got ${String(index)}`);
  return index;
}

export interface VerifyKeyInit {
  job: JobRef;
  /** This aggregator's X25519 secret. */
  mySecret: Uint8Array;
  /** Both aggregators' public keys as the job records them, leader's first. */
  keys: readonly [Uint8Array, Uint8Array];
  /** Which of the two this aggregator is. */
  index: 0 | 1;
  /** Bytes of key (the Prio3 instance's verifyKeySize). @default 16 */
  size?: number;
}

/**
 * The Prio3 verify key the two aggregators share and clients never learn: HKDF-SHA256 with ikm the X25519 secret
 * of the two recorded keys, salt "mosaic/prio3-verify-key/1", info dag-cbor(job) ‖ key0 ‖ key1. Both compute the
 * same bytes. RangeError when `mySecret` is not the secret of keys[index].
 */
export function verifyKeyOf(init: VerifyKeyInit): Uint8Array {
  const index = aggregatorIndex(init.index);
  const keys = init.keys;
  if (!Array.isArray(keys) || keys.length !== 2 || !keys.every((k) => k instanceof Uint8Array && k.length === 32))
    throw new RangeError("keys: expected the two aggregators' 32-byte X25519 public keys");
  if (!equalBytes(publicKeyOf(init.mySecret), keys[index] as Uint8Array))
    throw new RangeError(`mySecret: its public key is not keys[${index}], the key the job records for this aggregator`);
  const size = init.size ?? 16;
  if (!Number.isInteger(size) || size < 1 || size > 255 * 32) throw new RangeError(`size: expected a key length in bytes, got ${size}`);
  let ikm: Uint8Array;
  try {
    ikm = x25519.getSharedSecret(init.mySecret, keys[1 - index] as Uint8Array);
  } catch (err) {
    throw new RangeError(`keys[${1 - index}]: not a usable X25519 public key (${(err as Error).message})`);
  }
  if (ikm.every((b) => b === 0)) throw new RangeError(`keys[${1 - index}]: a small-order X25519 key`);
  const info = concatBytes(dagCbor.encode(jobWire(init.job)), keys[0] as Uint8Array, keys[1] as Uint8Array);
  return hkdf(sha256, ikm, VERIFY_KEY_SALT, info, size);
}

/** What an aggregator keeps between preparing a report and finishing it (deterministic: re-preparing gives it again). */
export interface PreparedReport {
  index: 0 | 1;
  /** This aggregator's own prep share, as sent. */
  prepShare: Uint8Array;
  /** Prio3's preparation state: the output share and the joint randomness it expects. */
  preparationState: Parameters<SharedPrio3["prepareNext"]>[0];
}

export interface PrepareShareInit {
  spec: JobSpec;
  job: JobRef;
  index: 0 | 1;
  mySecret: Uint8Array;
  verifyKey: Uint8Array;
  report: SharedReport;
  /** The nullifier of the envelope the report came in: its shares decrypt only under it (see shareAad). */
  nullifier: bigint;
}

/**
 * Decrypts this aggregator's share of a report and runs Prio3's prepareInit on it. MalformedReportError for a report
 * of the wrong shape (or a share that does not decode), ShareDecryptError for a share that does not decrypt (sealed
 * to another key, job or report, or for another nullifier: a report copied from another member's envelope),
 * RangeError for a nullifier that is not a 256-bit unsigned integer.
 */
export async function prepareShare(init: PrepareShareInit): Promise<{ state: PreparedReport; prepShare: Uint8Array; totalShare?: bigint }> {
  const index = aggregatorIndex(init.index);
  const { vdaf } = sharedVdafOf(init.spec);
  if (!(init.verifyKey instanceof Uint8Array) || init.verifyKey.length !== vdaf.verifyKeySize)
    throw new RangeError(`verifyKey: expected ${vdaf.verifyKeySize} bytes, got ${init.verifyKey?.length}`);
  const report = init.report;
  checkReport(report, init.spec);
  const share = report.shares[index];
  const plaintext = open(
    init.mySecret,
    share.enc,
    shareInfo(init.job, index),
    shareAad(report.nonce, report.publicShare, init.nullifier),
    share.ct,
  );
  const inputShare = await decodeInputShare(vdaf, index, plaintext);
  const publicShare = decodePublicShare(vdaf, report.publicShare);
  let prepared: Awaited<ReturnType<SharedPrio3["prepareInit"]>>;
  try {
    prepared = await vdaf.prepareInit(init.verifyKey as never, index, null, report.nonce as never, publicShare, inputShare);
  } catch (err) {
    throw new MalformedReportError(`report: Prio3 could not prepare share ${index}: ${(err as Error).message}`);
  }
  const prepShare = encodePrepShare(vdaf, prepared.preparationShare);
  return {
    state: { index, prepShare, preparationState: prepared.preparationState },
    prepShare,
    totalShare: totalShareOf(init.spec, index, prepared.preparationState.outputShare),
  };
}

/**
 * This aggregator's share of (Σ entries − total) for a report, when the output declares a fixed sum (SumVec only:
 * a histogram's one-hot is Prio3's own check): Σ of its output share, minus the total at the leader, mod p. For an
 * honest report the two shares add to 0 and each alone is uniformly random, so publishing them (in the prep bundle)
 * tells nothing; for a report whose entries do not add up they reveal only the gap. Undefined without a total.
 */
function totalShareOf(spec: JobSpec, index: 0 | 1, outputShare: readonly bigint[]): bigint | undefined {
  const shared = sharedVdafOf(spec);
  const total = spec.output.total;
  if (total === undefined || shared.kind !== "sumvec") return undefined;
  let sum = 0n;
  for (const x of outputShare) sum = (sum + x) % shared.modulus;
  return (sum - (index === 0 ? BigInt(total) : 0n) + shared.modulus) % shared.modulus;
}

/**
 * Checks a report's two total shares (prepareShare's totalShare, leader's first) add to 0 mod p: its entries, each in
 * [0, 2^bits) by the validity proof, add up to the output's declared total, so none exceeds it. ReportTotalError
 * otherwise (the message gives the gap); a no-op for outputs without a total.
 */
export function checkTotal(spec: JobSpec, totalShares: readonly [bigint | undefined, bigint | undefined]): void {
  const shared = sharedVdafOf(spec);
  if (spec.output.total === undefined || shared.kind !== "sumvec") return;
  const [a, b] = totalShares;
  for (const [i, x] of [a, b].entries())
    if (typeof x !== "bigint" || x < 0n || x >= shared.modulus)
      throw new ReportTotalError(`totalShares[${i}]: expected a field element, got ${String(x)}`);
  const gap = ((a as bigint) + (b as bigint)) % shared.modulus;
  if (gap !== 0n) {
    const centred = gap > shared.modulus / 2n ? gap - shared.modulus : gap;
    throw new ReportTotalError(
      `report: its entries add up to ${spec.output.total} ${centred > 0n ? "+" : "−"} ${centred < 0n ? -centred : centred}, not the declared total ${spec.output.total}`,
    );
  }
}

/**
 * The key of an aggregator's noise for one job: HKDF-SHA256 of its X25519 secret, salt "mosaic/aggregator-noise/1",
 * info dag-cbor(job) ‖ index. Noise drawn from it (keyedUniform) is unknown to everyone else, yet the same on every
 * retry: a commit sent twice after a restart cannot publish two independent noisings of one share.
 */
export function noiseKeyOf(init: { job: JobRef; mySecret: Uint8Array; index: 0 | 1; purpose?: "noise" | "salt" }): Uint8Array {
  const index = aggregatorIndex(init.index);
  if (!(init.mySecret instanceof Uint8Array) || init.mySecret.length !== 32)
    throw new RangeError("mySecret: expected a 32-byte X25519 secret");
  // "salt": the secret hiding the noised share in its on-chain commitment until the reveal, from the same key material
  // under another label (one key, one purpose). The noise key's info is unchanged from before salts existed.
  const label = init.purpose === "salt" ? utf8ToBytes("salt") : new Uint8Array(0);
  return hkdf(sha256, init.mySecret, NOISE_SALT, concatBytes(dagCbor.encode(jobWire(init.job)), Uint8Array.of(index), label), 32);
}

/** The deterministic noise source of noiseKeyOf's key. */
export function noiseSourceOf(init: { job: JobRef; mySecret: Uint8Array; index: 0 | 1 }): UniformInt {
  return keyedUniform(noiseKeyOf(init));
}

export interface FinishReportInit {
  spec: JobSpec;
  state: PreparedReport;
  /** Both aggregators' prep shares for the report, leader's first (this aggregator's own at its index). */
  prepShares: readonly [Uint8Array, Uint8Array];
}

/**
 * Combines both prep shares: the FLP decides the report's validity and the joint randomness must match. Returns this
 * aggregator's output share, or throws InvalidShareProofError (a measurement the spec does not allow, shares that do
 * not belong together, or aggregators with different verify keys); MalformedReportError for a prep share that does
 * not decode.
 */
export async function finishReport(init: FinishReportInit): Promise<bigint[]> {
  const { vdaf } = sharedVdafOf(init.spec);
  const { state, prepShares } = init;
  if (!Array.isArray(prepShares) || prepShares.length !== 2)
    throw new RangeError(`prepShares: expected 2 prep shares, got ${prepShares?.length}`);
  const own = prepShares[state.index];
  if (!(own instanceof Uint8Array) || !equalBytes(own, state.prepShare))
    throw new RangeError(`prepShares[${state.index}]: not this aggregator's own prep share for the report`);
  const decoded = prepShares.map((bytes) => decodePrepShare(vdaf, bytes));
  let message: Awaited<ReturnType<SharedPrio3["unshardPreparationShares"]>>;
  try {
    message = await vdaf.unshardPreparationShares(null, decoded);
  } catch (err) {
    throw new InvalidShareProofError(
      `report: the validity proof fails (${(err as Error).message}); the measurement is not one the job allows`,
    );
  }
  let next: ReturnType<SharedPrio3["prepareNext"]>;
  try {
    next = vdaf.prepareNext(state.preparationState, message);
  } catch (err) {
    throw new InvalidShareProofError(
      `report: the joint randomness does not match (${(err as Error).message}); the shares do not belong together`,
    );
  }
  if (!("outputShare" in next)) throw new InvalidShareProofError("report: Prio3 asked for another round, which draft 08 never does");
  return next.outputShare;
}

function checkShare(what: string, share: readonly bigint[], length: number, modulus: bigint): void {
  if (!Array.isArray(share) || share.length !== length)
    throw new RangeError(`${what}: expected ${length} field elements, got ${Array.isArray(share) ? share.length : typeof share}`);
  for (const [j, x] of share.entries()) {
    if (typeof x !== "bigint" || x < 0n || x >= modulus)
      throw new RangeError(`${what}[${j}]: expected a field element in [0, p), got ${String(x)}`);
  }
}

/** The sum of output shares mod p, entry by entry (zeros for none). */
export function aggregateShares(spec: JobSpec, outputShares: readonly (readonly bigint[])[]): bigint[] {
  const { length, modulus } = sharedVdafOf(spec);
  const sum: bigint[] = new Array(length).fill(0n);
  for (const [i, share] of outputShares.entries()) {
    checkShare(`outputShares[${i}]`, share, length, modulus);
    for (let j = 0; j < length; j++) sum[j] = ((sum[j] as bigint) + (share[j] as bigint)) % modulus;
  }
  return sum;
}

/**
 * This aggregator's aggregate share with its noise: an exact discrete Gaussian draw of σ² = spec.privacy.sigma2 added
 * to each entry mod p (a negative draw x is p − |x|). `rand` defaults to the platform's CSPRNG; pass a seeded one
 * only in tests.
 */
export function noisedAggregateShare(spec: JobSpec, aggregateShare: readonly bigint[], rand: UniformInt = cryptoUniform): bigint[] {
  const { length, modulus } = sharedVdafOf(spec);
  checkShare("aggregateShare", aggregateShare, length, modulus);
  if (spec.privacy?.mechanism !== "discrete-gaussian")
    throw new RangeError(
      `spec.privacy.mechanism: the shared mode's noise is discrete-gaussian, got ${JSON.stringify(spec.privacy?.mechanism)}`,
    );
  const sigma2 = spec.privacy.sigma2;
  return aggregateShare.map((x) => {
    const noise = BigInt(sampleDiscreteGaussian(sigma2, rand));
    return (((x + noise) % modulus) + modulus) % modulus;
  });
}

/**
 * The released aggregate from the two (noised) aggregate shares: (s0 + s1) mod p per entry, centred so values above
 * p/2 read as negative (noise can push a small sum below zero), exactly as SharedJobs.finalize computes it.
 */
export function unshardResult(spec: JobSpec, shares: readonly [readonly bigint[], readonly bigint[]]): number[] {
  const { length, modulus } = sharedVdafOf(spec);
  if (!Array.isArray(shares) || shares.length !== 2) throw new RangeError(`shares: expected the 2 aggregate shares, got ${shares?.length}`);
  checkShare("shares[0]", shares[0], length, modulus);
  checkShare("shares[1]", shares[1], length, modulus);
  return shares[0].map((a, j) => {
    const sum = (a + (shares[1][j] as bigint)) % modulus;
    const centred = sum > modulus / 2n ? sum - modulus : sum;
    if (centred > BigInt(Number.MAX_SAFE_INTEGER) || centred < -BigInt(Number.MAX_SAFE_INTEGER))
      throw new RangeError(`shares: entry ${j} sums to ${centred}, beyond a safe integer (the shares are not of one job)`);
    return Number(centred);
  });
}

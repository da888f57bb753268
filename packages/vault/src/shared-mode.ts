// The vault's side of a job's mode: which specs it will answer in the secret-shared mode, what the consent screen
// tells the user each mode does with their answer, and how the egress log names the two aggregators.
import { validateSpec } from "@mosaic/mapreduce";
import {
  fromHex,
  InvalidJobSpecError,
  type JobMode,
  type JobSpec,
  namedError,
  type ReducerRecord,
  type SharedJobs,
  toBareHex,
} from "@mosaic/protocol";
import { sha256 } from "@noble/hashes/sha2";
import type { Epsilon } from "./budget.js";

/**
 * A shared-mode spec the vault will not answer: its exact answer would leave without the protection the mode promises
 * (a mechanism other than the aggregators' discrete Gaussian, entries below 0 that Prio3 cannot range-check, noise
 * too small for the declared ε, a reducer the aggregators cannot sum, ...). Nothing is mapped, recorded or sent.
 */
export class SharedSpecRefusedError extends namedError("SharedSpecRefusedError") {}

/** The job's mode: a spec without one is local. */
export function modeOf(spec: Pick<JobSpec, "mode">): JobMode {
  return spec.mode ?? "local";
}

/**
 * Throws SharedSpecRefusedError unless `spec` is a shared-mode spec the mapreduce checks pass (validateSpec runs
 * sharedSpecProblem for mode "shared": entries from 0, sum/histogram/mean, discrete Gaussian whose σ² alone gives
 * (ε, δ), a report that fits). A local spec passes unchecked here (its own checks run where it is decoded). The
 * vault's own reading comes first, so the two hostile cases a researcher could try are named whatever mapreduce says.
 */
export function checkSharedSpec(spec: JobSpec): void {
  if (modeOf(spec) !== "shared") return;
  if (spec.privacy?.mechanism !== "discrete-gaussian")
    throw new SharedSpecRefusedError(
      `job spec: a shared job's noise is the aggregators' discrete Gaussian, but this one declares ${JSON.stringify(spec.privacy?.mechanism)}: ` +
        "its exact answers would be released with no noise the vault can count on; the vault will not run it",
    );
  spec.output?.entries?.forEach((e, i) => {
    if (!(e.min === 0))
      throw new SharedSpecRefusedError(
        `job spec: output.entries[${i}] starts at ${e.min}: a shared job's entries start at 0 (Prio3 proves each entry in [0, 2^bits)); the vault will not run it`,
      );
  });
  try {
    validateSpec(spec);
  } catch (err) {
    if (err instanceof InvalidJobSpecError) throw new SharedSpecRefusedError(`${err.message}; the vault will not run it in shared mode`);
    throw err;
  }
}

/** An aggregator's X25519 key as the audit log and the consent screen name it: the first 16 bytes of its sha-256, hex. */
export function aggregatorKeyFingerprint(key: Uint8Array): string {
  return toBareHex(sha256(key).subarray(0, 16));
}

/** One of a shared job's aggregators as the consent screen names it: its operator's address and its key. */
export interface JobAggregator {
  address: string;
  key: Uint8Array;
}

/** An aggregator as a consent records it: the address and the key's fingerprint the user was shown. */
export interface ConsentedAggregator {
  address: string;
  fingerprint: string;
}

/**
 * The small-order X25519 u-coordinates (and their non-canonical encodings), little-endian hex as the keys travel: a
 * share sealed to one has no secret behind it (Bernstein's list, as libsodium and RFC 7748 implementations reject).
 */
const SMALL_ORDER = new Set([
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]);

/** A key as the point it names: the top bit of the last byte is ignored by X25519, so two encodings name one point. */
function canonicalKey(key: Uint8Array): string {
  const k = key.slice();
  k[31] = (k[31] as number) & 0x7f;
  return toBareHex(k);
}

/**
 * RangeError naming the field unless `keys` are two 32-byte X25519 public keys of two different points, neither of
 * small order (two encodings of one point would send both shares to one holder).
 */
export function checkAggregatorKeys(keys: readonly Uint8Array[]): asserts keys is [Uint8Array, Uint8Array] {
  if (!Array.isArray(keys) || keys.length !== 2)
    throw new RangeError(
      `aggregatorKeys: expected the job's two aggregators' keys, got ${Array.isArray(keys) ? keys.length : typeof keys}`,
    );
  keys.forEach((k, i) => {
    if (!(k instanceof Uint8Array) || k.length !== 32)
      throw new RangeError(
        `aggregatorKeys[${i}]: expected a 32-byte X25519 public key, got ${k instanceof Uint8Array ? `${k.length} bytes` : typeof k}`,
      );
  });
  keys.forEach((k, i) => {
    if (SMALL_ORDER.has(canonicalKey(k)) || SMALL_ORDER.has(toBareHex(k)))
      throw new RangeError(
        `aggregatorKeys[${i}]: a small-order X25519 point, which no secret key stands behind; the vault will not seal to it`,
      );
  });
  if (canonicalKey(keys[0] as Uint8Array) === canonicalKey(keys[1] as Uint8Array))
    throw new RangeError(
      "aggregatorKeys: both shares would go to the same key, which would learn the exact answer; the job's two aggregators have distinct keys",
    );
}

/** ε as the consent screen writes it: a short decimal. */
function decimal(e: Epsilon): string {
  return String(Number((e.num / e.den).toPrecision(4)));
}

/**
 * What the consent screen tells the user the job's mode does with their answer, line by line: who sees what, and
 * what the chain can and cannot check. `charge` is the ε the ledger charges (privacyCost).
 */
export function modeDisclosure(spec: JobSpec, charge: Epsilon, aggregators?: readonly ConsentedAggregator[]): string[] {
  if (modeOf(spec) === "shared") {
    const who =
      aggregators === undefined || aggregators.length !== 2
        ? "the job's two aggregators, staked reducers the researcher chose"
        : `the job's two aggregators, staked reducers the researcher chose: ${aggregators.map((a) => `${a.address} (key ${a.fingerprint})`).join(" and ")}`;
    return [
      `Your exact answer is split in two encrypted shares, one for each of ${who}.`,
      "Neither aggregator alone learns anything about your answer; if the two collude they learn your exact answer. " +
        "The chain checks they are two different staked accounts with different keys, neither the researcher's; it " +
        "cannot check that different people run them: consent only if you trust that they do.",
      `The released sum carries noise enough for ε = ${decimal(charge)} even if one of them reveals everything.`,
      "The chain can check that each aggregator's set of answers holds only proven members' answers, one each; it cannot " +
        "check that an aggregator summed its shares or added its noise: that rests on the two not colluding.",
    ];
  }
  return [
    `Your answer is noised on this device (${spec.privacy.mechanism}, ε = ${decimal(charge)}) before it leaves.`,
    "Anyone who sees it, the reducers included, learns only the noised answer.",
  ];
}

/** A reducer picked as one of a shared job's aggregators: its record, and its registered key as SharedJobs holds it. */
export interface PickedAggregator {
  operator: string;
  stake: bigint;
  /** Its X25519 aggregator key, bytes32 hex, lower-case. */
  key: string;
  /** The key's fingerprint, as the consent screen shows it (aggregatorKeyFingerprint). */
  fingerprint: string;
  addrs: readonly string[];
}

/** Whether `key` (bytes32 hex as SharedJobs returns it) is a registered aggregator key, not the empty slot. */
export function isAggregatorKey(key: string): boolean {
  return /^0x[0-9a-fA-F]{64}$/.test(key) && !/^0x0{64}$/.test(key);
}

/**
 * The stake a shared job's aggregator needs: SharedJobs asks max(the job's minStake, its MIN_AGGREGATOR_STAKE), and
 * never zero. `floor` is the contract's own minimum (0 when it cannot be read).
 */
export async function aggregatorMinStake(
  shared: Pick<SharedJobs, "MIN_AGGREGATOR_STAKE">,
  jobMinStake: bigint,
): Promise<{ floor: bigint; minStake: bigint }> {
  const floor = await shared.MIN_AGGREGATOR_STAKE().catch(() => 0n);
  const asked = jobMinStake > floor ? jobMinStake : floor;
  return { floor, minStake: asked > 0n ? asked : 1n };
}

/**
 * The two aggregators a job gets by default, the CLI's and the app's one rule: from `records` (readReducers order,
 * highest stake first) the first operators staked at least `minStake`, not the researcher, with a registered key,
 * each of another operator and another key (two operators on one machine share one peer key, so one aggregator key,
 * and are not two independent aggregators). Fewer than two when not enough qualify; `withoutKey` counts those passed
 * over for having no key, for the caller's error message.
 */
export async function pickAggregators(
  shared: Pick<SharedJobs, "aggregatorKeyOf">,
  records: readonly ReducerRecord[],
  init: { minStake: bigint; researcher?: string },
): Promise<{ picked: PickedAggregator[]; withoutKey: number }> {
  const researcher = init.researcher?.toLowerCase();
  const picked: PickedAggregator[] = [];
  let withoutKey = 0;
  for (const r of records) {
    if (picked.length === 2) break;
    const operator = r.operator.toLowerCase();
    if (r.stake < init.minStake || operator === researcher) continue;
    const key = (await shared.aggregatorKeyOf(r.operator)).toLowerCase();
    if (!isAggregatorKey(key)) {
      withoutKey++;
      continue;
    }
    if (picked.some((a) => a.key === key || a.operator.toLowerCase() === operator)) continue;
    picked.push({ operator: r.operator, stake: r.stake, key, fingerprint: aggregatorKeyFingerprint(fromHex(key)), addrs: r.addrs });
  }
  return { picked, withoutKey };
}

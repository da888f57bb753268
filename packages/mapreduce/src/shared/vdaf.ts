// Which Prio3 instance (VDAF draft 08) a shared job runs, what its wire pieces weigh, and the decoders
// @divviup/prio3 leaves out: an aggregator decodes the public share, its own input share and the other's prep share.
import type { JobSpec, OutputSpec } from "@mosaic/protocol";
import * as dagCbor from "@ipld/dag-cbor";
import { Prio3Count, Prio3Histogram, Prio3Sum, Prio3SumVec, type Prio3 } from "@divviup/prio3";
import { discreteGaussian } from "../dp/gaussian.js";
import { MalformedReportError, UnsupportedSharedSpecError } from "./errors.js";
import { HPKE_ENC_LENGTH, HPKE_TAG_LENGTH } from "./hpke.js";

/** What a vault's clamped output becomes for the Prio3 instance: a bit (Count), an integer, or a vector. */
export type SharedMeasurement = boolean | number | number[];

/** Any of the four Prio3 instances (their aggregation parameter is null, their aggregate result unused here). */
export type SharedPrio3 = Prio3<SharedMeasurement, unknown>;

export type SharedKind = "count" | "sum" | "histogram" | "sumvec";

/** The largest report (dag-cbor { nonce, public, shares }) a shared job may need: its envelope must fit 64 KiB. */
export const MAX_SHARED_REPORT_BYTES = 60 * 1024;

/** Prio3 runs with exactly two aggregators here: index 0 the leader, 1 the helper. */
export const SHARED_AGGREGATORS = 2;

/** Field64's modulus, 2^64 − 2^32 + 1 (fieldId 0); anything else is Field128 (fieldId 1). */
const FIELD64_MODULUS = 2n ** 64n - 2n ** 32n + 1n;

/** The largest entry a shared output may declare: clamped values are JS numbers, Prio3 bits must stay exact. */
const MAX_SHARED_ENTRY = 2 ** 52 - 1;

export interface SharedVdaf {
  vdaf: SharedPrio3;
  kind: SharedKind;
  /** 0 = Field64, 1 = Field128: what SharedJobs records, so the chain reduces shares mod the right p. */
  fieldId: 0 | 1;
  modulus: bigint;
  /** Entries of the output (and of every output share and aggregate share). */
  length: number;
  /** Bits per entry the validity proof enforces (1 for count and histogram). */
  bits: number;
  /** The FLP's chunk length (histogram and sumvec; 1 otherwise). */
  chunkLength: number;
  /** The measurement for a clamped output (entries in their declared ranges); RangeError naming the entry otherwise. */
  measurementOf(clamped: readonly number[]): SharedMeasurement;
}

/** Bits needed to write n >= 1. */
function bitLength(n: number): number {
  return n.toString(2).length;
}

/** ≈ √(length·bits), rounded, at least 1 (the FLP's proof is smallest near there). */
function chunkLengthOf(length: number, bits: number): number {
  return Math.max(1, Math.round(Math.sqrt(length * bits)));
}

/** The Prio3 instance for a kind and its parameters (also how the draft's vectors are instantiated). */
export function prio3Of(
  kind: SharedKind,
  params: { length: number; bits: number; chunkLength: number },
  shares: number = SHARED_AGGREGATORS,
): SharedPrio3 {
  switch (kind) {
    case "count":
      return new Prio3Count({ shares }) as unknown as SharedPrio3;
    case "sum":
      return new Prio3Sum({ shares, bits: params.bits }) as unknown as SharedPrio3;
    case "histogram":
      return new Prio3Histogram({ shares, length: params.length, chunkLength: params.chunkLength }) as unknown as SharedPrio3;
    case "sumvec":
      return new Prio3SumVec({
        shares,
        length: params.length,
        bits: params.bits,
        chunkLength: params.chunkLength,
      }) as unknown as SharedPrio3;
  }
}

/** Why the output cannot be Prio3-encoded, or undefined. Entries from 0 (Prio3 proves a range [0, 2^bits)). */
function outputProblem(output: OutputSpec): string | undefined {
  if (output === null || typeof output !== "object" || !Array.isArray(output.entries) || output.entries.length === 0)
    return "output.entries: expected at least one entry";
  for (const [i, e] of output.entries.entries()) {
    if (e.min !== 0) return `output.entries[${i}].min: a shared job's entries start at 0, got ${e.min}`;
    if (!Number.isSafeInteger(e.max) || e.max < 1 || e.max > MAX_SHARED_ENTRY)
      return `output.entries[${i}].max: expected an integer in [1, 2^52), got ${e.max}`;
  }
  if (output.kind === "one-hot" && output.entries.some((e) => e.max !== 1)) return "output.entries: a one-hot output's entries are [0, 1]";
  return undefined;
}

const cache = new WeakMap<OutputSpec, SharedVdaf>();

/**
 * The Prio3 instance for a shared job's output: one entry [0, 1] → Prio3Count; one entry [0, max] → Prio3Sum
 * (bits = bitlen(max)); one-hot → Prio3Histogram; any other vector → Prio3SumVec (bits = bitlen of the largest
 * max). Always two shares. UnsupportedSharedSpecError when the output cannot be encoded (see sharedSpecProblem).
 */
export function sharedVdafOf(spec: Pick<JobSpec, "output">): SharedVdaf {
  const output = spec?.output;
  const problem = outputProblem(output);
  if (problem !== undefined) throw new UnsupportedSharedSpecError(problem);
  const cached = cache.get(output);
  if (cached !== undefined) return cached;
  const length = output.entries.length;
  const maxima = output.entries.map((e) => e.max);
  const top = Math.max(...maxima);
  let kind: SharedKind;
  if (length === 1) kind = top === 1 ? "count" : "sum";
  else kind = output.kind === "one-hot" ? "histogram" : "sumvec";
  const bits = kind === "count" || kind === "histogram" ? 1 : bitLength(top);
  const chunkLength = kind === "histogram" || kind === "sumvec" ? chunkLengthOf(length, bits) : 1;
  const vdaf = prio3Of(kind, { length, bits, chunkLength });
  const modulus = vdaf.flp.field.modulus;
  const checkEntries = (clamped: readonly number[]): void => {
    if (!Array.isArray(clamped) || clamped.length !== length)
      throw new RangeError(`clamped: expected ${length} entries, got ${Array.isArray(clamped) ? clamped.length : typeof clamped}`);
    for (const [i, x] of clamped.entries()) {
      const max = maxima[i] as number;
      if (!Number.isSafeInteger(x) || x < 0 || x > max) throw new RangeError(`clamped[${i}]: expected an integer in [0, ${max}], got ${x}`);
    }
  };
  const shared: SharedVdaf = {
    vdaf,
    kind,
    fieldId: modulus === FIELD64_MODULUS ? 0 : 1,
    modulus,
    length,
    bits,
    chunkLength,
    measurementOf(clamped) {
      checkEntries(clamped);
      switch (kind) {
        case "count":
          return clamped[0] === 1;
        case "sum":
          return clamped[0] as number;
        case "histogram": {
          const ones = clamped.reduce((a, x) => a + x, 0);
          if (ones !== 1) throw new RangeError(`clamped: a one-hot output has exactly one 1, got ${ones}`);
          return clamped.indexOf(1);
        }
        case "sumvec":
          return [...clamped];
      }
    },
  };
  cache.set(output, shared);
  return shared;
}

/** Byte lengths of a report's pieces for a Prio3 instance, computed from its parameters (no sharding). */
export interface ReportSizes {
  nonce: number;
  publicShare: number;
  /** Plaintext input share of each aggregator (the leader's carries the measurement and proof shares). */
  inputShares: number[];
  prepShare: number;
  /** The whole report as dag-cbor { nonce, public, shares: [{enc, ct}, …] }, HPKE overhead included. */
  report: number;
}

function usesJointRand(vdaf: SharedPrio3): boolean {
  return vdaf.flp.jointRandLen !== 0;
}

export function publicShareLength(vdaf: SharedPrio3): number {
  return usesJointRand(vdaf) ? vdaf.shares * vdaf.xof.seedSize : 0;
}

export function inputShareLength(vdaf: SharedPrio3, aggregatorId: number): number {
  const { flp, xof, proofs } = vdaf;
  const blind = usesJointRand(vdaf) ? xof.seedSize : 0;
  if (aggregatorId === 0) return (flp.measurementLen + flp.proofLen * proofs) * flp.field.encodedSize + blind;
  return 2 * xof.seedSize + blind;
}

export function prepShareLength(vdaf: SharedPrio3): number {
  return vdaf.flp.verifierLen * vdaf.proofs * vdaf.flp.field.encodedSize + (usesJointRand(vdaf) ? vdaf.xof.seedSize : 0);
}

/** What a report for this instance weighs, from the lengths alone (a zero-filled report of the same shape). */
export function reportSizes(vdaf: SharedPrio3): ReportSizes {
  const inputShares = Array.from({ length: vdaf.shares }, (_, i) => inputShareLength(vdaf, i));
  const zeros = (n: number) => new Uint8Array(n);
  const report = dagCbor.encode({
    nonce: zeros(vdaf.nonceSize),
    public: zeros(publicShareLength(vdaf)),
    shares: inputShares.map((n) => ({ enc: zeros(HPKE_ENC_LENGTH), ct: zeros(n + HPKE_TAG_LENGTH) })),
  }).length;
  return { nonce: vdaf.nonceSize, publicShare: publicShareLength(vdaf), inputShares, prepShare: prepShareLength(vdaf), report };
}

/**
 * Why a spec cannot run in shared mode, or undefined: entries from 0 (max >= 1; one-hot entries [0, 1]), reducer
 * sum, histogram or mean, the discrete Gaussian with a σ² that alone gives (ε, δ) at the output's L2 sensitivity
 * (each aggregator adds it), and a report that fits MAX_SHARED_REPORT_BYTES.
 */
export function sharedSpecProblem(spec: JobSpec): string | undefined {
  const problem = outputProblem(spec?.output);
  if (problem !== undefined) return problem;
  const reducer = spec.reducer?.kind;
  if (reducer !== "sum" && reducer !== "histogram" && reducer !== "mean")
    return `reducer.kind: a shared job sums its outputs (sum, histogram or mean), got ${JSON.stringify(reducer)}`;
  const privacy = spec.privacy;
  if (privacy?.mechanism !== "discrete-gaussian")
    return `privacy.mechanism: a shared job's aggregators add discrete Gaussian noise, got ${JSON.stringify(privacy?.mechanism)}`;
  let dpProblem: string | undefined;
  try {
    dpProblem = discreteGaussian.specProblem?.(spec.output, privacy);
  } catch (err) {
    return (err as Error).message;
  }
  if (dpProblem !== undefined) return dpProblem;
  const shared = sharedVdafOf(spec);
  // Prio3's validity proof holds each entry in [0, 2^bits), not in [0, max]: a member's lie past `max` would pass.
  // So each entry's max must be 2^bits − 1, or bounded by a declared total, which the aggregators check report by
  // report (checkTotal: the entries, each ≥ 0, add up to the total, so none exceeds it).
  if (shared.kind === "sum" || shared.kind === "sumvec") {
    const top = 2 ** shared.bits - 1;
    const total = spec.output.total;
    for (const [i, e] of spec.output.entries.entries()) {
      if (e.max !== top && !(total !== undefined && shared.kind === "sumvec" && total <= e.max))
        return `output.entries[${i}]: max ${e.max} is not ${top} (2^${shared.bits} − 1), the most Prio3's range proof can hold an answer to; set max ${top}, or declare a total no larger than every entry's max, which the aggregators check`;
    }
  }
  const { report } = reportSizes(shared.vdaf);
  if (report > MAX_SHARED_REPORT_BYTES)
    return `output: a report for ${spec.output.entries.length} entries is ${report} bytes, over the ${MAX_SHARED_REPORT_BYTES}-byte limit; use fewer entries or smaller maxima`;
  return undefined;
}

// Decoders. Every length is checked before the library sees the bytes; field elements must be below p.

type LibraryBytes = Parameters<SharedPrio3["prepareInit"]>[0];
type PublicShare = Parameters<SharedPrio3["prepareInit"]>[4];
type InputShare = Parameters<SharedPrio3["prepareInit"]>[5];
type PrepShare = Parameters<SharedPrio3["encodePreparationShare"]>[0];

function expectLength(what: string, bytes: Uint8Array, length: number): void {
  if (!(bytes instanceof Uint8Array)) throw new MalformedReportError(`${what}: expected bytes, got ${typeof bytes}`);
  if (bytes.length !== length) throw new MalformedReportError(`${what}: expected ${length} bytes, got ${bytes.length}`);
}

function decodeField(vdaf: SharedPrio3, what: string, bytes: Uint8Array): bigint[] {
  try {
    return vdaf.flp.field.decode(bytes);
  } catch (err) {
    throw new MalformedReportError(`${what}: ${(err as Error).message}`);
  }
}

/** The library's own byte type (a Buffer in Node, the `buffer` package's in browsers); the bytes are not copied. */
const asBuffer = (bytes: Uint8Array): LibraryBytes => bytes as LibraryBytes;

/** A public share's bytes: one joint-randomness part per aggregator (empty for Count). */
export function decodePublicShare(vdaf: SharedPrio3, bytes: Uint8Array): PublicShare {
  expectLength("public share", bytes, publicShareLength(vdaf));
  const seed = vdaf.xof.seedSize;
  const parts = usesJointRand(vdaf) ? Array.from({ length: vdaf.shares }, (_, i) => asBuffer(bytes.slice(i * seed, (i + 1) * seed))) : [];
  return { jointRandParts: parts };
}

/**
 * Aggregator `aggregatorId`'s input share from its bytes: the leader's carries its measurement and proof shares as
 * field elements, a helper's carries seeds, expanded here exactly as Prio3's sharding does (draft 08 §7.2).
 */
export async function decodeInputShare(vdaf: SharedPrio3, aggregatorId: number, bytes: Uint8Array): Promise<InputShare> {
  if (!Number.isInteger(aggregatorId) || aggregatorId < 0 || aggregatorId >= vdaf.shares)
    throw new RangeError(`aggregatorId: expected an integer in [0, ${vdaf.shares}), got ${aggregatorId}`);
  expectLength(`input share ${aggregatorId}`, bytes, inputShareLength(vdaf, aggregatorId));
  const { flp, xof, proofs } = vdaf;
  const field = flp.field;
  const seed = xof.seedSize;
  const blindLength = usesJointRand(vdaf) ? seed : 0;
  if (aggregatorId === 0) {
    const measurementBytes = flp.measurementLen * field.encodedSize;
    const wireMeasurementShare = asBuffer(bytes.slice(0, measurementBytes));
    const wireProofShare = asBuffer(bytes.slice(measurementBytes, bytes.length - blindLength));
    return {
      measurementShare: decodeField(vdaf, "input share 0 measurement", wireMeasurementShare),
      proofsShare: decodeField(vdaf, "input share 0 proofs", wireProofShare),
      wireMeasurementShare,
      wireProofShare,
      blind: asBuffer(bytes.slice(bytes.length - blindLength)),
    };
  }
  const wireMeasurementShare = asBuffer(bytes.slice(0, seed));
  const wireProofShare = asBuffer(bytes.slice(seed, 2 * seed));
  // Usage 1 (measurement share) and 2 (proof share) of draft 08's domain separation; binders as in shard.
  const measurementShare = await xof.expandIntoVec(
    field,
    wireMeasurementShare,
    vdaf.domainSeparationTag(1),
    Uint8Array.of(aggregatorId),
    flp.measurementLen,
  );
  const proofsShare = await xof.expandIntoVec(
    field,
    wireProofShare,
    vdaf.domainSeparationTag(2),
    Uint8Array.of(proofs, aggregatorId),
    flp.proofLen * proofs,
  );
  return { measurementShare, proofsShare, wireMeasurementShare, wireProofShare, blind: asBuffer(bytes.slice(2 * seed)) };
}

/** A prep share's bytes (the other aggregator's): its verifier share and joint-randomness part. */
export function decodePrepShare(vdaf: SharedPrio3, bytes: Uint8Array): PrepShare {
  expectLength("prep share", bytes, prepShareLength(vdaf));
  const verifierBytes = vdaf.flp.verifierLen * vdaf.proofs * vdaf.flp.field.encodedSize;
  return {
    verifiersShare: decodeField(vdaf, "prep share verifier", bytes.subarray(0, verifierBytes)),
    jointRandomnessPart: asBuffer(bytes.slice(verifierBytes)),
  };
}

/** A prep share's bytes, as the library encodes them (a plain Uint8Array view). */
export function encodePrepShare(vdaf: SharedPrio3, prepShare: PrepShare): Uint8Array {
  const bytes = vdaf.encodePreparationShare(prepShare);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

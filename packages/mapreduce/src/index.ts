/**
 * @packageDocumentation
 *
 * Jobs and their arithmetic: job spec v1 and its validation, map programs (declarative pipelines and
 * sandboxed JavaScript), exact discrete DP mechanisms, reducers and reduce trees, and the ready-job library.
 *
 * @example
 * ```ts
 * import { kmPerDayJob, validateSpec, runMapProgram, privatize, reduceTree } from '@mosaic/mapreduce'
 * const spec = validateSpec(kmPerDayJob(), { now: Math.floor(Date.now() / 1000) })
 * const raw = await runMapProgram(spec, { 'location-history/points': rows })
 * const payload = privatize(raw, spec.output, spec.privacy)
 * ```
 */
export { discreteGaussianPmf, gaussianEpsilon, gaussianSigma2For, sampleDiscreteGaussian } from "./dp/gaussian.js";
export { type PrivacyCost, privacyCost } from "./dp/cost.js";
export { clampToOutput, l1Sensitivity, l2Sensitivity, outputStructureProblem, outputTotal } from "./dp/sensitivity.js";
export { discreteLaplacePmf, laplaceScale, sampleDiscreteLaplace } from "./dp/laplace.js";
export { noiseTailBound, noiseVariance, payloadBounds, privatize } from "./dp/mechanisms.js";
export { randomizedResponse, randomizedResponseProbabilities, unbiasRandomizedResponse } from "./dp/randomized-response.js";
export { bernoulliExp } from "./dp/exact.js";
export { cryptoUniform, keyedUniform, seededUniform, type UniformInt } from "./dp/uniform.js";
export {
  AggregateMismatchError,
  CountMismatchError,
  DuplicateNullifierError,
  LeafOrderError,
  MalformedLeafError,
  MapOutputShapeError,
  MapOutputTooLargeError,
  MapProgramError,
  MapProgramMemoryError,
  MapProgramTimeoutError,
  NodeMismatchError,
  RootMismatchError,
} from "./errors.js";
export {
  type AncestorArg,
  ancestorsOf,
  type ChallengeFunction,
  type Fault,
  findFaults,
  type InnerArg,
  innerAt,
  innerNodeWitness,
  type LeafArg,
  leafArg,
  leafParentWitness,
  levelSizes,
  openPublished,
  orderWitness,
  type PublishedTree,
  rehashTree,
  rootWitness,
  submissionWitness,
  type TreeNode,
  type TreeNodes,
  treeNodes,
  UnprovableFaultError,
  type Witness,
} from "./fraud.js";
export { abilityCatalog, type CatalogManifest } from "./catalog.js";
export { DAY_S, haversineKm, kmPerDay, type LocationPoint } from "./kmPerDay.js";
export { EXPOSURE_LEVELS, exposuresPerDayJob, kmPerDayJob, READY_JOBS, symptomsByRegionJob, timeAtHomeJob, withMode } from "./library.js";
export { describeProgram, runMapProgram } from "./map.js";
export {
  BUNDLE_VERSION,
  BundleBlockTooLargeError,
  type BundleBlockGetter,
  BundleChunkError,
  type BundleContents,
  type BundleHeader,
  type BundleInit,
  type BundleJob,
  BundleLinkError,
  type BundleReader,
  BundleVersionError,
  chunkSizes,
  type EncodedBundle,
  encodeBundle,
  type LeafInclusion,
  leafInclusion,
  MAX_BUNDLE_BLOCK_BYTES,
  MalformedBundleError,
  openBundle,
  verifyLeafInclusion,
} from "./reduce/bundle.js";
export { submissionCid, submissionDigest } from "./reduce/codec.js";
export { ddsketchEdges } from "./reduce/ddsketch.js";
export {
  type ErrorBars,
  type EstimateRow,
  PRIVACY_NOISE_BARS,
  projectOntoSimplex,
  type ResultEstimate,
  totalNoiseVariance,
} from "./reduce/estimate.js";
export { leafHash, nodeHash } from "./reduce/hash.js";
export { axisTicks, chartExtent, formatValue, type ResultRow, type ResultView, resultCsv, resultView } from "./result-view.js";
export { combine, type FinalResult } from "./reduce/kind.js";
export { edgesOf, finalizeResult, liftPayload, stateLength } from "./reduce/kinds.js";
export { type Leaf, type ReduceResult, reduceTree, verifyReduceResult } from "./reduce/tree.js";
export {
  type AbilityCatalog,
  boundsHash,
  decodeSpec,
  edgesHash,
  encodeSpec,
  estimateResult,
  MAX_SPEC_BYTES,
  postJobArgs,
  postSharedJobArgs,
  type ReduceParams,
  type RecordedJob,
  type RecordedSharedJob,
  reduceParams,
  type SpecDisagreement,
  specDisagreement,
  sharedSpecDisagreement,
  specBounds,
  type ValidateSpecOptions,
  validateSpec,
} from "./spec.js";
export { type SpecErrorField, specErrorField } from "./spec-field.js";
export {
  formatSpan,
  isoTime,
  type JobStage,
  type JobStanding,
  jobGroups,
  type ProposalStanding,
  readJobStanding,
  readJobStandings,
} from "./standing.js";
export * from "./shared/index.js";
export {
  type AggregatorStanding,
  REFUND_REASONS,
  readSharedJobStanding,
  readSharedJobStandings,
  type SharedJobStage,
  type SharedJobStanding,
  sharedJobGroups,
} from "./shared-standing.js";
export { aggregatorPublicKeyOf, aggregatorSecretOf } from "./shared/keys.js";

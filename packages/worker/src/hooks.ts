// Points where the code that builds a reducer can change what it does, so tests can run reducers that cheat on purpose.
import type { AnySubmission } from "@mosaic/avatar";
import type { EncodedBundle, ReduceResult } from "@mosaic/mapreduce";
import type { IpfsNode, RejectionReason } from "@mosaic/protocol";
import type { JobSession } from "./reducer.js";

/** A submission as a session holds it: its CID and decoded body. */
export interface HeldSubmission {
  cid: string;
  sub: AnySubmission;
}

/** What a hook may read and use: the session it runs in, and the node's blockstore. */
export interface ReducerHookContext {
  session: JobSession;
  blockstore: IpfsNode["blockstore"];
}

/** What a session is about to propose. */
export interface ProposalDraft {
  /** The aggregate sent on-chain. */
  aggregate: number[];
  /** The bundle: its root block, whose CID is sent on-chain, and the chunk blocks it links to. */
  bundle: EncodedBundle;
  /** Whether the bundle's blocks go into the node's blockstore, where others fetch them. */
  publish: boolean;
}

/**
 * Hooks into one job session. They come only from the code that constructs a session or node (never from a config
 * file or a flag): watchers are tested against reducers that cheat, and the cheating lives in the tests. Every hook
 * left out does the honest thing.
 */
export interface ReducerHooks {
  /** Told of each submission the checks refused before its proof was verified. @default ignored */
  refused?(submission: HeldSubmission, reason: RejectionReason, ctx: ReducerHookContext): void;
  /** Whether a submission whose Semaphore proof fails is accepted all the same. @default false */
  acceptInvalidProof?(submission: HeldSubmission, ctx: ReducerHookContext): boolean;
  /** The tree to propose and to answer data requests from, given the honest one. @default the honest tree */
  tree?(honest: ReduceResult, ctx: ReducerHookContext): ReduceResult | Promise<ReduceResult>;
  /** What to propose for `tree`, given the honest draft (its aggregate, its bundle, published). @default the draft */
  proposal?(draft: ProposalDraft, tree: ReduceResult, ctx: ReducerHookContext): ProposalDraft | Promise<ProposalDraft>;
  /** Whether to answer data requests on this node's own proposal. @default true */
  answerRequests?(ctx: ReducerHookContext): boolean;
}

// Named errors of @mosaic/mapreduce: what the vault reports when a map program misbehaves (and why nothing was
// sent), and what a challenger finds wrong in a published reduce result.
import { namedError } from "@mosaic/protocol";

/** A map program threw, failed to parse, or did not define `map(input)`; the message carries its own error. */
export class MapProgramError extends namedError("MapProgramError") {}

/** A map program ran past its time limit (a loop that never ends, say) and was stopped. */
export class MapProgramTimeoutError extends namedError("MapProgramTimeoutError") {}

/** A map program allocated past its memory limit (or overflowed its stack) and was stopped. */
export class MapProgramMemoryError extends namedError("MapProgramMemoryError") {}

/** A map program's output is larger than the limit for output bytes. */
export class MapOutputTooLargeError extends namedError("MapOutputTooLargeError") {}

/** A map program's output is not the declared shape: wrong length, not integers, not one-hot where it must be. */
export class MapOutputShapeError extends namedError("MapOutputShapeError") {}

/** Two leaves share a nullifier: one person submitted twice. The collector must accept each nullifier once. */
export class DuplicateNullifierError extends namedError("DuplicateNullifierError") {
  readonly nullifier: string;
  constructor(nullifier: string) {
    super(`reduce: two leaves share nullifier ${nullifier}; keep the first accepted submission and drop the other`);
    this.nullifier = nullifier;
  }
}

/** A published leaf list is not in strictly increasing nullifier order (a fault provable on-chain from two leaves). */
export class LeafOrderError extends namedError("LeafOrderError") {
  readonly index: number;
  constructor(index: number, previous: string, nullifier: string) {
    super(`reduce result: leaves[${index}].nullifier ${nullifier} does not exceed leaves[${index - 1}].nullifier ${previous}`);
    this.index = index;
  }
}

/** A published leaf is not a well-formed leaf: a bad nullifier, or a payload of the wrong length or not integers. */
export class MalformedLeafError extends namedError("MalformedLeafError") {
  readonly index: number;
  constructor(index: number, reason: string) {
    super(`reduce result: leaves[${index}] is malformed: ${reason}`);
    this.index = index;
  }
}

/** A published node hash differs from the one recomputed from the leaves (the lowest such node is the one to prove). */
export class NodeMismatchError extends namedError("NodeMismatchError") {
  readonly level: number;
  readonly index: number;
  readonly expected: string | undefined;
  readonly actual: string | undefined;
  constructor(level: number, index: number, expected: string | undefined, actual: string | undefined) {
    super(`reduce result: levels[${level}][${index}] is ${actual ?? "missing"}, recomputed ${expected ?? "nothing"}`);
    this.level = level;
    this.index = index;
    this.expected = expected;
    this.actual = actual;
  }
}

/** A published aggregate differs from the sum of the lifted leaves. */
export class AggregateMismatchError extends namedError("AggregateMismatchError") {
  readonly index: number;
  constructor(index: number, expected: number | undefined, actual: number | undefined) {
    super(`reduce result: aggregate[${index}] is ${actual ?? "missing"}, recomputed ${expected ?? "nothing"}`);
    this.index = index;
  }
}

/** A published count differs from the number of leaves. */
export class CountMismatchError extends namedError("CountMismatchError") {
  constructor(expected: number, actual: number) {
    super(`reduce result: count is ${actual}, but there are ${expected} leaves`);
  }
}

/** A published tree root differs from the root recomputed from the leaves. */
export class RootMismatchError extends namedError("RootMismatchError") {
  constructor(expected: string, actual: string) {
    super(`reduce result: treeRoot is ${actual}, recomputed ${expected}`);
  }
}

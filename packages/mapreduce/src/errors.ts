// Named errors of map programs: what the vault reports when a program misbehaves, and why nothing was sent.
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

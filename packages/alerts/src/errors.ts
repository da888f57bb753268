// Named errors of CAP messages and their XML: callers branch on `name`, the message says where and what.
import { namedError } from "@mosaic/protocol";

/**
 * A document is not well-formed XML in the subset Mosaic reads, or uses what it refuses: a DOCTYPE or entity
 * declaration, a processing instruction, an undefined entity, more depth or elements than the limits allow. The
 * message names the line and column.
 */
export class MalformedXmlError extends namedError("MalformedXmlError") {}

/**
 * A CAP message breaks the CAP 1.2 schema or a rule of the specification: an element missing, repeated, out of order
 * or unknown, a value outside its enumeration, a bad date-time, Update without references, … The message names the
 * element's path, e.g. `alert/info[0]/area[1]/polygon[0]`. Given an object (validateCap), also a wrong type, an
 * extra or `undefined` key.
 */
export class InvalidCapError extends namedError("InvalidCapError") {}

/** An area polygon has fewer than four points or does not end where it starts. The message names its path. */
export class UnclosedPolygonError extends namedError("UnclosedPolygonError") {}

/** A CAP document is larger than MAX_CAP_XML_BYTES. */
export class CapTooLargeError extends namedError("CapTooLargeError") {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`CAP document is ${size} bytes, over the ${limit}-byte limit`);
  }
}

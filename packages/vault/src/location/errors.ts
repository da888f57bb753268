// The errors a location file can raise, and the message shapes they share.
import { namedError } from "@mosaic/protocol";
import { ADVICE, LOCATION_FORMAT_LABELS, type LocationFormat } from "./formats.js";

/** An unrecognised or malformed location file. `format` is the format it was read as, `path` where the problem is. */
export class LocationFormatError extends namedError("LocationFormatError") {
  readonly format: LocationFormat | undefined;
  readonly path: string | undefined;
  constructor(message: string, init: { format?: LocationFormat; path?: string; cause?: unknown } = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.format = init.format;
    this.path = init.path;
  }
}

/** A location file over the size limit, refused before any of it is read. */
export class LocationFileTooLargeError extends namedError("LocationFileTooLargeError") {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`location file is ${size} bytes, over the ${limit}-byte limit; split the export (for example by year) and import the parts`);
  }
}

/** A malformed entry inside a file read as `format`. */
export function malformed(format: LocationFormat, path: string, problem: string): LocationFormatError {
  return new LocationFormatError(`read as ${LOCATION_FORMAT_LABELS[format]}: ${path}: ${problem}. ${ADVICE[format]}`, { format, path });
}

export function refusedDoctype(format: LocationFormat | undefined): LocationFormatError {
  return new LocationFormatError(
    `read as ${format === undefined ? "XML" : LOCATION_FORMAT_LABELS[format]}: the file declares a DOCTYPE or entities, which GPX never needs and which are refused ` +
      "(they can expand to gigabytes or read local files). Re-export the track as plain GPX.",
    { format, path: "<!DOCTYPE>" },
  );
}

/** A short, safe rendering of an offending value for a message. */
export function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (v === null || typeof v !== "object") return String(v);
  return Array.isArray(v) ? `an array of ${v.length}` : "an object";
}

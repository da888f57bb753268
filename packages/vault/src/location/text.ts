// A location file's bytes as text or JSON: the size limit, encodings, and JSON errors worth explaining.
import { LocationFileTooLargeError, LocationFormatError, show } from "./errors.js";
import { LOCATION_FORMAT_LABELS, type LocationFormat, MAX_LOCATION_FILE_BYTES } from "./formats.js";

export function checkSize(bytes: Uint8Array, maxBytes: number | undefined): void {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`bytes: expected a Uint8Array, got ${show(bytes)}`);
  let limit = MAX_LOCATION_FILE_BYTES;
  if (maxBytes !== undefined) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0 || maxBytes > MAX_LOCATION_FILE_BYTES) {
      throw new RangeError(`options.maxBytes: expected an integer in [0, ${MAX_LOCATION_FILE_BYTES}], got ${maxBytes}`);
    }
    limit = maxBytes;
  }
  if (bytes.byteLength > limit) throw new LocationFileTooLargeError(bytes.byteLength, limit);
}

/** The file as text: UTF-8 (BOM or not), or UTF-16 with a BOM. Invalid text is refused rather than patched with U+FFFD. */
export function decodeText(bytes: Uint8Array, format: LocationFormat | undefined): string {
  const b0 = bytes[0];
  const b1 = bytes[1];
  if (b0 === 0x50 && b1 === 0x4b && bytes[2] === 3 && bytes[3] === 4) {
    throw new LocationFormatError(
      "the file is a zip archive, not a location file: unzip the Takeout download and import Records.json or Timeline.json from it",
      { format },
    );
  }
  if (b0 === 0x1f && b1 === 0x8b) {
    throw new LocationFormatError("the file is gzip-compressed: decompress it (gunzip) and import the result", { format });
  }
  const encoding = b0 === 0xff && b1 === 0xfe ? "utf-16le" : b0 === 0xfe && b1 === 0xff ? "utf-16be" : "utf-8";
  try {
    return new TextDecoder(encoding, { fatal: true }).decode(bytes);
  } catch (err) {
    if (err instanceof TypeError) {
      throw new LocationFormatError(
        `the file is not valid ${encoding.toUpperCase()} text, so it is not GPX or JSON; import the original export`,
        {
          format,
          cause: err,
        },
      );
    }
    // Just under 512 MiB of UTF-8 can still exceed V8's longest string (2^29 - 24 characters).
    throw new LocationFileTooLargeError(bytes.byteLength, 2 ** 29 - 24);
  }
}

/** The index of the first character at or after `from` that is not XML/JSON whitespace (or a stray BOM). */
export function firstNonSpace(text: string, from = 0): number {
  let i = from;
  for (let c = text.charCodeAt(i); c === 32 || c === 9 || c === 10 || c === 13 || c === 0xfeff; c = text.charCodeAt(++i));
  return i;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function parseJson(text: string, format: LocationFormat | undefined): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    const as = format === undefined ? "JSON" : LOCATION_FORMAT_LABELS[format];
    // V8 reports a cut-short file as "Unexpected end of JSON input" or as an error at the very last position.
    const at = /at position (\d+)/.exec(err.message);
    const truncated = /end of JSON input/.test(err.message) || (at !== null && Number(at[1]) >= text.trimEnd().length);
    const hint = truncated ? " (the file looks truncated: was the download or copy cut short?)" : "";
    throw new LocationFormatError(`read as ${as}: not valid JSON${hint}: ${err.message}. Import the original, complete file.`, {
      format,
      cause: err,
    });
  }
}

// The CAP 1.2 schema (CAP-v1.2.xsd) as a table: each complex type's sequence of elements, in order, with their
// cardinality and simple types. parseCap, validateCap and renderCap are driven by it; test/cap.spec.ts checks it
// against the official XSD in test/vectors/, so the validator cannot drift from the schema.

/** The namespace of CAP 1.2 messages. */
export const CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2";
/**
 * The only foreign namespace the schema admits (`xs:any`, lax, at the end of `<alert>`): XML signatures. parseCap
 * accepts such elements there and drops them; a feed entry's own signatures are what Mosaic checks.
 */
export const CAP_SIGNATURE_NAMESPACE = "http://www.w3.org/2000/09/xmldsig#";
/**
 * The schema's pattern for every date-time (sent, effective, onset, expires). Its `[-,+]` admits a comma, but the
 * base type xs:dateTime does not, so a time zone is "+hh:mm" or "-hh:mm"; "Z" never matches (CAP writes UTC as
 * "-00:00").
 */
export const CAP_DATE_TIME_PATTERN = "\\d\\d\\d\\d-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d[-,+]\\d\\d:\\d\\d";

/** The XSD built-in type an element's value is (or restricts), without the `xs:` prefix. */
export type CapValueType = "string" | "dateTime" | "integer" | "decimal" | "language" | "anyURI";
/** The complex types of CAP: `valuePair` is the `<valueName>`, `<value>` sequence of eventCode, parameter, geocode. */
export type CapComplexType = "alert" | "info" | "resource" | "area" | "valuePair";

/** One element of a sequence. An element has either `type` (simple) or `content` (complex). */
export interface CapSchemaElement {
  readonly name: string;
  readonly minOccurs: 0 | 1;
  readonly maxOccurs: 1 | "unbounded";
  readonly type?: CapValueType;
  readonly enumeration?: readonly string[];
  readonly pattern?: string;
  /** The schema's default value (only `language`: "en-US"); parseCap does not fill it in. */
  readonly default?: string;
  readonly content?: CapComplexType;
}

const one = { minOccurs: 1, maxOccurs: 1 } as const;
const optional = { minOccurs: 0, maxOccurs: 1 } as const;
const many = { minOccurs: 0, maxOccurs: "unbounded" } as const;
const dateTime = { type: "dateTime", pattern: CAP_DATE_TIME_PATTERN } as const;

/** Every enumeration of CAP 1.2, in schema order. */
export const CAP_ENUMERATIONS = {
  status: ["Actual", "Exercise", "System", "Test", "Draft"],
  msgType: ["Alert", "Update", "Cancel", "Ack", "Error"],
  scope: ["Public", "Restricted", "Private"],
  category: ["Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE", "Other"],
  responseType: ["Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None"],
  urgency: ["Immediate", "Expected", "Future", "Past", "Unknown"],
  severity: ["Extreme", "Severe", "Moderate", "Minor", "Unknown"],
  certainty: ["Observed", "Likely", "Possible", "Unlikely", "Unknown"],
} as const;

/** Each complex type's sequence, in schema order. */
export const CAP_SCHEMA: { readonly [T in CapComplexType]: readonly CapSchemaElement[] } = {
  alert: [
    { name: "identifier", ...one, type: "string" },
    { name: "sender", ...one, type: "string" },
    { name: "sent", ...one, ...dateTime },
    { name: "status", ...one, type: "string", enumeration: CAP_ENUMERATIONS.status },
    { name: "msgType", ...one, type: "string", enumeration: CAP_ENUMERATIONS.msgType },
    { name: "source", ...optional, type: "string" },
    { name: "scope", ...one, type: "string", enumeration: CAP_ENUMERATIONS.scope },
    { name: "restriction", ...optional, type: "string" },
    { name: "addresses", ...optional, type: "string" },
    { name: "code", ...many, type: "string" },
    { name: "note", ...optional, type: "string" },
    { name: "references", ...optional, type: "string" },
    { name: "incidents", ...optional, type: "string" },
    { name: "info", ...many, content: "info" },
  ],
  info: [
    { name: "language", ...optional, type: "language", default: "en-US" },
    { name: "category", minOccurs: 1, maxOccurs: "unbounded", type: "string", enumeration: CAP_ENUMERATIONS.category },
    { name: "event", ...one, type: "string" },
    { name: "responseType", ...many, type: "string", enumeration: CAP_ENUMERATIONS.responseType },
    { name: "urgency", ...one, type: "string", enumeration: CAP_ENUMERATIONS.urgency },
    { name: "severity", ...one, type: "string", enumeration: CAP_ENUMERATIONS.severity },
    { name: "certainty", ...one, type: "string", enumeration: CAP_ENUMERATIONS.certainty },
    { name: "audience", ...optional, type: "string" },
    { name: "eventCode", ...many, content: "valuePair" },
    { name: "effective", ...optional, ...dateTime },
    { name: "onset", ...optional, ...dateTime },
    { name: "expires", ...optional, ...dateTime },
    { name: "senderName", ...optional, type: "string" },
    { name: "headline", ...optional, type: "string" },
    { name: "description", ...optional, type: "string" },
    { name: "instruction", ...optional, type: "string" },
    { name: "web", ...optional, type: "anyURI" },
    { name: "contact", ...optional, type: "string" },
    { name: "parameter", ...many, content: "valuePair" },
    { name: "resource", ...many, content: "resource" },
    { name: "area", ...many, content: "area" },
  ],
  resource: [
    { name: "resourceDesc", ...one, type: "string" },
    { name: "mimeType", ...one, type: "string" },
    { name: "size", ...optional, type: "integer" },
    { name: "uri", ...optional, type: "anyURI" },
    { name: "derefUri", ...optional, type: "string" },
    { name: "digest", ...optional, type: "string" },
  ],
  area: [
    { name: "areaDesc", ...one, type: "string" },
    { name: "polygon", ...many, type: "string" },
    { name: "circle", ...many, type: "string" },
    { name: "geocode", ...many, content: "valuePair" },
    { name: "altitude", ...optional, type: "decimal" },
    { name: "ceiling", ...optional, type: "decimal" },
  ],
  valuePair: [
    { name: "valueName", ...one, type: "string" },
    { name: "value", ...one, type: "string" },
  ],
};

// OASIS CAP 1.2 messages: read from XML and checked against the schema (cap-schema.ts) and the specification's own
// rules, the same checks on the object model a feed entry carries, rendering back to XML, and the canonical bytes.
import * as dagCbor from "@ipld/dag-cbor";
import { CAP_NAMESPACE, CAP_SCHEMA, CAP_SIGNATURE_NAMESPACE, type CapComplexType, type CapSchemaElement } from "./cap-schema.js";
import { CapTooLargeError, InvalidCapError, MalformedXmlError } from "./errors.js";
import { parseCircle, parsePolygon } from "./geo.js";
import type { CapAlert } from "./types.js";
import { isXmlText, MAX_CAP_XML_BYTES, MAX_XML_ELEMENTS, parseXml, utf8Length, type XmlElement, xmlText } from "./xml.js";

const XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance";
const CAP_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})([+-])(\d{2}):(\d{2})$/;
const DECIMAL = /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/;
const NON_NEGATIVE_INTEGER = /^[0-9]+$/;
const LANGUAGE = /^[a-zA-Z]{1,8}(?:-[a-zA-Z0-9]{1,8})*$/;
/** identifier and sender: "MUST NOT include spaces, commas or restricted characters (< and &)". */
const CAP_ID = /^[^\s,<&]+$/;
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${quote(value)}`;
  if (typeof value === "object") return "an object";
  return `${typeof value}${typeof value === "number" || typeof value === "boolean" ? ` ${String(value)}` : ""}`;
}

/**
 * A CAP date-time ("2026-12-05T10:00:00+01:00": seconds, and a numeric time zone, never "Z") as unix seconds.
 * InvalidCapError (naming `path`) for anything else, including impossible dates, offsets beyond ±14:00, year 0000 and
 * "24:00:00" (xs:dateTime allows it as the next midnight; no CAP sender writes it, so Mosaic keeps one spelling).
 */
export function parseCapTime(s: string, path = "time"): number {
  const m = typeof s === "string" ? CAP_TIME.exec(s) : null;
  if (!m)
    throw new InvalidCapError(
      `${path}: ${typeof s === "string" ? quote(s) : describe(s)} is not a CAP date-time (YYYY-MM-DDThh:mm:ss±hh:mm, no "Z")`,
    );
  const [year, month, day, hour, minute, second, , tzHour, tzMinute] = m.slice(1).map(Number) as number[];
  const leap = (year as number) % 4 === 0 && ((year as number) % 100 !== 0 || (year as number) % 400 === 0);
  const monthDays = month === 2 && !leap ? 28 : (DAYS_IN_MONTH[(month as number) - 1] ?? 0);
  const offset = (tzHour as number) * 60 + (tzMinute as number);
  if (
    year === 0 ||
    (month as number) < 1 ||
    (month as number) > 12 ||
    (day as number) < 1 ||
    (day as number) > monthDays ||
    (hour as number) > 23 ||
    (minute as number) > 59 ||
    (second as number) > 59 ||
    (tzMinute as number) > 59 ||
    offset > 14 * 60
  )
    throw new InvalidCapError(`${path}: ${quote(s)} is not a real date and time`);
  const date = new Date(0);
  date.setUTCFullYear(year as number, (month as number) - 1, day as number);
  date.setUTCHours(hour as number, minute as number, second as number, 0);
  return date.getTime() / 1000 - (m[7] === "-" ? -offset : offset) * 60;
}

/** The key CAP uses to reference a message: "sender,identifier,sent". */
export function capKey(a: { sender: string; identifier: string; sent: string }): string {
  return `${a.sender},${a.identifier},${a.sent}`;
}

/** The keys ("sender,identifier,sent") of the messages `alert` updates or cancels; [] without references. */
export function capReferences(alert: Pick<CapAlert, "references">): string[] {
  const text = alert.references?.trim() ?? "";
  return text === "" ? [] : text.split(/[ \t\n\r]+/);
}

// ---- The object model: types, values and the specification's rules --------------------------------------------

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** An own data property's value (never runs a getter); undefined when absent. */
function ownValue(object: object, key: string | number, path: string): { has: boolean; value: unknown } {
  const d = Object.getOwnPropertyDescriptor(object, key);
  if (d === undefined) return { has: false, value: undefined };
  if (!("value" in d)) throw new InvalidCapError(`${path}: an accessor, not a value`);
  return { has: true, value: d.value };
}

function checkValue(value: unknown, element: CapSchemaElement, path: string): string {
  if (typeof value !== "string") throw new InvalidCapError(`${path}: expected a string, got ${describe(value)}`);
  if (!isXmlText(value)) throw new InvalidCapError(`${path}: holds a character XML cannot carry`);
  const type = element.type;
  if (element.enumeration && !element.enumeration.includes(value))
    throw new InvalidCapError(`${path}: ${quote(value)} is not one of ${element.enumeration.join(", ")}`);
  if (type === "dateTime") parseCapTime(value, path);
  else if (type === "integer" && !NON_NEGATIVE_INTEGER.test(value))
    throw new InvalidCapError(`${path}: ${quote(value)} is not a non-negative integer`);
  else if (type === "decimal" && !DECIMAL.test(value)) throw new InvalidCapError(`${path}: ${quote(value)} is not a decimal number`);
  else if (type === "language" && !LANGUAGE.test(value)) throw new InvalidCapError(`${path}: ${quote(value)} is not a language tag`);
  else if (type === "anyURI" && value !== value.trim()) throw new InvalidCapError(`${path}: ${quote(value)} has surrounding whitespace`);
  return value;
}

/** Checks an object against a complex type's table and copies it: absent optional → no key, repeatable → array. */
function normalise(value: unknown, type: CapComplexType, path: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw new InvalidCapError(`${path}: expected an object, got ${describe(value)}`);
  const table = CAP_SCHEMA[type];
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key !== "string" || !table.some((e) => e.name === key))
      throw new InvalidCapError(`${path}: unknown key ${quote(String(key))} (CAP 1.2 ${type} has ${table.map((e) => e.name).join(", ")})`);
  }
  const out: Record<string, unknown> = {};
  for (const element of table) {
    const name = element.name;
    const { has, value: v } = ownValue(value, name, `${path}/${name}`);
    if (has && v === undefined) throw new InvalidCapError(`${path}/${name}: undefined (leave an absent element's key out)`);
    const one = (item: unknown, at: string) => (element.content ? normalise(item, element.content, at) : checkValue(item, element, at));
    if (element.maxOccurs === "unbounded") {
      const items = has ? v : [];
      if (!Array.isArray(items)) throw new InvalidCapError(`${path}/${name}: expected an array, got ${describe(items)}`);
      if (items.length > MAX_XML_ELEMENTS) throw new InvalidCapError(`${path}/${name}: more than ${MAX_XML_ELEMENTS} items`);
      if (items.length < element.minOccurs) throw new InvalidCapError(`${path}/${name}: at least ${element.minOccurs} required`);
      const copy: unknown[] = [];
      for (let i = 0; i < items.length; i++) {
        const item = ownValue(items, i, `${path}/${name}[${i}]`);
        if (!item.has) throw new InvalidCapError(`${path}/${name}[${i}]: a hole in the array`);
        copy.push(one(item.value, `${path}/${name}[${i}]`));
      }
      out[name] = copy;
    } else if (has) out[name] = one(v, `${path}/${name}`);
    else if (element.minOccurs === 1) throw new InvalidCapError(`${path}/${name}: required, missing`);
  }
  return out;
}

function checkId(value: string, path: string): void {
  if (!CAP_ID.test(value)) throw new InvalidCapError(`${path}: ${quote(value)} must be non-empty, without spaces, commas, '<' or '&'`);
}

/** The rules of the CAP 1.2 specification the schema cannot say. */
function checkRules(alert: CapAlert): void {
  checkId(alert.identifier, "alert/identifier");
  checkId(alert.sender, "alert/sender");
  if (alert.scope === "Restricted" && alert.restriction === undefined)
    throw new InvalidCapError("alert/restriction: required when scope is Restricted");
  if (alert.scope === "Private" && alert.addresses === undefined)
    throw new InvalidCapError("alert/addresses: required when scope is Private");
  const references = capReferences(alert);
  if ((alert.msgType === "Update" || alert.msgType === "Cancel") && references.length === 0)
    throw new InvalidCapError(
      `alert/references: an ${alert.msgType} must name the messages it ${alert.msgType === "Update" ? "updates" : "cancels"}`,
    );
  if (alert.references !== undefined && references.length === 0) throw new InvalidCapError("alert/references: empty");
  references.forEach((ref, i) => {
    const parts = ref.split(",");
    const path = `alert/references (reference ${i})`;
    if (parts.length !== 3) throw new InvalidCapError(`${path}: ${quote(ref)} is not "sender,identifier,sent"`);
    checkId(parts[0] as string, `${path} sender`);
    checkId(parts[1] as string, `${path} identifier`);
    parseCapTime(parts[2] as string, `${path} sent`);
  });
  alert.info.forEach((info, i) => {
    info.area.forEach((area, j) => {
      const at = `alert/info[${i}]/area[${j}]`;
      area.polygon.forEach((p, k) => {
        parsePolygon(p, `${at}/polygon[${k}]`);
      });
      area.circle.forEach((c, k) => {
        parseCircle(c, `${at}/circle[${k}]`);
      });
    });
  });
}

/**
 * Checks an untrusted CAP object (e.g. decoded from a feed entry) against the CAP 1.2 schema and rules and returns a
 * fresh, normalised copy: an absent optional element is an absent key, a repeatable one an array. A wrong type, an
 * extra key, an `undefined` value, an accessor or a foreign prototype is InvalidCapError, as is every rule parseCap
 * checks; an unclosed polygon is UnclosedPolygonError.
 */
export function validateCap(value: unknown): CapAlert {
  const alert = normalise(value, "alert", "alert") as unknown as CapAlert;
  checkRules(alert);
  return alert;
}

// ---- XML -----------------------------------------------------------------------------------------------------------

function readComplex(element: XmlElement, type: CapComplexType, path: string): Record<string, unknown> {
  const table = CAP_SCHEMA[type];
  const out: Record<string, unknown> = {};
  for (const e of table) if (e.maxOccurs === "unbounded") out[e.name] = [];
  let at = 0;
  let count = 0;
  let signature = false;
  const present = new Set<string>();
  for (const c of element.children) if (typeof c !== "string" && c.namespace === CAP_NAMESPACE) present.add(c.name);
  const order = () => `schema order: ${table.map((e) => e.name).join(", ")}`;
  const missing = (from: number, to: number, before?: string) => {
    for (let k = from; k < to; k++) {
      const e = table[k] as CapSchemaElement;
      if (e.minOccurs <= (k === at ? count : 0)) continue;
      if (before !== undefined && present.has(e.name))
        throw new InvalidCapError(`${path}/${e.name}: out of order, after ${before} (${order()})`);
      throw new InvalidCapError(`${path}/${e.name}: required, missing`);
    }
  };
  for (const child of element.children) {
    if (typeof child === "string") {
      if (/[^ \t\n]/.test(child)) throw new InvalidCapError(`${path}: text ${quote(child.trim())} between elements`);
      continue;
    }
    checkAttributes(child, path);
    if (child.namespace === CAP_SIGNATURE_NAMESPACE && type === "alert") {
      missing(at, table.length, "the XML signature");
      signature = true; // xs:any, lax: the signature is accepted and dropped
      continue;
    }
    if (child.namespace !== CAP_NAMESPACE) throw new InvalidCapError(`${path}: unexpected element {${child.namespace}}${child.name}`);
    if (signature) throw new InvalidCapError(`${path}/${child.name}: after the XML signature, which must come last`);
    let j = at;
    while (j < table.length && (table[j] as CapSchemaElement).name !== child.name) j++;
    if (j === table.length) {
      const known = table.findIndex((e) => e.name === child.name);
      if (known < 0) throw new InvalidCapError(`${path}/${child.name}: not an element of CAP 1.2 ${type}`);
      throw new InvalidCapError(`${path}/${child.name}: out of order, after ${(table[at] as CapSchemaElement).name} (${order()})`);
    }
    if (j > at) {
      missing(at, j, child.name);
      at = j;
      count = 0;
    }
    const entry = table[at] as CapSchemaElement;
    count++;
    if (entry.maxOccurs === 1 && count > 1) throw new InvalidCapError(`${path}/${entry.name}: given more than once`);
    const childPath = entry.maxOccurs === 1 ? `${path}/${entry.name}` : `${path}/${entry.name}[${count - 1}]`;
    const value = entry.content ? readComplex(child, entry.content, childPath) : readSimple(child, entry, childPath);
    if (entry.maxOccurs === 1) out[entry.name] = value;
    else (out[entry.name] as unknown[]).push(value);
  }
  missing(at, table.length);
  return out;
}

function checkAttributes(element: XmlElement, path: string): void {
  for (const a of element.attributes) {
    if (element.namespace === CAP_NAMESPACE && a.namespace !== XSI_NAMESPACE)
      throw new InvalidCapError(`${path}/${element.name}: attribute ${a.prefix ? `${a.prefix}:` : ""}${a.name} is not in the CAP schema`);
  }
}

function readSimple(element: XmlElement, entry: CapSchemaElement, path: string): string {
  if (element.children.some((c) => typeof c !== "string")) throw new InvalidCapError(`${path}: holds elements, expected text`);
  const text = xmlText(element);
  // xs:string keeps its whitespace as written; the other types collapse it (XSD whiteSpace facet).
  return entry.type === "string" ? text : text.trim();
}

/**
 * Reads a CAP 1.2 message (a string, or UTF-8 bytes) and checks it: well-formed XML in parseXml's strict subset
 * (MalformedXmlError), at most MAX_CAP_XML_BYTES (CapTooLargeError), the CAP 1.2 namespace, schema and rules
 * (InvalidCapError naming the element's path; UnclosedPolygonError). XML signatures (xs:any) are dropped.
 */
export function parseCap(xml: string | Uint8Array): CapAlert {
  let text: string;
  if (xml instanceof Uint8Array) {
    if (xml.length > MAX_CAP_XML_BYTES) throw new CapTooLargeError(xml.length, MAX_CAP_XML_BYTES);
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(xml);
    } catch {
      throw new MalformedXmlError("CAP document is not valid UTF-8");
    }
  } else if (typeof xml === "string") {
    const size = xml.length > MAX_CAP_XML_BYTES ? xml.length : utf8Length(xml);
    if (size > MAX_CAP_XML_BYTES) throw new CapTooLargeError(size, MAX_CAP_XML_BYTES);
    text = xml;
  } else throw new TypeError(`parseCap: expected a string or bytes, got ${describe(xml)}`);
  const root = parseXml(text, { maxBytes: MAX_CAP_XML_BYTES });
  if (root.name !== "alert" || root.namespace !== CAP_NAMESPACE)
    throw new InvalidCapError(`alert: the root is {${root.namespace}}${root.name}, expected {${CAP_NAMESPACE}}alert (CAP 1.2)`);
  for (const a of root.attributes)
    if (a.namespace !== XSI_NAMESPACE) throw new InvalidCapError(`alert: attribute ${a.name} is not in the CAP schema`);
  return validateCap(readComplex(root, "alert", "alert"));
}

function escapeText(s: string): string {
  return s.replace(/[&<>\r]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&#13;"));
}

function renderComplex(object: Record<string, unknown>, type: CapComplexType, indent: string, out: string[]): void {
  for (const element of CAP_SCHEMA[type]) {
    const value = object[element.name];
    if (value === undefined) continue;
    for (const item of element.maxOccurs === "unbounded" ? (value as unknown[]) : [value]) {
      if (element.content) {
        out.push(`${indent}<${element.name}>`);
        renderComplex(item as Record<string, unknown>, element.content, `${indent}  `, out);
        out.push(`${indent}</${element.name}>`);
      } else out.push(`${indent}<${element.name}>${escapeText(item as string)}</${element.name}>`);
    }
  }
}

/**
 * Renders a CAP message as CAP 1.2 XML (declaration, default namespace, two-space indent), after validateCap.
 * parseCap(renderCap(a)) deep-equals validateCap(a) whenever the rendering fits MAX_CAP_XML_BYTES.
 */
export function renderCap(alert: CapAlert): string {
  const valid = validateCap(alert);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<alert xmlns="${CAP_NAMESPACE}">`];
  renderComplex(valid as unknown as Record<string, unknown>, "alert", "  ", out);
  out.push("</alert>", "");
  return out.join("\n");
}

/** The canonical bytes of a CAP message, what a feed entry carries and editors sign: dag-cbor of validateCap(alert). */
export function capCanonicalBytes(alert: CapAlert): Uint8Array {
  return dagCbor.encode(validateCap(alert));
}

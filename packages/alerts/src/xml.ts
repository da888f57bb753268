// A strict reader for the subset of XML 1.0 (with namespaces) CAP messages use. It refuses every DTD, so there is no
// entity expansion and no external entity to fetch, and it bounds size, depth and element count before it allocates.
import { MalformedXmlError } from "./errors.js";

/** The largest CAP document read, in UTF-8 bytes (parseXml's default `maxBytes`). */
export const MAX_CAP_XML_BYTES = 256 * 1024;
/** The deepest element nesting read (the root is depth 1). */
export const MAX_XML_DEPTH = 32;
/** The most elements one document may hold. */
export const MAX_XML_ELEMENTS = 10_000;
/**
 * The most attributes (namespace declarations included) one start tag may carry. CAP's own elements carry none
 * but namespace declarations, and an XML signature's a few; a hostile document fills 256 KiB with tens of thousands.
 */
export const MAX_XML_ATTRIBUTES = 256;

/** The namespace the `xml` prefix is bound to. */
export const XML_NAMESPACE = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NAMESPACE = "http://www.w3.org/2000/xmlns/";

export interface XmlLimits {
  /** @default MAX_CAP_XML_BYTES */
  maxBytes?: number;
  /** @default MAX_XML_DEPTH */
  maxDepth?: number;
  /** @default MAX_XML_ELEMENTS */
  maxElements?: number;
  /** The most attributes of one start tag, namespace declarations included. @default MAX_XML_ATTRIBUTES */
  maxAttributes?: number;
}

/** An attribute other than a namespace declaration (`xmlns`, `xmlns:p`), its prefix resolved. */
export interface XmlAttribute {
  /** Local name. */
  name: string;
  /** Namespace URI; "" for an unprefixed attribute. */
  namespace: string;
  prefix: string;
  value: string;
}

/** An element, its prefix resolved to a namespace URI. */
export interface XmlElement {
  /** Local name. */
  name: string;
  /** Namespace URI; "" when the element is in no namespace. */
  namespace: string;
  prefix: string;
  attributes: XmlAttribute[];
  /** Child elements and text (character data and CDATA, adjacent runs joined; comments dropped). */
  children: XmlNode[];
  /** 1-based line of the start tag. */
  line: number;
}

export type XmlNode = XmlElement | string;

/** The text of an element: its character data and CDATA, joined, child elements skipped. */
export function xmlText(element: XmlElement): string {
  let text = "";
  for (const child of element.children) if (typeof child === "string") text += child;
  return text;
}

/** Length of a string in UTF-8 bytes (lone surrogates count as the three bytes of U+FFFD). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

// XML 1.0 Char: a tab, a newline, a carriage return or a code point from U+0020 up, without surrogates, U+FFFE, U+FFFF.
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
/** Whether every character of `s` may appear in an XML 1.0 document (as text or a character reference). */
export function isXmlText(s: string): boolean {
  return !NOT_XML_CHAR.test(s);
}

const NAME_START =
  ":A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}";
const NAME = new RegExp(`[${NAME_START}][${NAME_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040]*`, "uy");
const DECLARATION =
  /<\?xml[ \t\n]+version[ \t\n]*=[ \t\n]*(["'])1\.0\1(?:[ \t\n]+encoding[ \t\n]*=[ \t\n]*(["'])([A-Za-z][A-Za-z0-9._-]*)\2)?(?:[ \t\n]+standalone[ \t\n]*=[ \t\n]*(["'])(?:yes|no)\4)?[ \t\n]*\?>/y;
const PREDEFINED: Record<string, string> = { lt: "<", gt: ">", amp: "&", apos: "'", quot: '"' };

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isCharCode(c: number): boolean {
  return (
    c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff)
  );
}

interface Frame {
  element: XmlElement;
  qname: string;
  scope: Map<string, string>;
}

class Reader {
  pos = 0;
  elements = 0;
  line = 1;
  private lineAt = 0;

  constructor(
    readonly src: string,
    readonly maxDepth: number,
    readonly maxElements: number,
    readonly maxAttributes: number = MAX_XML_ATTRIBUTES,
  ) {}

  fail(message: string, at = this.pos): never {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at && i < this.src.length; i++) {
      if (this.src.charCodeAt(i) === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    throw new MalformedXmlError(`XML ${line}:${at - lineStart + 1}: ${message}`);
  }

  /** The line of `pos`, counted incrementally (positions only move forward). */
  currentLine(): number {
    for (let i = this.lineAt; i < this.pos; i++) if (this.src.charCodeAt(i) === 0x0a) this.line++;
    this.lineAt = this.pos;
    return this.line;
  }

  startsWith(s: string): boolean {
    return this.src.startsWith(s, this.pos);
  }

  skipSpace(): boolean {
    const start = this.pos;
    while (this.pos < this.src.length && isSpace(this.src.charCodeAt(this.pos))) this.pos++;
    return this.pos > start;
  }

  name(): string {
    NAME.lastIndex = this.pos;
    const m = NAME.exec(this.src);
    if (!m) this.fail("expected a name");
    this.pos = NAME.lastIndex;
    return m[0];
  }

  /** Replaces entity and character references; in attribute values, a literal tab or newline becomes a space. */
  decode(raw: string, at: number, attribute: boolean): string {
    if (attribute) raw = raw.replace(/[\t\n]/g, " ");
    if (!raw.includes("&")) return raw;
    let out = "";
    let from = 0;
    for (let amp = raw.indexOf("&"); amp >= 0; amp = raw.indexOf("&", from)) {
      out += raw.slice(from, amp);
      const semi = raw.indexOf(";", amp);
      const ref = semi < 0 ? "" : raw.slice(amp + 1, semi);
      if (ref.length > 10) this.fail(`reference &${ref.slice(0, 10)}… is too long`, at + amp);
      const named = Object.hasOwn(PREDEFINED, ref) ? PREDEFINED[ref] : undefined;
      if (named !== undefined) out += named;
      else if (/^#[0-9]{1,8}$/.test(ref) || /^#x[0-9a-fA-F]{1,7}$/.test(ref)) {
        const code = ref[1] === "x" ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
        if (!isCharCode(code)) this.fail(`character reference &${ref}; is not an XML character`, at + amp);
        out += String.fromCodePoint(code);
      } else if (ref === "") this.fail("'&' that starts no entity reference (write &amp;)", at + amp);
      else this.fail(`undefined entity &${ref}; (only the five predefined entities and character references are read)`, at + amp);
      from = semi + 1;
    }
    return out + raw.slice(from);
  }

  comment(): void {
    const end = this.src.indexOf("--", this.pos + 4);
    if (end < 0) this.fail("unclosed comment");
    if (this.src.charCodeAt(end + 2) !== 0x3e) this.fail("'--' inside a comment", end);
    this.pos = end + 3;
  }

  /** Comments and whitespace before or after the root; refuses DOCTYPE, processing instructions and text. */
  misc(): void {
    for (;;) {
      this.skipSpace();
      if (this.startsWith("<!--")) this.comment();
      else if (this.startsWith("<!DOCTYPE") || this.startsWith("<!ENTITY") || this.startsWith("<!"))
        this.fail("DOCTYPE and entity declarations are refused (no DTD is read, no entity expanded)");
      else if (this.startsWith("<?")) this.fail("processing instructions are refused (only the XML declaration, first)");
      else return;
    }
  }

  startTag(parent: Map<string, string>): { frame: Frame; empty: boolean } {
    const at = this.pos;
    const line = this.currentLine();
    this.pos++; // "<"
    const qname = this.name();
    const raw: { qname: string; value: string; at: number }[] = [];
    const given = new Set<string>();
    let empty = false;
    for (;;) {
      const spaced = this.skipSpace();
      if (this.startsWith(">")) {
        this.pos++;
        break;
      }
      if (this.startsWith("/>")) {
        this.pos += 2;
        empty = true;
        break;
      }
      if (this.pos >= this.src.length) this.fail(`unclosed start tag <${qname}`, at);
      if (!spaced) this.fail("expected whitespace, '>' or '/>'");
      const attrAt = this.pos;
      if (raw.length >= this.maxAttributes) this.fail(`more than ${this.maxAttributes} attributes on <${qname}>`, attrAt);
      const name = this.name();
      this.skipSpace();
      if (!this.startsWith("=")) this.fail(`expected '=' after attribute ${name}`);
      this.pos++;
      this.skipSpace();
      const quote = this.src[this.pos];
      if (quote !== '"' && quote !== "'") this.fail(`expected a quoted value for attribute ${name}`);
      const end = this.src.indexOf(quote, this.pos + 1);
      if (end < 0) this.fail(`unclosed value of attribute ${name}`);
      const text = this.src.slice(this.pos + 1, end);
      const lt = text.indexOf("<");
      if (lt >= 0) this.fail("'<' inside an attribute value", this.pos + 1 + lt);
      if (given.has(name)) this.fail(`attribute ${name} given twice`, attrAt);
      given.add(name);
      raw.push({ qname: name, value: this.decode(text, this.pos + 1, true), at: attrAt });
      this.pos = end + 1;
    }

    let scope = parent;
    for (const a of raw) {
      if (a.qname !== "xmlns" && !a.qname.startsWith("xmlns:")) continue;
      if (scope === parent) scope = new Map(parent);
      if (a.qname === "xmlns") {
        if (a.value === XML_NAMESPACE || a.value === XMLNS_NAMESPACE) this.fail("the xml and xmlns namespaces cannot be the default", a.at);
        scope.set("", a.value);
        continue;
      }
      const prefix = a.qname.slice(6);
      if (prefix === "" || prefix.includes(":")) this.fail(`bad namespace declaration ${a.qname}`, a.at);
      if (prefix === "xmlns") this.fail("the xmlns prefix cannot be declared", a.at);
      if (prefix === "xml" ? a.value !== XML_NAMESPACE : a.value === XML_NAMESPACE || a.value === XMLNS_NAMESPACE)
        this.fail(`prefix ${prefix} cannot be bound to ${a.value}`, a.at);
      if (a.value === "") this.fail(`prefix ${prefix} cannot be undeclared (XML 1.0 namespaces)`, a.at);
      scope.set(prefix, a.value);
    }

    const [prefix, local, namespace] = this.resolve(qname, scope, true, at);
    const attributes: XmlAttribute[] = [];
    const expanded = new Set<string>();
    for (const a of raw) {
      if (a.qname === "xmlns" || a.qname.startsWith("xmlns:")) continue;
      const [p, n, ns] = this.resolve(a.qname, scope, false, a.at);
      const key = `{${ns}}${n}`;
      if (expanded.has(key)) this.fail(`attribute ${a.qname} given twice (same namespace and name)`, a.at);
      expanded.add(key);
      attributes.push({ name: n, namespace: ns, prefix: p, value: a.value });
    }
    const element: XmlElement = { name: local, namespace, prefix, attributes, children: [], line };
    return { frame: { element, qname, scope }, empty };
  }

  resolve(qname: string, scope: Map<string, string>, isElement: boolean, at: number): [string, string, string] {
    const colon = qname.indexOf(":");
    if (colon < 0) return ["", qname, isElement ? (scope.get("") ?? "") : ""];
    const prefix = qname.slice(0, colon);
    const local = qname.slice(colon + 1);
    if (prefix === "" || local === "" || local.includes(":")) this.fail(`${qname} is not a qualified name`, at);
    if (prefix === "xml") return [prefix, local, XML_NAMESPACE];
    if (prefix === "xmlns") this.fail(`the xmlns prefix names no ${isElement ? "element" : "attribute"}`, at);
    const ns = scope.get(prefix);
    if (ns === undefined) this.fail(`prefix ${prefix} is not declared`, at);
    return [prefix, local, ns];
  }

  root(): XmlElement {
    if (!this.startsWith("<")) this.fail(this.pos >= this.src.length ? "no root element" : "text outside the root element");
    this.elements = 1;
    const first = this.startTag(new Map());
    if (first.empty) return first.frame.element;
    const stack: Frame[] = [first.frame];
    const src = this.src;
    for (;;) {
      const top = stack[stack.length - 1] as Frame;
      if (this.pos >= src.length) this.fail(`element <${top.qname}> is not closed`);
      if (src.charCodeAt(this.pos) !== 0x3c) {
        let end = src.indexOf("<", this.pos);
        if (end < 0) end = src.length;
        const raw = src.slice(this.pos, end);
        const cdataEnd = raw.indexOf("]]>");
        if (cdataEnd >= 0) this.fail("']]>' in text", this.pos + cdataEnd);
        appendText(top.element, this.decode(raw, this.pos, false));
        this.pos = end;
      } else if (this.startsWith("</")) {
        const at = this.pos;
        this.pos += 2;
        const name = this.name();
        this.skipSpace();
        if (!this.startsWith(">")) this.fail(`expected '>' to end </${name}`);
        this.pos++;
        if (name !== top.qname) this.fail(`</${name}> closes <${top.qname}> (line ${top.element.line})`, at);
        stack.pop();
        if (stack.length === 0) return first.frame.element;
      } else if (this.startsWith("<!--")) this.comment();
      else if (this.startsWith("<![CDATA[")) {
        const end = src.indexOf("]]>", this.pos + 9);
        if (end < 0) this.fail("unclosed CDATA section");
        appendText(top.element, src.slice(this.pos + 9, end));
        this.pos = end + 3;
      } else if (this.startsWith("<!")) this.fail("declarations are refused inside an element");
      else if (this.startsWith("<?")) this.fail("processing instructions are refused");
      else {
        if (++this.elements > this.maxElements) this.fail(`more than ${this.maxElements} elements`);
        if (stack.length + 1 > this.maxDepth) this.fail(`elements nested deeper than ${this.maxDepth}`);
        const { frame, empty } = this.startTag(top.scope);
        top.element.children.push(frame.element);
        if (!empty) stack.push(frame);
      }
    }
  }
}

function appendText(element: XmlElement, text: string): void {
  if (text === "") return;
  const children = element.children;
  const last = children.length - 1;
  if (last >= 0 && typeof children[last] === "string") children[last] += text;
  else children.push(text);
}

/**
 * Reads an XML document (a string; decode bytes as UTF-8 first) into its root element. Reads elements, attributes,
 * namespaces, text, CDATA, comments, the XML declaration (version 1.0, encoding UTF-8 if named), the five predefined
 * entities and character references. Refuses a DOCTYPE or any declaration, processing instructions, a second root,
 * text outside the root, characters XML does not allow, and documents beyond `limits`: MalformedXmlError, whose
 * message starts with the line and column. Line ends are normalised to "\n" as XML requires.
 */
export function parseXml(text: string, limits: XmlLimits = {}): XmlElement {
  if (typeof text !== "string") throw new TypeError(`parseXml: expected a string, got ${typeof text}`);
  const maxBytes = limits.maxBytes ?? MAX_CAP_XML_BYTES;
  if (text.length > maxBytes) throw new MalformedXmlError(`XML document is over the ${maxBytes}-byte limit (${text.length} characters)`);
  const bytes = utf8Length(text);
  if (bytes > maxBytes) throw new MalformedXmlError(`XML document is ${bytes} bytes, over the ${maxBytes}-byte limit`);
  let src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  src = src.replace(/\r\n?/g, "\n");
  const reader: Reader = new Reader(
    src,
    limits.maxDepth ?? MAX_XML_DEPTH,
    limits.maxElements ?? MAX_XML_ELEMENTS,
    limits.maxAttributes ?? MAX_XML_ATTRIBUTES,
  );
  const bad = NOT_XML_CHAR.exec(src);
  if (bad)
    reader.fail(`character U+${(bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")} is not allowed in XML`, bad.index);
  if (reader.startsWith("<?xml") && (isSpace(src.charCodeAt(5)) || src[5] === "?")) {
    DECLARATION.lastIndex = 0;
    const m = DECLARATION.exec(src);
    if (!m) reader.fail("malformed XML declaration (version 1.0, then optional encoding and standalone)");
    const encoding = m[3];
    if (encoding !== undefined && encoding.toLowerCase() !== "utf-8") reader.fail(`encoding ${encoding} is not read (only UTF-8)`);
    reader.pos = DECLARATION.lastIndex;
  }
  reader.misc();
  const root = reader.root();
  reader.misc();
  if (reader.pos < src.length) reader.fail(src.charCodeAt(reader.pos) === 0x3c ? "a second root element" : "text after the root element");
  return root;
}

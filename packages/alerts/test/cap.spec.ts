// CAP 1.2: cap-schema.ts against the official XSD, the specification's Appendix A examples (parsed, rendered,
// re-parsed), hand-broken copies of them each failing with its named error, hostile objects for validateCap, and a
// property test that renderCap and parseCap round-trip every valid message.
import { readFileSync } from "node:fs";
import * as dagCbor from "@ipld/dag-cbor";
import { expect } from "chai";
import fc from "fast-check";
import { capCanonicalBytes, capKey, capReferences, parseCap, parseCapTime, renderCap, validateCap } from "../src/cap.js";
import { CAP_DATE_TIME_PATTERN, CAP_NAMESPACE, CAP_SCHEMA, CAP_SIGNATURE_NAMESPACE, type CapSchemaElement } from "../src/cap-schema.js";
import { CapTooLargeError, InvalidCapError, MalformedXmlError, UnclosedPolygonError } from "../src/errors.js";
import type { CapAlert, CapArea, CapInfo, CapValuePair } from "../src/types.js";
import { MAX_CAP_XML_BYTES, parseXml, type XmlElement } from "../src/xml.js";

const vector = (name: string) => readFileSync(new URL(`./vectors/${name}`, import.meta.url), "utf8");
const HOMELAND = vector("appendix-a1-homeland-security.xml");
const THUNDERSTORM = vector("appendix-a2-thunderstorm.xml");
const EARTHQUAKE = vector("appendix-a3-earthquake.xml");
const AMBER = vector("appendix-a4-amber-alert.xml");

function expectError(fn: () => unknown, Class: { name: string }, message?: RegExp): void {
  let returned: unknown;
  try {
    returned = fn();
  } catch (err) {
    expect((err as Error).name, (err as Error).message).to.equal(Class.name);
    if (message) expect((err as Error).message).to.match(message);
    return;
  }
  expect.fail(`expected ${Class.name}, got a result: ${JSON.stringify(returned)?.slice(0, 200)}`);
}

/** Replaces `from` (which must occur) in `text`. */
function edit(text: string, from: string | RegExp, to: string): string {
  const out = text.replace(from, to);
  expect(out, `edit of ${String(from)}`).to.not.equal(text);
  return out;
}

describe("cap-schema against the official CAP-v1.2.xsd", () => {
  const XS = "http://www.w3.org/2001/XMLSchema";
  const schema = parseXml(vector("CAP-v1.2.xsd"));
  const kids = (el: XmlElement, name?: string) =>
    el.children.filter((c): c is XmlElement => typeof c !== "string" && c.namespace === XS && (name === undefined || c.name === name));
  const attr = (el: XmlElement, name: string) => el.attributes.find((a) => a.name === name && a.namespace === "")?.value;
  const strip = (type: string) => type.replace(/^xs:/, "");

  it("the schema's target namespace, the xs:any namespace and every sequence match the table", () => {
    expect(schema.name).to.equal("schema");
    expect(attr(schema, "targetNamespace")).to.equal(CAP_NAMESPACE);
    const globals = new Map(kids(schema, "element").map((e) => [attr(e, "name") as string, e]));
    const tables: Record<string, CapSchemaElement[]> = {};
    let anyNamespace: string | undefined;

    const row = (el: XmlElement): CapSchemaElement => {
      const ref = attr(el, "ref");
      const decl = ref === undefined ? el : (globals.get(ref.replace(/^cap:/, "")) as XmlElement);
      const max = attr(el, "maxOccurs");
      const out: Record<string, unknown> = {
        name: attr(decl, "name"),
        minOccurs: Number(attr(el, "minOccurs") ?? 1),
        maxOccurs: max === "unbounded" ? "unbounded" : Number(max ?? 1),
      };
      const type = attr(decl, "type");
      if (type) out.type = strip(type);
      const def = attr(decl, "default");
      if (def) out.default = def;
      for (const simple of kids(decl, "simpleType")) {
        const restriction = kids(simple, "restriction")[0] as XmlElement;
        out.type = strip(attr(restriction, "base") as string);
        const enums = kids(restriction, "enumeration").map((e) => attr(e, "value"));
        if (enums.length > 0) out.enumeration = enums;
        const pattern = kids(restriction, "pattern")[0];
        if (pattern) out.pattern = attr(pattern, "value");
      }
      for (const complex of kids(decl, "complexType")) {
        const seq = kids(complex, "sequence")[0] as XmlElement;
        const refs = kids(seq, "element").every((e) => attr(e, "ref") !== undefined);
        const content = refs ? "valuePair" : (out.name as string);
        out.content = content;
        tables[content] = sequence(seq);
      }
      return out as unknown as CapSchemaElement;
    };
    const sequence = (seq: XmlElement): CapSchemaElement[] => {
      const rows: CapSchemaElement[] = [];
      for (const el of kids(seq)) {
        if (el.name === "any") {
          anyNamespace = attr(el, "namespace");
          expect(attr(el, "minOccurs")).to.equal("0");
          continue;
        }
        expect(el.name).to.equal("element");
        rows.push(row(el));
      }
      return rows;
    };
    const alert = row(globals.get("alert") as XmlElement);
    expect(alert.content).to.equal("alert");
    expect(tables).to.deep.equal(CAP_SCHEMA);
    expect(anyNamespace).to.equal(CAP_SIGNATURE_NAMESPACE);
  });

  it("every time parseCapTime accepts matches the schema's pattern, and 'Z' matches neither", () => {
    const xsdPattern = new RegExp(`^${CAP_DATE_TIME_PATTERN}$`);
    const two = (n: number) => String(n).padStart(2, "0");
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 32 })),
        fc.tuple(fc.integer({ min: 0, max: 24 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 60 })),
        fc.constantFrom("+", "-", ",", "Z"),
        fc.integer({ min: 0, max: 15 }),
        ([y, mo, d], [h, mi, s], sign, tz) => {
          const text = `${String(y).padStart(4, "0")}-${two(mo)}-${two(d)}T${two(h)}:${two(mi)}:${two(s)}${sign === "Z" ? "Z" : `${sign}${two(tz)}:00`}`;
          let accepted = true;
          try {
            parseCapTime(text);
          } catch (err) {
            expect((err as Error).name).to.equal("InvalidCapError");
            accepted = false;
          }
          if (accepted) expect(text).to.match(xsdPattern);
          if (sign === "Z" || sign === ",") expect(accepted).to.equal(false);
        },
      ),
    );
  });
});

describe("parseCap: the Appendix A examples", () => {
  it("A.1 homeland security advisory: every element where CAP puts it", () => {
    const a = parseCap(HOMELAND);
    expect(a).to.include({
      identifier: "43b080713727",
      sender: "hsas@dhs.gov",
      sent: "2003-04-02T14:39:01-05:00",
      status: "Actual",
      msgType: "Alert",
      scope: "Public",
    });
    expect(a.code).to.deep.equal([]);
    expect(a).to.not.have.property("references");
    const info = a.info[0] as CapInfo;
    expect(info.category).to.deep.equal(["Security"]);
    expect(info.parameter).to.deep.equal([{ valueName: "HSAS", value: "ORANGE" }]);
    expect(info.resource).to.deep.equal([
      { resourceDesc: "Image file (GIF)", mimeType: "image/gif", uri: "http://www.dhs.gov/dhspublic/getAdvisoryImage" },
    ]);
    expect(info.web).to.equal("http://www.dhs.gov/dhspublic/display?theme=29");
    expect(info.area).to.deep.equal([{ areaDesc: "U.S. nationwide and interests worldwide", polygon: [], circle: [], geocode: [] }]);
    // xs:string keeps its whitespace as written.
    expect(info.instruction?.startsWith(" A High Condition")).to.equal(true);
  });

  it("A.2 thunderstorm warning: polygon, geocodes, expires", () => {
    const a = parseCap(THUNDERSTORM);
    const area = (a.info[0] as CapInfo).area[0] as CapArea;
    expect(area.polygon).to.deep.equal(["38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14"]);
    expect(area.geocode.map((g) => g.value)).to.deep.equal(["006109", "006009", "006003"]);
    expect((a.info[0] as CapInfo).expires).to.equal("2003-06-17T16:00:00-07:00");
    expect((a.info[0] as CapInfo).responseType).to.deep.equal(["Shelter"]);
  });

  it("A.3 earthquake report: an Update with its reference, a zero-radius circle", () => {
    const a = parseCap(EARTHQUAKE);
    expect(a.msgType).to.equal("Update");
    expect(capReferences(a)).to.deep.equal(["trinet@caltech.edu,TRI13970876.1,2003-06-11T20:30:00-07:00"]);
    expect(capKey(a)).to.equal("trinet@caltech.edu,TRI13970876.2,2003-06-11T20:56:00-07:00");
    expect(((a.info[0] as CapInfo).area[0] as CapArea).circle).to.deep.equal(["32.9525,-115.5527 0"]);
    expect((a.info[0] as CapInfo).parameter).to.have.length(5);
  });

  it("A.4 AMBER alert: two infos, English and Spanish, UTF-8 text", () => {
    const a = parseCap(new TextEncoder().encode(AMBER));
    expect(a.info.map((i) => i.language)).to.deep.equal(["en-US", "es-US"]);
    expect((a.info[1] as CapInfo).event).to.equal("Abducción de Niño");
    expect(a.source).to.equal("SW");
  });

  it("every example renders and parses back to the same object, and its canonical bytes are dag-cbor of it", () => {
    for (const xml of [HOMELAND, THUNDERSTORM, EARTHQUAKE, AMBER]) {
      const a = parseCap(xml);
      const rendered = renderCap(a);
      expect(rendered.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">')).to.equal(
        true,
      );
      expect(parseCap(rendered)).to.deep.equal(a);
      expect(validateCap(a)).to.deep.equal(a);
      expect(capCanonicalBytes(a)).to.deep.equal(dagCbor.encode(a));
      expect(dagCbor.decode(capCanonicalBytes(a))).to.deep.equal(a);
    }
  });

  it("an XML signature at the end of <alert> is accepted and dropped; one elsewhere is not", () => {
    const signature = '<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo/></Signature>';
    const signed = edit(THUNDERSTORM, "</alert>", `${signature}</alert>`);
    expect(parseCap(signed)).to.deep.equal(parseCap(THUNDERSTORM));
    expectError(
      () => parseCap(edit(THUNDERSTORM, "<info>", `${signature}<info>`)),
      InvalidCapError,
      /alert\/info: after the XML signature/,
    );
  });

  it("a prefixed CAP namespace, CDATA and character references read the same", () => {
    const prefixed = THUNDERSTORM.replace(/<(\/?)([a-zA-Z]+)/g, "<$1cap:$2").replace('xmlns = "', 'xmlns:cap = "');
    expect(parseCap(prefixed)).to.deep.equal(parseCap(THUNDERSTORM));
    const cdata = edit(THUNDERSTORM, "<contact>BARUFFALDI/JUSKIE</contact>", "<contact><![CDATA[BARUFFALDI]]>&#x2F;JUSKIE</contact>");
    expect(parseCap(cdata)).to.deep.equal(parseCap(THUNDERSTORM));
  });
});

describe("parseCap: hand-broken copies fail with their named error", () => {
  const cases: [string, () => string | Uint8Array, { name: string }, RegExp][] = [
    [
      "an unclosed polygon",
      () => edit(THUNDERSTORM, "38.62,-119.89 38.47,-120.14<", "38.62,-119.89 38.50,-120.14<"),
      UnclosedPolygonError,
      /alert\/info\[0\]\/area\[0\]\/polygon\[0\].*does not close/,
    ],
    [
      "a polygon of three points",
      () => edit(THUNDERSTORM, /<polygon>[^<]*</, "<polygon>38.47,-120.14 38.34,-119.95 38.47,-120.14<"),
      UnclosedPolygonError,
      /at least four points/,
    ],
    ["a latitude beyond 90", () => edit(THUNDERSTORM, "38.34,-119.95", "98.34,-119.95"), InvalidCapError, /polygon\[0\]: latitude 98.34/],
    ["a polygon pair that is not numbers", () => edit(THUNDERSTORM, "38.34,-119.95", "38.34;-119.95"), InvalidCapError, /polygon\[0\]/],
    ["a negative circle radius", () => edit(EARTHQUAKE, "-115.5527 0<", "-115.5527 -1<"), InvalidCapError, /circle\[0\]: radius/],
    ["a circle without radius", () => edit(EARTHQUAKE, "-115.5527 0<", "-115.5527<"), InvalidCapError, /circle\[0\]/],
    [
      "a missing required element (status)",
      () => edit(THUNDERSTORM, /<status>Actual<\/status>\s*/, ""),
      InvalidCapError,
      /alert\/status: required/,
    ],
    [
      "a missing required info element (certainty)",
      () => edit(THUNDERSTORM, /<certainty>Observed<\/certainty>/, ""),
      InvalidCapError,
      /alert\/info\[0\]\/certainty: required/,
    ],
    [
      "elements out of order",
      () =>
        edit(
          THUNDERSTORM,
          "<status>Actual</status>\n    <msgType>Alert</msgType>",
          "<msgType>Alert</msgType>\n    <status>Actual</status>",
        ),
      InvalidCapError,
      /alert\/status: out of order/,
    ],
    [
      "an element given twice",
      () => edit(THUNDERSTORM, "<scope>Public</scope>", "<scope>Public</scope><scope>Public</scope>"),
      InvalidCapError,
      /alert\/scope: given more than once/,
    ],
    [
      "a value outside its enumeration",
      () => edit(THUNDERSTORM, "<urgency>Immediate</urgency>", "<urgency>Now</urgency>"),
      InvalidCapError,
      /alert\/info\[0\]\/urgency: "Now" is not one of/,
    ],
    [
      "an enumeration with whitespace",
      () => edit(THUNDERSTORM, "<status>Actual</status>", "<status> Actual</status>"),
      InvalidCapError,
      /alert\/status/,
    ],
    [
      "an unknown CAP element",
      () => edit(THUNDERSTORM, "<scope>Public</scope>", "<scope>Public</scope><priority>1</priority>"),
      InvalidCapError,
      /alert\/priority: not an element/,
    ],
    [
      "an element of another namespace",
      () => edit(THUNDERSTORM, "<scope>Public</scope>", '<scope>Public</scope><x:y xmlns:x="urn:x"/>'),
      InvalidCapError,
      /unexpected element \{urn:x\}y/,
    ],
    ["an attribute on a CAP element", () => edit(THUNDERSTORM, "<scope>", '<scope lang="en">'), InvalidCapError, /attribute lang/],
    [
      "text between elements",
      () => edit(THUNDERSTORM, "<scope>Public</scope>", "<scope>Public</scope>stray"),
      InvalidCapError,
      /text "stray"/,
    ],
    [
      "an element inside a simple one",
      () => edit(THUNDERSTORM, "<event>SEVERE THUNDERSTORM</event>", "<event><b>SEVERE</b></event>"),
      InvalidCapError,
      /alert\/info\[0\]\/event: holds elements/,
    ],
    [
      "a DOCTYPE with an external entity",
      () => edit(THUNDERSTORM, "?>", '?>\n<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>').replace("<note>", "<note>&xxe;"),
      MalformedXmlError,
      /^XML 2:1: DOCTYPE/,
    ],
    ["an undefined entity", () => edit(THUNDERSTORM, "BARUFFALDI", "&xxe;"), MalformedXmlError, /undefined entity &xxe;/],
    [
      "a processing instruction",
      () => edit(THUNDERSTORM, "<scope>", '<?xml-stylesheet href="x"?><scope>'),
      MalformedXmlError,
      /processing instructions/,
    ],
    ["an unclosed tag", () => edit(THUNDERSTORM, "</headline>", ""), MalformedXmlError, /closes <headline>/],
    [
      "a document over 256 KiB",
      () => edit(THUNDERSTORM, "<identifier>", `<!--${"x".repeat(MAX_CAP_XML_BYTES)}--><identifier>`),
      CapTooLargeError,
      /over the 262144-byte limit/,
    ],
    ["bytes over 256 KiB", () => new Uint8Array(MAX_CAP_XML_BYTES + 1), CapTooLargeError, /262145 bytes/],
    ["bytes that are not UTF-8", () => new Uint8Array([0x3c, 0x61, 0xff, 0x3e]), MalformedXmlError, /not valid UTF-8/],
    [
      "a 'Z' time zone",
      () => edit(THUNDERSTORM, "2003-06-17T14:57:00-07:00", "2003-06-17T21:57:00Z"),
      InvalidCapError,
      /alert\/sent: "2003-06-17T21:57:00Z" is not a CAP date-time/,
    ],
    [
      "an impossible date",
      () => edit(THUNDERSTORM, "2003-06-17T16:00:00-07:00", "2003-02-29T16:00:00-07:00"),
      InvalidCapError,
      /alert\/info\[0\]\/expires: .* not a real date/,
    ],
    [
      "an Update without references",
      () => edit(EARTHQUAKE, /<references>[^<]*<\/references>/, ""),
      InvalidCapError,
      /alert\/references: an Update must name/,
    ],
    [
      "a Cancel without references",
      () => edit(THUNDERSTORM, "<msgType>Alert", "<msgType>Cancel"),
      InvalidCapError,
      /alert\/references: an Cancel/,
    ],
    [
      "a reference that is not a triple",
      () => edit(EARTHQUAKE, "trinet@caltech.edu,TRI13970876.1,", "TRI13970876.1,"),
      InvalidCapError,
      /references.*not "sender,identifier,sent"/,
    ],
    [
      "a reference with a bad time",
      () => edit(EARTHQUAKE, "TRI13970876.1,2003-06-11T20:30:00-07:00", "TRI13970876.1,yesterday"),
      InvalidCapError,
      /references.*sent: "yesterday"/,
    ],
    ["an identifier with a space", () => edit(THUNDERSTORM, "KSTO1055887203", "KSTO 1055887203"), InvalidCapError, /alert\/identifier/],
    ["a sender with a comma", () => edit(THUNDERSTORM, "KSTO@NWS.NOAA.GOV<", "KSTO,NWS<"), InvalidCapError, /alert\/sender/],
    [
      "Restricted without restriction",
      () => edit(THUNDERSTORM, "<scope>Public", "<scope>Restricted"),
      InvalidCapError,
      /alert\/restriction: required/,
    ],
    [
      "Private without addresses",
      () => edit(THUNDERSTORM, "<scope>Public", "<scope>Private"),
      InvalidCapError,
      /alert\/addresses: required/,
    ],
    [
      "a negative resource size",
      () => edit(HOMELAND, "<mimeType>image/gif</mimeType>", "<mimeType>image/gif</mimeType><size>-5</size>"),
      InvalidCapError,
      /resource\[0\]\/size/,
    ],
    ["a bad language tag", () => edit(AMBER, "<language>es-US", "<language>es_US"), InvalidCapError, /alert\/info\[1\]\/language/],
    ["CAP 1.1", () => edit(THUNDERSTORM, "cap:1.2", "cap:1.1"), InvalidCapError, /expected \{urn:oasis:names:tc:emergency:cap:1.2\}alert/],
    ["another root", () => '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"/>', InvalidCapError, /the root is/],
  ];
  for (const [what, make, Class, message] of cases) {
    it(`${what}: ${Class.name}`, () => {
      const input = make();
      const before = typeof input === "string" ? input : input.slice();
      expectError(() => parseCap(input), Class, message);
      expect(input).to.deep.equal(before);
    });
  }

  it("a foreign argument type is a TypeError", () => {
    expect(() => parseCap(42 as unknown as string)).to.throw(TypeError);
  });
});

describe("parseCapTime, capKey, capReferences", () => {
  it("reads offsets, refuses 'Z' and out-of-range fields", () => {
    expect(parseCapTime("2003-06-17T14:57:00-07:00")).to.equal(Date.UTC(2003, 5, 17, 21, 57) / 1000);
    expect(parseCapTime("2026-12-05T10:00:00+01:00")).to.equal(Date.UTC(2026, 11, 5, 9) / 1000);
    expect(parseCapTime("2024-02-29T00:00:00-00:00")).to.equal(Date.UTC(2024, 1, 29) / 1000);
    expect(parseCapTime("0001-01-01T00:00:00+00:00")).to.equal(-62135596800);
    for (const bad of [
      "2026-12-05T10:00:00Z",
      "2026-12-05T10:00:00",
      "2026-12-05 10:00:00+01:00",
      "2026-13-05T10:00:00+01:00",
      "2023-02-29T00:00:00+00:00",
      "2026-12-05T24:00:00+00:00",
      "2026-12-05T10:60:00+00:00",
      "2026-12-05T10:00:00+15:00",
      "0000-01-01T00:00:00+00:00",
      " 2026-12-05T10:00:00+01:00",
      "2026-12-05T10:00:00.5+01:00",
    ])
      expectError(() => parseCapTime(bad), InvalidCapError);
    expectError(() => parseCapTime(5 as unknown as string, "alert/sent"), InvalidCapError, /alert\/sent: number 5/);
  });

  it("capReferences splits on any whitespace; none without references", () => {
    expect(capReferences({ references: " a,b,2003-06-11T20:30:00-07:00\n\tc,d,2003-06-11T20:30:00-07:00 " })).to.deep.equal([
      "a,b,2003-06-11T20:30:00-07:00",
      "c,d,2003-06-11T20:30:00-07:00",
    ]);
    expect(capReferences({})).to.deep.equal([]);
  });
});

describe("validateCap: hostile objects", () => {
  const base = () => parseCap(THUNDERSTORM) as unknown as Record<string, unknown> & { info: Record<string, unknown>[] };
  const info0 = (a: ReturnType<typeof base>) =>
    a.info[0] as Record<string, unknown> & { area: Record<string, unknown>[]; eventCode: Record<string, unknown>[] };
  const mutate = <T>(a: T, change: () => void): T => {
    change();
    return a;
  };
  const cases: [string, (a: ReturnType<typeof base>) => unknown, RegExp][] = [
    ["a number where a string belongs", (a) => ({ ...a, identifier: 42 }), /alert\/identifier: expected a string, got number 42/],
    ["a number where an enumeration belongs", (a) => ({ ...a, status: 1 }), /alert\/status: expected a string/],
    ["an object where an array belongs", (a) => ({ ...a, info: { 0: a.info[0] } }), /alert\/info: expected an array, got an object/],
    [
      "a string where an array belongs",
      (a) =>
        mutate(a, () => {
          info0(a).category = "Met" as never;
        }),
      /alert\/info\[0\]\/category: expected an array/,
    ],
    ["an array where a string belongs", (a) => ({ ...a, sender: ["KSTO@NWS.NOAA.GOV"] }), /alert\/sender: expected a string, got an array/],
    ["an extra key", (a) => ({ ...a, priority: "high" }), /alert: unknown key "priority"/],
    [
      "an extra key in a value pair",
      (a) =>
        mutate(a, () => {
          (info0(a).eventCode[0] as Record<string, unknown>).extra = "x";
        }),
      /alert\/info\[0\]\/eventCode\[0\]: unknown key "extra"/,
    ],
    ["undefined for an optional element", (a) => ({ ...a, source: undefined }), /alert\/source: undefined/],
    ["undefined for a repeatable element", (a) => ({ ...a, code: undefined }), /alert\/code: undefined/],
    [
      "a missing required key",
      (a) => {
        delete a.sent;
        return a;
      },
      /alert\/sent: required, missing/,
    ],
    [
      "no category",
      (a) =>
        mutate(a, () => {
          info0(a).category = [];
        }),
      /category: at least 1 required/,
    ],
    [
      "an own __proto__ key",
      (a) => JSON.parse(JSON.stringify(a).replace('{"identifier"', '{"__proto__":{"isAdmin":true},"identifier"')),
      /alert: unknown key "__proto__"/,
    ],
    ["a constructor key", (a) => ({ ...a, constructor: "x" }), /unknown key "constructor"/],
    ["a foreign prototype", (a) => Object.assign(Object.create({ polluted: true }), a), /alert: expected an object, got an object/],
    [
      "a class instance where an object belongs",
      (a) =>
        mutate(a, () => {
          a.info[0] = new Date() as never;
        }),
      /alert\/info\[0\]: expected an object/,
    ],
    ["null", () => null, /alert: expected an object, got null/],
    ["an array", (a) => [a], /alert: expected an object, got an array/],
    ["a string", () => THUNDERSTORM, /alert: expected an object, got the string/],
    [
      "an array with a hole",
      (a) =>
        mutate(a, () => {
          info0(a).area = new Array(1);
        }),
      /area\[0\]: a hole/,
    ],
    ["a getter", (a) => Object.defineProperty(a, "note", { get: () => "x", enumerable: true }), /alert\/note: an accessor/],
    ["a symbol key", (a) => ({ ...a, [Symbol("x")]: 1 }), /unknown key "Symbol\(x\)"/],
    ["a NUL character", (a) => ({ ...a, note: "a\u0000b" }), /alert\/note: holds a character XML cannot carry/],
    ["a lone surrogate", (a) => ({ ...a, note: "\ud800" }), /alert\/note/],
    ["a 'Z' time", (a) => ({ ...a, sent: "2003-06-17T21:57:00Z" }), /alert\/sent/],
    ["a time with whitespace", (a) => ({ ...a, sent: "2003-06-17T14:57:00-07:00 " }), /alert\/sent/],
    [
      "an unclosed polygon",
      (a) =>
        mutate(a, () => {
          (info0(a).area[0] as unknown as CapArea).polygon = ["1,1 1,2 2,2 2,1"];
        }),
      /area\[0\]\/polygon\[0\]/,
    ],
    [
      "a number polygon",
      (a) =>
        mutate(a, () => {
          (info0(a).area[0] as Record<string, unknown>).polygon = [38.47];
        }),
      /polygon\[0\]: expected a string/,
    ],
    ["an Update without references", (a) => ({ ...a, msgType: "Update" }), /alert\/references/],
  ];
  for (const [what, make, message] of cases) {
    it(`${what}: InvalidCapError${what.includes("polygon") && !what.includes("number") ? "/UnclosedPolygonError" : ""}`, () => {
      const input = make(base());
      let snapshot: string | undefined;
      try {
        snapshot = JSON.stringify(input);
      } catch {}
      let err: Error | undefined;
      try {
        validateCap(input);
      } catch (e) {
        err = e as Error;
      }
      expect(err, "validateCap accepted it").to.not.equal(undefined);
      expect(["InvalidCapError", "UnclosedPolygonError"], err?.message).to.include(err?.name);
      expect(err?.message).to.match(message);
      try {
        expect(JSON.stringify(input)).to.equal(snapshot);
      } catch {}
      expect(() => capCanonicalBytes(input as CapAlert)).to.throw();
      expect(() => renderCap(input as CapAlert)).to.throw();
    });
  }

  it("returns a fresh, normalised copy: absent repeatables become arrays, the input is not shared", () => {
    const a = base();
    const sparse = { ...a, code: undefined } as Record<string, unknown>;
    delete sparse.code;
    const out = validateCap(sparse);
    expect(out.code).to.deep.equal([]);
    expect(out).to.deep.equal(a);
    expect(out.info).to.not.equal(a.info);
    expect(out.info[0]).to.not.equal(a.info[0]);
    expect(Object.getPrototypeOf(out)).to.equal(Object.prototype);
    // Key order does not change the canonical bytes.
    const reversed = Object.fromEntries(Object.entries(a).reverse());
    expect(capCanonicalBytes(reversed as unknown as CapAlert)).to.deep.equal(capCanonicalBytes(a as unknown as CapAlert));
    // A null-prototype object (as some decoders build) is fine.
    expect(validateCap(Object.assign(Object.create(null), a))).to.deep.equal(a);
  });
});

// ---- The round-trip property --------------------------------------------------------------------------------------

const two = (n: number) => String(n).padStart(2, "0");
const capTime = fc
  .record({
    y: fc.integer({ min: 1, max: 9999 }),
    mo: fc.integer({ min: 1, max: 12 }),
    d: fc.integer({ min: 1, max: 28 }),
    h: fc.integer({ min: 0, max: 23 }),
    mi: fc.integer({ min: 0, max: 59 }),
    s: fc.integer({ min: 0, max: 59 }),
    sign: fc.constantFrom("+", "-"),
    tz: fc.integer({ min: 0, max: 14 }),
  })
  .map(
    ({ y, mo, d, h, mi, s, sign, tz }) =>
      `${String(y).padStart(4, "0")}-${two(mo)}-${two(d)}T${two(h)}:${two(mi)}:${two(s)}${sign}${two(tz)}:00`,
  );
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const text = fc.oneof(
  fc.string({ unit: fc.constantFrom("a", "Z", " ", "\n", "\r", "\t", "<", ">", "&", "]", "'", '"', "é", "😀", ";", "#") }),
  fc.string({ unit: "binary", maxLength: 30 }).map((s) => s.replace(NOT_XML, "")),
);
const capId = fc.stringMatching(/^[A-Za-z0-9@._:-]{1,16}$/);
const degrees = (max: number) => fc.integer({ min: -max * 1e4, max: max * 1e4 }).map((n) => String(n / 1e4));
const point = fc.tuple(degrees(90), degrees(180)).map(([lat, lon]) => `${lat},${lon}`);
const polygon = fc.array(point, { minLength: 3, maxLength: 7 }).map((ps) => [...ps, ps[0]].join(" "));
const circle = fc.tuple(point, fc.integer({ min: 0, max: 50_000 })).map(([p, r]) => `${p} ${r / 10}`);
const valuePair: fc.Arbitrary<CapValuePair> = fc.record({ valueName: text, value: text });
const decimal = fc.tuple(fc.integer({ min: -99999, max: 99999 }), fc.nat(99)).map(([i, f]) => (f ? `${i}.${f}` : String(i)));
const area: fc.Arbitrary<CapArea> = fc.record(
  {
    areaDesc: text,
    polygon: fc.array(polygon, { maxLength: 2 }),
    circle: fc.array(circle, { maxLength: 2 }),
    geocode: fc.array(valuePair, { maxLength: 2 }),
    altitude: decimal,
    ceiling: decimal,
  },
  { requiredKeys: ["areaDesc", "polygon", "circle", "geocode"] },
);
const enumOf = <K extends keyof typeof CAP_SCHEMA.info | string>(table: readonly CapSchemaElement[], name: K) =>
  fc.constantFrom(...((table.find((e) => e.name === name) as CapSchemaElement).enumeration as string[]));
const info: fc.Arbitrary<CapInfo> = fc.record(
  {
    language: fc.constantFrom("en-US", "de", "es-US", "x-klingon"),
    category: fc.array(enumOf(CAP_SCHEMA.info, "category"), { minLength: 1, maxLength: 3 }),
    event: text,
    responseType: fc.array(enumOf(CAP_SCHEMA.info, "responseType"), { maxLength: 2 }),
    urgency: enumOf(CAP_SCHEMA.info, "urgency"),
    severity: enumOf(CAP_SCHEMA.info, "severity"),
    certainty: enumOf(CAP_SCHEMA.info, "certainty"),
    audience: text,
    eventCode: fc.array(valuePair, { maxLength: 2 }),
    effective: capTime,
    onset: capTime,
    expires: capTime,
    senderName: text,
    headline: text,
    description: text,
    instruction: text,
    web: fc.webUrl(),
    contact: text,
    parameter: fc.array(valuePair, { maxLength: 2 }),
    resource: fc.array(
      fc.record(
        {
          resourceDesc: text,
          mimeType: text,
          size: fc.nat().map(String),
          uri: fc.webUrl(),
          derefUri: text,
          digest: fc.stringMatching(/^[0-9a-f]{40}$/),
        },
        { requiredKeys: ["resourceDesc", "mimeType"] },
      ),
      { maxLength: 2 },
    ),
    area: fc.array(area, { maxLength: 2 }),
  },
  { requiredKeys: ["category", "event", "responseType", "urgency", "severity", "certainty", "eventCode", "parameter", "resource", "area"] },
) as fc.Arbitrary<CapInfo>;
const alertArb: fc.Arbitrary<CapAlert> = fc
  .record(
    {
      identifier: capId,
      sender: capId,
      sent: capTime,
      status: enumOf(CAP_SCHEMA.alert, "status"),
      msgType: enumOf(CAP_SCHEMA.alert, "msgType"),
      source: text,
      scope: enumOf(CAP_SCHEMA.alert, "scope"),
      restriction: text,
      addresses: text,
      code: fc.array(text, { maxLength: 2 }),
      note: text,
      references: fc
        .array(
          fc.tuple(capId, capId, capTime).map((t) => t.join(",")),
          { minLength: 1, maxLength: 3 },
        )
        .map((r) => r.join(" ")),
      incidents: text,
      info: fc.array(info, { maxLength: 2 }),
    },
    { requiredKeys: ["identifier", "sender", "sent", "status", "msgType", "scope", "code", "info"] },
  )
  .map((a) => {
    const out = { ...a } as Record<string, unknown>;
    if (a.scope === "Restricted" && a.restriction === undefined) out.restriction = "officials only";
    if (a.scope === "Private" && a.addresses === undefined) out.addresses = "a@example.org";
    if ((a.msgType === "Update" || a.msgType === "Cancel") && a.references === undefined)
      out.references = `${a.sender},${a.identifier}-0,${a.sent}`;
    return out as unknown as CapAlert;
  });

describe("renderCap / parseCap round trip (property)", () => {
  it("parseCap(renderCap(a)) deep-equals a for every valid a, and the canonical bytes survive the trip", () => {
    fc.assert(
      fc.property(alertArb, (a) => {
        expect(validateCap(a)).to.deep.equal(a);
        const back = parseCap(renderCap(a));
        expect(back).to.deep.equal(a);
        expect(capCanonicalBytes(back)).to.deep.equal(capCanonicalBytes(a));
      }),
      { numRuns: 300 },
    );
  });

  it("anything parseCap returns validates to itself (fuzzed edits of an example)", () => {
    fc.assert(
      fc.property(fc.nat(THUNDERSTORM.length), fc.nat(40), fc.string({ maxLength: 8 }), (at, drop, insert) => {
        const xml = THUNDERSTORM.slice(0, at) + insert + THUNDERSTORM.slice(at + drop);
        let a: CapAlert;
        try {
          a = parseCap(xml);
        } catch (err) {
          expect(["MalformedXmlError", "InvalidCapError", "UnclosedPolygonError"], (err as Error).message).to.include((err as Error).name);
          return;
        }
        expect(validateCap(a)).to.deep.equal(a);
        expect(parseCap(renderCap(a))).to.deep.equal(a);
      }),
      { numRuns: 500 },
    );
  });
});

// The strict XML reader: what it reads (namespaces, entities, CDATA, comments, the declaration, line ends) and what it
// refuses — DTDs and entity tricks, processing instructions, broken nesting, a second root, stray text, oversize,
// overdeep and overlong documents — each with MalformedXmlError naming line and column; fuzzed input never escapes
// with another error.
import { expect } from "chai";
import fc from "fast-check";
import { MalformedXmlError } from "../src/errors.js";
import { parseCap } from "../src/cap.js";
import {
  isXmlText,
  MAX_XML_ATTRIBUTES,
  MAX_XML_DEPTH,
  MAX_XML_ELEMENTS,
  parseXml,
  utf8Length,
  type XmlElement,
  xmlText,
} from "../src/xml.js";

function malformed(xml: string, message?: RegExp, limits?: Parameters<typeof parseXml>[1]): void {
  let root: XmlElement | undefined;
  try {
    root = parseXml(xml, limits);
  } catch (err) {
    expect((err as Error).name, (err as Error).message).to.equal(MalformedXmlError.name);
    if (message) expect((err as Error).message).to.match(message);
    return;
  }
  expect.fail(`parsed: ${JSON.stringify(root).slice(0, 200)}`);
}

const child = (el: XmlElement, i = 0) => el.children.filter((c): c is XmlElement => typeof c !== "string")[i] as XmlElement;

describe("parseXml: what it reads", () => {
  it("elements, attributes, text, the declaration and comments", () => {
    const root = parseXml(
      `<?xml version='1.0' encoding='utf-8' standalone="yes"?>\n<!-- c --><a x="1" y='2'>hi<b/> there<!-- in --> you</a>\n<!-- after -->\n`,
    );
    expect(root.name).to.equal("a");
    expect(root.namespace).to.equal("");
    expect(root.attributes).to.deep.equal([
      { name: "x", namespace: "", prefix: "", value: "1" },
      { name: "y", namespace: "", prefix: "", value: "2" },
    ]);
    expect(root.children).to.deep.equal([
      "hi",
      { name: "b", namespace: "", prefix: "", attributes: [], children: [], line: 2 },
      " there you",
    ]);
    expect(xmlText(root)).to.equal("hi there you");
  });

  it("namespaces: default, prefixed, nested redeclaration, unprefixed attributes in no namespace, xml:", () => {
    const root = parseXml('<a xmlns="urn:d" xmlns:p="urn:p" p:k="v" k="w" xml:lang="en"><p:b><c xmlns="urn:e"/><d xmlns=""/></p:b></a>');
    expect([root.namespace, root.name]).to.deep.equal(["urn:d", "a"]);
    expect(root.attributes.map((a) => [a.namespace, a.name, a.value])).to.deep.equal([
      ["urn:p", "k", "v"],
      ["", "k", "w"],
      ["http://www.w3.org/XML/1998/namespace", "lang", "en"],
    ]);
    const b = child(root);
    expect([b.namespace, b.prefix, b.name]).to.deep.equal(["urn:p", "p", "b"]);
    expect(child(b, 0).namespace).to.equal("urn:e");
    expect(child(b, 1).namespace).to.equal("");
  });

  it("the five entities, character references, CDATA; line ends normalised; attribute whitespace normalised", () => {
    const root = parseXml('<a t="x\ty&#10;z">&lt;&gt;&amp;&apos;&quot;&#65;&#x1F600;<![CDATA[<&>]]>\r\nend\r</a>');
    expect(xmlText(root)).to.equal("<>&'\"A😀<&>\nend\n");
    expect(root.attributes[0]?.value).to.equal("x y\nz");
  });

  it("a byte-order mark and whitespace around the root are fine", () => {
    expect(parseXml("\uFEFF  <a/>  ").name).to.equal("a");
  });

  it("depth 32 and 10 000 elements are within the limits", () => {
    let deep = "<x>".repeat(MAX_XML_DEPTH) + "</x>".repeat(MAX_XML_DEPTH);
    expect(parseXml(deep).name).to.equal("x");
    deep = `<r>${"<e/>".repeat(MAX_XML_ELEMENTS - 1)}</r>`;
    expect(parseXml(deep).children).to.have.length(MAX_XML_ELEMENTS - 1);
  });
});

describe("parseXml: what it refuses (MalformedXmlError, with line:column)", () => {
  const cases: [string, string, RegExp][] = [
    ["a DOCTYPE", '<!DOCTYPE a SYSTEM "http://evil.example/x.dtd"><a/>', /^XML 1:1: DOCTYPE/],
    [
      "billion laughs",
      '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>\n<a>&lol2;</a>',
      /^XML 2:1: DOCTYPE/,
    ],
    ["an external entity without a DTD", "<a>&xxe;</a>", /^XML 1:4: undefined entity &xxe;/],
    ["an ENTITY declaration inside an element", '<a><!ENTITY x "y"></a>', /declarations are refused/],
    ["a processing instruction", '<?xml-stylesheet href="x"?><a/>', /processing instructions/],
    ["a processing instruction inside", "<a><?php echo 1 ?></a>", /processing instructions/],
    ["a declaration not first", ' <?xml version="1.0"?><a/>', /processing instructions/],
    ["a second declaration", '<?xml version="1.0"?><?xml version="1.0"?><a/>', /processing instructions/],
    ["XML 1.1", '<?xml version="1.1"?><a/>', /malformed XML declaration/],
    ["an encoding other than UTF-8", '<?xml version="1.0" encoding="ISO-8859-1"?><a/>', /encoding ISO-8859-1/],
    ["mismatched tags", "<a>\n  <b></c></a>", /^XML 2:6: <\/c> closes <b> \(line 2\)/],
    ["an unclosed root", "<a><b/>", /<a> is not closed/],
    ["a second root", "<a/><b/>", /a second root/],
    ["text before the root", "hello<a/>", /text outside the root/],
    ["text after the root", "<a/>hello", /text after the root/],
    ["no root", "<!-- only -->", /no root element/],
    ["an empty document", "", /no root element/],
    ["'&' alone", "<a>fish & chips</a>", /'&' that starts no entity reference/],
    ["a character reference to NUL", "<a>&#0;</a>", /&#0; is not an XML character/],
    ["a character reference to a surrogate", "<a>&#xD800;</a>", /not an XML character/],
    ["a huge character reference", "<a>&#99999999999;</a>", /reference &#999999999… is too long/],
    ["a raw control character", "<a>\u0001</a>", /U\+0001 is not allowed/],
    ["a lone surrogate", "<a>\uD800</a>", /U\+D800/],
    ["']]>' in text", "<a>]]></a>", /']]>' in text/],
    ["'--' in a comment", "<a><!-- a -- b --></a>", /'--' inside a comment/],
    ["an unclosed comment", "<a><!-- a </a>", /unclosed comment/],
    ["an unclosed CDATA", "<a><![CDATA[ x </a>", /unclosed CDATA/],
    ["'<' in an attribute", '<a x="<"/>', /'<' inside an attribute value/],
    ["an unquoted attribute", "<a x=1/>", /quoted value/],
    ["a duplicate attribute", '<a x="1" x="2"/>', /attribute x given twice/],
    ["a duplicate expanded attribute", '<a xmlns:p="urn:x" xmlns:q="urn:x" p:x="1" q:x="2"/>', /same namespace and name/],
    ["attributes without whitespace", '<a x="1"y="2"/>', /expected whitespace/],
    ["an unbound prefix", "<p:a/>", /prefix p is not declared/],
    ["an unbound attribute prefix", '<a p:x="1"/>', /prefix p is not declared/],
    ["a prefix undeclared", '<a xmlns:p=""/>', /cannot be undeclared/],
    ["the xmlns prefix on an element", "<xmlns:a/>", /xmlns prefix/],
    ["xml prefix rebound", '<a xmlns:xml="urn:x"/>', /prefix xml cannot be bound/],
    ["two colons", '<a:b:c xmlns:a="urn:a"/>', /not a qualified name/],
    ["a bad name", "<1a/>", /expected a name/],
  ];
  for (const [what, xml, message] of cases) it(what, () => malformed(xml, message));

  it("depth beyond 32", () => malformed("<x>".repeat(MAX_XML_DEPTH + 1) + "</x>".repeat(MAX_XML_DEPTH + 1), /nested deeper than 32/));
  it("more than 10 000 elements", () => malformed(`<r>${"<e/>".repeat(MAX_XML_ELEMENTS)}</r>`, /more than 10000 elements/));
  it("more bytes than the limit, counted in UTF-8", () => {
    malformed(`<a>${"x".repeat(100)}</a>`, /over the 64-byte limit/, { maxBytes: 64 });
    malformed(`<a>${"é".repeat(30)}</a>`, /67 bytes, over the 64-byte limit/, { maxBytes: 64 });
    expect(parseXml(`<a>${"é".repeat(28)}</a>`, { maxBytes: 64 }).name).to.equal("a");
  });

  it("more than 256 attributes on one element (namespace declarations count); duplicates found through a set (review21)", function () {
    this.timeout(20_000);
    const attrs = (n: number, name = "a") => Array.from({ length: n }, (_, i) => ` ${name}${i}=""`).join("");
    expect(parseXml(`<r${attrs(MAX_XML_ATTRIBUTES)}/>`).attributes).to.have.length(MAX_XML_ATTRIBUTES);
    malformed(`<r${attrs(MAX_XML_ATTRIBUTES + 1)}/>`, /XML 1:\d+: more than 256 attributes on <r>/);
    const declarations = Array.from({ length: MAX_XML_ATTRIBUTES }, (_, i) => ` xmlns:p${i}="urn:x:${i}"`).join("");
    malformed(`<r${declarations} a="1"><a/></r>`, /more than 256 attributes/);
    // The review's document: 26 000 attributes in 249 KB took 5.7 s (each checked against all before it); now it is
    // refused at the 257th. (How long things take is the bench's to say, not a test's.)
    const hostile = attrs(26_000);
    malformed(`<alert${hostile}/>`, /more than 256 attributes/);
    expect(() => parseCap(`<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"${hostile}/>`)).to.throw(MalformedXmlError, /more than 256/);
    // Allowed all of them, duplicates are still found, the last one against the 25 999 before it.
    expect(parseXml(`<alert${hostile}/>`, { maxAttributes: Infinity }).attributes).to.have.length(26_000);
    malformed(`<alert${hostile} a25999="x"/>`, /attribute a25999 given twice/, { maxAttributes: Infinity });
  });

  it("a non-string is a TypeError", () => {
    expect(() => parseXml(new Uint8Array(3) as unknown as string)).to.throw(TypeError);
  });
});

describe("parseXml: fuzzing", () => {
  it("any string either parses or is MalformedXmlError", () => {
    const piece = fc.constantFrom(
      "<a>",
      "</a>",
      "<b x='1'>",
      "</b>",
      "<!--",
      "-->",
      "<![CDATA[",
      "]]>",
      "&amp;",
      "&",
      "&#",
      ";",
      "<?",
      "?>",
      "<!DOCTYPE",
      "xmlns:p='u'",
      "<p:c/>",
      " ",
      "\n",
      "text",
      "é",
      "\uD800",
      "\u0000",
      "'",
      '"',
      "=",
      "/>",
      ">",
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 30 }).map((p) => p.join("")),
        (xml) => {
          try {
            parseXml(xml);
          } catch (err) {
            expect((err as Error).name, (err as Error).message).to.equal("MalformedXmlError");
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("escaped text always reads back as itself", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }).filter(isXmlText), (s) => {
        const escaped = s.replace(/[&<>\r]/g, (c) => `&#${c.charCodeAt(0)};`);
        expect(xmlText(parseXml(`<a>${escaped}</a>`))).to.equal(s);
      }),
    );
  });

  it("utf8Length agrees with TextEncoder", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }).filter(isXmlText), (s) => {
        expect(utf8Length(s)).to.equal(new TextEncoder().encode(s).length);
      }),
    );
  });
});

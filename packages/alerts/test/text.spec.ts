// printableText: the escapes a terminal and a page show instead of control, bidi and invisible format characters, the
// cut to a length, and the lengths it refuses; properties over any string (fast-check).
import { expect } from "chai";
import fc from "fast-check";
import { printableText } from "../src/index.js";

const UNSAFE = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

describe("printableText", () => {
  it("writes control, bidi and format characters as escapes and leaves the rest", () => {
    expect(printableText("tab\there\u0000\u200b")).to.equal("tab\\there\\x00\\u{200b}");
    expect(printableText('Evacuate now!\r"Storm over Mitte"')).to.equal('Evacuate now!\\r"Storm over Mitte"');
    expect(printableText("Stay\x1b[2J indoors\u202e.\nline two")).to.equal("Stay\\x1b[2J indoors\\u{202e}.\\nline two");
    expect(printableText("\u2028\u2029\u00ad\u{e0001}\x7f")).to.equal("\\u{2028}\\u{2029}\\xad\\u{e0001}\\x7f");
    expect(printableText("Überschwemmung · 洪水 🌊")).to.equal("Überschwemmung · 洪水 🌊");
    expect(printableText("")).to.equal("");
  });

  it("cuts at max characters, the last one …, counting code points after escaping", () => {
    expect(printableText("abcdef", 6)).to.equal("abcdef");
    expect(printableText("abcdefg", 6)).to.equal("abcde…");
    expect(printableText("🌊🌊🌊", 3)).to.equal("🌊🌊🌊");
    expect(printableText("🌊🌊🌊🌊", 3)).to.equal("🌊🌊…");
    // The escape counts as written: "\r" is two characters.
    expect(printableText("ab\rcd", 4)).to.equal("ab\\…");
    expect(printableText("abc", 1)).to.equal("…");
  });

  it("refuses a max that is no whole number from 1 (RangeError naming max)", () => {
    for (const max of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => printableText("abc", max), String(max)).to.throw(RangeError, /^max: expected a whole number from 1, got/);
  });

  it("any string: nothing unsafe left, at most max characters, a cut one a prefix of the whole", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 80 }), fc.integer({ min: 1, max: 100 }), (text, max) => {
        const whole = printableText(text);
        expect(UNSAFE.test(whole)).to.equal(false);
        const cut = printableText(text, max);
        expect([...cut].length).to.be.at.most(max);
        if ([...whole].length <= max) expect(cut).to.equal(whole);
        else expect(whole.startsWith(cut.slice(0, -1)) && cut.endsWith("…")).to.equal(true);
      }),
      { seed: 21, numRuns: 500 },
    );
  });
});

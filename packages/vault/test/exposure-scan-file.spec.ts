// Scan files (JSON lines of ScanRecords) into the vault: the parser both the CLI and the app use, and the import that
// stores the good lines and names each refused one.
import { randomBytes } from "node:crypto";
import { expect } from "chai";
import { memoryStores } from "../../../test/helpers.js";
import { importScanLines, MalformedScanError, parseScanLine, storedScans, Vault } from "../src/index.js";

const hex = (n: number) => randomBytes(n).toString("hex");
const good = (t: number) => JSON.stringify({ rpi: hex(16), aem: hex(4), t, rssi: -60, seconds: 300 });

describe("vault exposure: scan files", () => {
  it("parses a line, with or without 0x, and names the place and field of a bad one", () => {
    const rpi = hex(16);
    expect(parseScanLine(JSON.stringify({ rpi: `0x${rpi}`, aem: hex(4), t: 1, rssi: -60, seconds: 300 }), "line 1").rpi).to.deep.equal(
      Uint8Array.from(Buffer.from(rpi, "hex")),
    );
    const bad: [string, RegExp][] = [
      ["{", /^f\.jsonl:7: not JSON/],
      ["[1,2]", /^f\.jsonl:7: expected an object/],
      ["null", /^f\.jsonl:7: expected an object/],
      [JSON.stringify({ rpi: hex(15), aem: hex(4), t: 1, rssi: -60, seconds: 1 }), /^f\.jsonl:7: rpi: expected 16 bytes/],
      [JSON.stringify({ rpi: 12345, aem: hex(4), t: 1, rssi: -60, seconds: 1 }), /^f\.jsonl:7: rpi: expected 16 bytes/],
      [JSON.stringify({ rpi: hex(16), aem: [1, 2, 3, 4], t: 1, rssi: -60, seconds: 1 }), /^f\.jsonl:7: aem: expected 4 bytes/],
    ];
    for (const [line, re] of bad) expect(() => parseScanLine(line, "f.jsonl:7"), line).to.throw(MalformedScanError, re);
  });

  it("stores the well-formed lines, lists each refused one by line, and stores nothing twice", async () => {
    const vault = await Vault.open(memoryStores(), { rootSeed: randomBytes(32) });
    try {
      const t = Math.floor(Date.now() / 1000) - 3600;
      const text = [good(t), "", "not json", good(t + 300), JSON.stringify({ rpi: hex(16), aem: hex(4), t, rssi: "-60", seconds: 1 })].join(
        "\n",
      );
      const first = await importScanLines(vault, text);
      expect(first.accepted).to.equal(2);
      expect(first.rejected.map((r) => [r.line, r.error.name])).to.deep.equal([
        [3, "MalformedScanError"],
        [5, "MalformedScanError"],
      ]);
      expect(first.rejected[1]?.error.message).to.match(/^line 5: rssi/);
      const again = await importScanLines(vault, text);
      expect([again.accepted, again.duplicates]).to.deep.equal([0, 2]);
      expect(storedScans(vault)).to.have.length(2);
    } finally {
      await vault.close();
    }
  });
});

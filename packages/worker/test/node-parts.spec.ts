// The reducer node's parts that face the disk and the operator: the journal, the config file, the status port.
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import fc from "fast-check";
import {
  handleStatusRequest,
  Journal,
  JournalCorruptError,
  type JournalEntry,
  loadReducerConfig,
  Metrics,
  parseReducerConfig,
  ReducerConfigError,
  type StatusSource,
  startStatusServer,
} from "../src/index.js";

describe("reducer node parts: journal, config, status port", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "mosaic-node-parts-"));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  describe("journal", () => {
    const entries: JournalEntry[] = [
      { e: "opened", specCid: "bafy", groupRoot: "1", collectionDeadline: 5 },
      { e: "announced", cid: "a" },
      { e: "announced", cid: "b" },
      { e: "accepted", cid: "a", nullifier: "7", payload: [1, 2] },
      { e: "rejected", cid: "b", reason: "InvalidProofError", message: "no" },
      { e: "announced", cid: "c" },
    ];

    it("replays to the state it was built to; a torn last line is dropped and truncated away", () => {
      const file = path.join(dir, "j1.jsonl");
      const j = Journal.open(file);
      j.append(...entries);
      j.close();
      // A kill mid-write leaves half a line.
      appendFileSync(file, '{"e":"accepted","cid":"c","nulli');
      const r = Journal.open(file);
      expect([...r.state.accepted.keys()]).to.deep.equal(["7"]);
      expect(r.state.rejected).to.deep.equal({ InvalidProofError: 1 });
      expect([...r.state.pending]).to.deep.equal(["c"]);
      r.close();
      expect(readFileSync(file, "utf8").endsWith("}\n")).to.equal(true);
    });

    it("refuses a journal damaged before its last line with JournalCorruptError, and changes nothing", () => {
      const file = path.join(dir, "j2.jsonl");
      writeFileSync(file, `${JSON.stringify(entries[0])}\nnot json\n${JSON.stringify(entries[1])}\n`);
      const before = readFileSync(file);
      expect(() => Journal.open(file)).to.throw(JournalCorruptError, /j2\.jsonl:2/);
      expect(readFileSync(file)).to.deep.equal(before);
    });

    it("replays any prefix of whole lines to the state of applying that prefix (property)", () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: entries.length }), fc.integer({ min: 0, max: 40 }), (n, cut) => {
          const file = path.join(dir, `p-${n}-${cut}.jsonl`);
          const text = entries.map((e) => `${JSON.stringify(e)}\n`).join("");
          const whole = entries
            .slice(0, n)
            .map((e) => `${JSON.stringify(e)}\n`)
            .join("");
          const torn = text.slice(whole.length, whole.length + Math.min(cut, (JSON.stringify(entries[n] ?? {}) as string).length - 1));
          writeFileSync(file, whole + (n < entries.length ? torn : ""));
          const j = Journal.open(file);
          const expected = Journal.open(path.join(dir, `e-${n}-${cut}.jsonl`));
          expected.append(...entries.slice(0, n));
          expect(j.state).to.deep.equal(expected.state);
          j.close();
          expected.close();
        }),
        { numRuns: 30, seed: 6 },
      );
    });
  });

  describe("config", () => {
    const good = {
      rpcUrl: "http://127.0.0.1:8545",
      registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      operatorKeyFile: "op.key",
      dataDir: "data",
    };

    it("fills defaults and resolves paths against the config file", () => {
      const c = parseReducerConfig(good, "/etc/mosaic/reducer.json");
      expect(c.dataDir).to.equal("/etc/mosaic/data");
      expect(c.operatorKeyFile).to.equal("/etc/mosaic/op.key");
      // The status port is readable by the app at its default origin, and by no other page.
      expect(c.http).to.deep.equal({ host: "127.0.0.1", port: 9464, allowOrigins: ["http://127.0.0.1:5173", "http://localhost:5173"] });
      expect(c.verifier).to.deep.equal({ threads: 2, batchSize: 64, batchWaitMs: 200 });
      // Browsers dial reducers over WebSockets: a second listen address by default, "" for none.
      expect(c.wsListen).to.equal("/ip4/127.0.0.1/tcp/0/ws");
      expect(parseReducerConfig({ ...good, wsListen: "" }, "r.json").wsListen).to.equal("");
      expect(parseReducerConfig({ ...good, wsListen: "/ip4/0.0.0.0/tcp/4102/ws" }, "r.json").wsListen).to.equal("/ip4/0.0.0.0/tcp/4102/ws");
    });

    it("takes http.allowOrigins as http(s) origins (a trailing / dropped) and refuses anything else with the field named", () => {
      const c = parseReducerConfig(
        { ...good, http: { port: 0, allowOrigins: ["https://app.example.org", "http://127.0.0.1:8080/", "http://[::1]:5173"] } },
        "r.json",
      );
      expect(c.http.allowOrigins).to.deep.equal(["https://app.example.org", "http://127.0.0.1:8080", "http://[::1]:5173"]);
      expect(parseReducerConfig({ ...good, http: { allowOrigins: [] } }, "r.json").http.allowOrigins).to.deep.equal([]);
      const bad: Array<[unknown, RegExp]> = [
        ["*", /http\.allowOrigins: expected up to 16 origins/],
        [{ 0: "http://a.example" }, /http\.allowOrigins: expected up to 16 origins/],
        [Array.from({ length: 17 }, (_, i) => `http://a${i}.example`), /http\.allowOrigins: expected up to 16 origins/],
        [["*"], /http\.allowOrigins\[0\]: expected an http\(s\) origin with no path/],
        [["http://127.0.0.1:5173", "null"], /http\.allowOrigins\[1\]: expected an http\(s\) origin/],
        [["http://127.0.0.1:5173/app"], /http\.allowOrigins\[0\]: .*got "http:\/\/127\.0\.0\.1:5173\/app"/],
        [["http://a.example?x=1"], /http\.allowOrigins\[0\]/],
        [["http://a.example#x"], /http\.allowOrigins\[0\]/],
        [["http://user:pw@a.example"], /http\.allowOrigins\[0\]/],
        [["ftp://a.example"], /http\.allowOrigins\[0\]/],
        [["javascript:alert(1)"], /http\.allowOrigins\[0\]/],
        [["HTTP://A.EXAMPLE"], /http\.allowOrigins\[0\]/],
        [["a.example"], /http\.allowOrigins\[0\]/],
        [[5173], /http\.allowOrigins\[0\]: .*got 5173/],
        [[`http://${"a".repeat(300)}.example`], /http\.allowOrigins\[0\]/],
      ];
      for (const [allowOrigins, message] of bad)
        expect(() => parseReducerConfig({ ...good, http: { allowOrigins } }, "r.json"), String(message)).to.throw(
          ReducerConfigError,
          message,
        );
      expect(() => parseReducerConfig({ ...good, http: { allowOrigin: ["http://a.example"] } }, "r.json")).to.throw(
        ReducerConfigError,
        /http\.allowOrigin: not a config field \(known: host, port, allowOrigins\)/,
      );
      expect(() => parseReducerConfig({ ...good, http: "127.0.0.1" }, "r.json")).to.throw(ReducerConfigError, /http: expected an object/);
    });

    it("refuses misbehave like any unknown field: a cheating reducer is built by test code, never from a config file", async () => {
      for (const misbehave of ["inflate", "include-invalid", "include-duplicate", "withhold", "invent"]) {
        expect(() => parseReducerConfig({ ...good, misbehave }, "r.json")).to.throw(
          ReducerConfigError,
          /^r\.json: misbehave: not a config field/,
        );
        const file = path.join(dir, `misbehave-${misbehave}.json`);
        writeFileSync(file, JSON.stringify({ ...good, misbehave }));
        let err: unknown;
        await loadReducerConfig(file).catch((e) => {
          err = e;
        });
        expect(err).to.be.instanceOf(ReducerConfigError);
        expect((err as Error).message).to.match(/misbehave: not a config field/);
      }
    });

    it("names the field of every bad config with ReducerConfigError", async () => {
      const cases: Array<[unknown, RegExp]> = [
        [null, /expected a JSON object/],
        [[1], /expected a JSON object/],
        [{ ...good, extra: 1 }, /extra: not a config field/],
        [{ ...good, rpcUrl: "file:///etc/passwd" }, /rpcUrl: expected an http/],
        [{ ...good, registry: "0x123" }, /registry: expected/],
        [{ ...good, dataDir: "" }, /dataDir: expected a non-empty string/],
        [{ ...good, http: { host: "0.0.0.0" } }, /http\.host: expected a loopback/],
        [{ ...good, http: { port: 70000 } }, /http\.port/],
        [{ ...good, verifier: { threads: 0 } }, /verifier\.threads/],
        [{ ...good, peers: ["/ip4/1.2.3.4/tcp/1"] }, /peers: expected/],
        [{ ...good, pollMs: 1.5 }, /pollMs/],
        [{ ...good, finalize: "yes" }, /finalize/],
        [{ ...good, wsListen: "/ip4/127.0.0.1/tcp/4102" }, /wsListen: expected a WebSockets multiaddr/],
        [{ ...good, wsListen: ["/ip4/127.0.0.1/tcp/0/ws"] }, /wsListen: expected a WebSockets multiaddr/],
        [{ ...good, wsListen: null }, /wsListen/],
      ];
      for (const [value, message] of cases)
        expect(() => parseReducerConfig(value, "r.json"), String(message)).to.throw(ReducerConfigError, message);
      const notJson = path.join(dir, "bad.json");
      writeFileSync(notJson, "{ rpcUrl: ");
      let err: unknown;
      await loadReducerConfig(notJson).catch((e) => {
        err = e;
      });
      expect(err).to.be.instanceOf(ReducerConfigError);
      expect((err as Error).message).to.match(/not JSON/);
      err = undefined;
      await loadReducerConfig(path.join(dir, "missing.json")).catch((e) => {
        err = e;
      });
      expect((err as Error).message).to.match(/cannot read it \(ENOENT\)/);
    });
  });

  describe("status port", () => {
    const source: StatusSource = {
      health: () => ({ status: "ok" }),
      metrics: () => {
        const m = new Metrics();
        m.inc("mosaic_submissions_rejected_total", "by reason", { job: "1", reason: 'Bad"Name\n' });
        m.set("mosaic_jobs", "jobs", {}, 2);
        return m.render();
      },
      jobs: () => [{ jobId: "1" }],
      job: (id) => (id === "1" ? { jobId: "1", accepted: 3 } : undefined),
    };

    it("serves health, metrics and jobs on loopback, and answers hostile requests with a status, not a crash", async () => {
      const { server, url } = await startStatusServer(source, "127.0.0.1", 0);
      try {
        expect(await (await fetch(`${url}/health`)).json()).to.deep.equal({ status: "ok" });
        const metrics = await (await fetch(`${url}/metrics`)).text();
        expect(metrics).to.contain("# TYPE mosaic_submissions_rejected_total counter");
        expect(metrics).to.contain('reason="Bad\\"Name\\n"');
        expect(metrics).to.contain("mosaic_jobs 2");
        expect(await (await fetch(`${url}/jobs/0001`)).json()).to.deep.equal({ jobId: "1", accepted: 3 });
        const statuses = await Promise.all([
          fetch(`${url}/jobs/2`).then((r) => r.status),
          fetch(`${url}/jobs/-1`).then((r) => r.status),
          fetch(`${url}/../../etc/passwd`).then((r) => r.status),
          fetch(`${url}/jobs/${"1".repeat(300)}`).then((r) => r.status),
          // A shared job by its label, one this node does not serve; a label that is not one; past 78 digits.
          fetch(`${url}/jobs/s1`).then((r) => r.status),
          fetch(`${url}/jobs/s0`).then((r) => r.status),
          fetch(`${url}/jobs/${"9".repeat(79)}`).then((r) => r.status),
          fetch(`${url}/health`, { method: "DELETE" }).then((r) => r.status),
          fetch(`${url}/health`, { method: "POST", body: "x".repeat(100_000) }).then((r) => r.status),
        ]);
        expect(statuses).to.deep.equal([404, 404, 404, 414, 404, 404, 404, 405, 405]);
        expect(await (await fetch(`${url}/health`)).json()).to.deep.equal({ status: "ok" });
      } finally {
        server.close();
      }
      let err: unknown;
      await startStatusServer(source, "0.0.0.0", 0).catch((e) => {
        err = e;
      });
      expect((err as Error).message).to.match(/not a loopback address/);
    });

    it("turns a failing source into a 500 with the message", () => {
      let status = 0;
      let body = "";
      const res = {
        writeHead: (s: number) => {
          status = s;
        },
        end: (b: string) => {
          body = b;
        },
      } as unknown as Parameters<typeof handleStatusRequest>[2];
      handleStatusRequest(
        {
          ...source,
          health: () => {
            throw new Error("boom");
          },
        },
        { method: "GET", url: "/health", headers: { host: "127.0.0.1:9464" } },
        res,
      );
      expect(status).to.equal(500);
      expect(JSON.parse(body)).to.deep.equal({ error: "InternalError", message: "boom" });
    });
  });
});

// The status port answers a browser page only from the origins the operator allows (the app's): those get their
// Origin echoed in Access-Control-Allow-Origin on GET and HEAD, every other website gets none, and a request for a
// name that is not loopback (a DNS-rebinding page) gets 421 and no data.
import { request } from "node:http";
import { expect } from "chai";
import { type StatusSource, startStatusServer } from "../src/index.js";

/** A GET with exactly these headers (fetch would not let a test set Host); resolves with status, headers and body. */
function rawGet(
  url: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: "GET", headers, setHost: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("status port: readable from the allowed origins only", () => {
  const source: StatusSource = {
    health: () => ({ status: "ok" }),
    metrics: () => "mosaic_up 1\n",
    jobs: () => [{ jobId: "1" }],
    job: (id) => (id === "1" ? { jobId: "1", accepted: 3 } : undefined),
  };

  it("echoes an allowed Origin on GET and HEAD answers (errors included), with Vary: Origin; not on refused methods", async () => {
    const { server, url } = await startStatusServer(source, "127.0.0.1", 0);
    try {
      for (const allowed of ["http://127.0.0.1:5173", "http://localhost:5173"]) {
        const origin = { headers: { origin: allowed } };
        for (const path of ["/health", "/metrics", "/jobs", "/jobs/1", "/jobs/2", "/nowhere"]) {
          const res = await fetch(`${url}${path}`, origin);
          expect(res.headers.get("access-control-allow-origin"), path).to.equal(allowed);
          expect(res.headers.get("vary"), path).to.equal("Origin");
          await res.arrayBuffer();
        }
        const head = await fetch(`${url}/health`, { ...origin, method: "HEAD" });
        expect(head.headers.get("access-control-allow-origin")).to.equal(allowed);
        const post = await fetch(`${url}/health`, { ...origin, method: "POST", body: "x" });
        expect(post.status).to.equal(405);
        expect(post.headers.get("access-control-allow-origin")).to.equal(null);
        await post.arrayBuffer();
      }
      // The answer itself is unchanged.
      expect(await (await fetch(`${url}/jobs/1`)).json()).to.deep.equal({ jobId: "1", accepted: 3 });
    } finally {
      server.close();
    }
  });

  it("gives any other origin no Access-Control-Allow-Origin (never *), so another website's script cannot read it", async () => {
    const { server, url } = await startStatusServer(source, "127.0.0.1", 0);
    try {
      for (const other of [
        "https://evil.example",
        "http://127.0.0.1:5174",
        "http://127.0.0.1:5173.evil.example",
        "null",
        "http://127.0.0.1:5173/",
      ]) {
        const res = await fetch(`${url}/jobs`, { headers: { origin: other } });
        expect(res.status, other).to.equal(200);
        expect(res.headers.get("access-control-allow-origin"), other).to.equal(null);
        expect(res.headers.get("vary"), other).to.equal("Origin");
        await res.arrayBuffer();
      }
      const noOrigin = await fetch(`${url}/health`);
      expect(noOrigin.headers.get("access-control-allow-origin")).to.equal(null);
      expect(await noOrigin.json()).to.deep.equal({ status: "ok" });
    } finally {
      server.close();
    }
  });

  it("allows the origins it is given instead of the app's default ones", async () => {
    const { server, url } = await startStatusServer(source, "127.0.0.1", 0, { allowOrigins: ["http://127.0.0.1:8080/"] });
    try {
      const mine = await fetch(`${url}/health`, { headers: { origin: "http://127.0.0.1:8080" } });
      expect(mine.headers.get("access-control-allow-origin")).to.equal("http://127.0.0.1:8080");
      await mine.arrayBuffer();
      const defaultOne = await fetch(`${url}/health`, { headers: { origin: "http://127.0.0.1:5173" } });
      expect(defaultOne.headers.get("access-control-allow-origin")).to.equal(null);
      await defaultOne.arrayBuffer();
    } finally {
      server.close();
    }
    let err: unknown;
    await startStatusServer(source, "127.0.0.1", 0, { allowOrigins: ["*"] }).catch((e) => {
      err = e;
    });
    expect(err).to.be.instanceOf(RangeError);
    expect((err as Error).message).to.match(/^http\.allowOrigins\[0\]: expected an http\(s\) origin .*got "\*"/);
  });

  it("answers a Host that is not loopback (DNS rebinding) with 421 and no data, even from an allowed origin", async () => {
    const { server, url } = await startStatusServer(source, "127.0.0.1", 0);
    const port = new URL(url).port;
    try {
      for (const host of [
        `evil.example:${port}`,
        "evil.example",
        `127.0.0.1.evil.example:${port}`,
        `localhost.evil.example:${port}`,
        `127.0.0.2:${port}`,
        `0.0.0.0:${port}`,
        `[::1]x:${port}`,
        `127.0.0.1:${port}:1`,
      ]) {
        const res = await rawGet(url, "/jobs/1", { host, origin: "http://127.0.0.1:5173" });
        expect(res.status, host).to.equal(421);
        expect(res.headers["access-control-allow-origin"], host).to.equal(undefined);
        expect(JSON.parse(res.body), host).to.deep.equal({
          error: "MisdirectedRequest",
          message: "the status port answers requests for 127.0.0.1, localhost or [::1] only",
        });
        expect(res.body, host).not.to.contain("accepted");
      }
      // The loopback names, with or without the port, in any case, are served.
      for (const host of [`127.0.0.1:${port}`, "127.0.0.1", `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`, "[::1]"]) {
        const res = await rawGet(url, "/jobs/1", { host, origin: "http://127.0.0.1:5173" });
        expect(res.status, host).to.equal(200);
        expect(res.headers["access-control-allow-origin"], host).to.equal("http://127.0.0.1:5173");
        expect(JSON.parse(res.body)).to.deep.equal({ jobId: "1", accepted: 3 });
      }
      // The server is still up and well after all that.
      expect(await (await fetch(`${url}/health`)).json()).to.deep.equal({ status: "ok" });
    } finally {
      server.close();
    }
  });
});

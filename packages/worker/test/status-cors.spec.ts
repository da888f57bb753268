// The status port answers a browser page on another origin: every GET and HEAD carries
// Access-Control-Allow-Origin: *, so the app's operator screen can read a reducer's progress; refusals of other
// methods do not.
import { expect } from "chai";
import { type StatusSource, startStatusServer } from "../src/index.js";

describe("status port: readable from the browser app", () => {
  const source: StatusSource = {
    health: () => ({ status: "ok" }),
    metrics: () => "mosaic_up 1\n",
    jobs: () => [{ jobId: "1" }],
    job: (id) => (id === "1" ? { jobId: "1", accepted: 3 } : undefined),
  };

  it("sends Access-Control-Allow-Origin: * on GET and HEAD answers (errors included), not on refused methods", async () => {
    const { server, url } = await startStatusServer(source, "127.0.0.1", 0);
    try {
      const origin = { headers: { origin: "http://127.0.0.1:5173" } };
      for (const path of ["/health", "/metrics", "/jobs", "/jobs/1", "/jobs/2", "/nowhere"]) {
        const res = await fetch(`${url}${path}`, origin);
        expect(res.headers.get("access-control-allow-origin"), path).to.equal("*");
        await res.arrayBuffer();
      }
      const head = await fetch(`${url}/health`, { ...origin, method: "HEAD" });
      expect(head.headers.get("access-control-allow-origin")).to.equal("*");
      const post = await fetch(`${url}/health`, { ...origin, method: "POST", body: "x" });
      expect(post.status).to.equal(405);
      expect(post.headers.get("access-control-allow-origin")).to.equal(null);
      await post.arrayBuffer();
      // The answer itself is unchanged.
      expect(await (await fetch(`${url}/jobs/1`)).json()).to.deep.equal({ jobId: "1", accepted: 3 });
    } finally {
      server.close();
    }
  });
});

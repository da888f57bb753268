// serveApp against a tiny built app in a temp directory: each route, the headers every answer carries, and the
// request targets that must not reach a file outside the app (raw and percent-encoded traversal, NUL, backslashes).
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { AppNotBuiltError, type AppServer, contentSecurityPolicy, MAX_CONNECTIONS, serveApp, websocketOrigin } from "@mosaic/app";
import { ARTIFACT_SHA256 } from "@mosaic/avatar";
import { type Logger, type NetworkFile, NetworkFileError } from "@mosaic/protocol";
import { expect } from "chai";
import { expectRejects } from "../../../test/helpers.js";

const PEER = "12D3KooWGRUVh8SxJ4h2ZBTf8z2q6y4M2YhGNgZTakJ2ijUAKBos";
const SECRET = "the secret outside the app";
const INDEX = "<!doctype html><title>Mosaic</title><div id=root></div>";
const deployed = (i: number) => ({ address: `0x${i.toString(16).padStart(40, "0")}`, deployBlock: 0 });

function network(rpc = "http://127.0.0.1:8545", bootstrap = [`/ip4/127.0.0.1/tcp/4002/ws/p2p/${PEER}`]): NetworkFile {
  return {
    v: 1,
    name: "devnet",
    chainId: 31337,
    rpc,
    contracts: {
      semaphore: deployed(1),
      avatarGroups: deployed(2),
      openAdmission: deployed(3),
      registrarAdmission: deployed(4),
      jobRegistry: deployed(5),
      reducerDirectory: deployed(6),
    },
    bootstrap,
    openGroup: 1,
    createdAt: "2026-01-01T00:00:00.000Z",
  };
}

/**
 * Bootstrap addresses parseNetworkFile accepts (multiaddr takes any text as a DNS name) whose host must never reach
 * the CSP: one injects a directive, one widens connect-src to every host, one splits the header (Node would throw
 * on every answer), one holds a space.
 */
const HOSTILE_BOOTSTRAP = [
  `/dns4/x; frame-src */tcp/443/wss/p2p/${PEER}`,
  `/dns4/*/tcp/443/wss/p2p/${PEER}`,
  `/dns4/evil.example\r\nX-Evil: 1/tcp/443/wss/p2p/${PEER}`,
  `/dns/a b/tcp/80/ws/p2p/${PEER}`,
];

/** Waits until the server answers GET / with 200 (after refusing connections it was full). */
async function waitForServed(url: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const status = await raw(url, "/").then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url} did not serve again within 5 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request with the target exactly as given (fetch would normalise `..` away before sending). */
function raw(base: string, target: string, method = "GET", headers: Record<string, string> = {}): Promise<Answer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path: target, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** A request line written byte for byte on a socket: for targets Node's client refuses to send (a raw NUL). */
function rawSocket(base: string, target: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let out = "";
    socket.on("data", (c: Buffer) => (out += c.toString("latin1")));
    socket.on("end", () => resolve(out));
    socket.on("error", reject);
  });
}

function errorBody(answer: Answer): { name: string; message: string } {
  expect(answer.headers["content-type"]).to.match(/^application\/json/);
  return (JSON.parse(answer.body.toString()) as { error: { name: string; message: string } }).error;
}

describe("serveApp", function () {
  this.timeout(60_000);
  let dir: string;
  let dist: string;
  let app: AppServer;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "mosaic-app-serve-"));
    dist = path.join(dir, "dist");
    await mkdir(path.join(dist, "assets"), { recursive: true });
    await writeFile(path.join(dist, "index.html"), INDEX);
    await writeFile(path.join(dist, "assets", "index-3f2a9c.js"), "console.log('app')");
    await writeFile(path.join(dist, "assets", "index-3f2a9c.css"), "body{}");
    await writeFile(path.join(dist, "assets", "prover-1b2c.wasm"), new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    await writeFile(path.join(dist, "favicon.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>");
    await writeFile(path.join(dist, ".env"), SECRET);
    await writeFile(path.join(dir, "secret.txt"), SECRET);
    await symlink(path.join(dir, "secret.txt"), path.join(dist, "link.txt"));
    app = await serveApp({ network: network(), distDir: dist });
  });
  after(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("listens on loopback at a free port by default", () => {
    expect(app.url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it("serves index.html at / with no-cache, and the security headers", async () => {
    const r = await raw(app.url, "/");
    expect(r.status).to.equal(200);
    expect(r.body.toString()).to.equal(INDEX);
    expect(r.headers["content-type"]).to.equal("text/html; charset=utf-8");
    expect(r.headers["cache-control"]).to.equal("no-cache");
    expect(r.headers["x-content-type-options"]).to.equal("nosniff");
    expect(r.headers["referrer-policy"]).to.equal("no-referrer");
    expect(r.headers["cross-origin-opener-policy"]).to.equal("same-origin");
    expect(r.headers["content-security-policy"]).to.equal(contentSecurityPolicy(network()));
  });

  it("serves /assets/* immutable with their content types (.js text/javascript, .wasm application/wasm)", async () => {
    const js = await raw(app.url, "/assets/index-3f2a9c.js");
    expect(js.status).to.equal(200);
    expect(js.body.toString()).to.equal("console.log('app')");
    expect(js.headers["content-type"]).to.equal("text/javascript; charset=utf-8");
    expect(js.headers["cache-control"]).to.equal("public, max-age=31536000, immutable");
    expect((await raw(app.url, "/assets/index-3f2a9c.css")).headers["content-type"]).to.equal("text/css; charset=utf-8");
    const wasm = await raw(app.url, "/assets/prover-1b2c.wasm");
    expect(wasm.headers["content-type"]).to.equal("application/wasm");
    expect([...wasm.body]).to.deep.equal([0, 97, 115, 109, 1, 0, 0, 0]);
    const svg = await raw(app.url, "/favicon.svg?v=2");
    expect(svg.headers["content-type"]).to.equal("image/svg+xml");
    expect(svg.headers["cache-control"]).to.equal("no-cache");
  });

  it("answers a repeated request with the ETag it gave: 304, no body", async () => {
    const first = await raw(app.url, "/assets/index-3f2a9c.js");
    const again = await raw(app.url, "/assets/index-3f2a9c.js", "GET", { "If-None-Match": String(first.headers.etag) });
    expect(again.status).to.equal(304);
    expect(again.body.length).to.equal(0);
  });

  it("GET /network.json: the network file as JSON, without a LoadedNetwork's local path", async () => {
    const withPath = await serveApp({
      network: { ...network(), file: "/home/someone/networks/devnet.json" } as NetworkFile,
      distDir: dist,
    });
    try {
      const r = await raw(withPath.url, "/network.json");
      expect(r.status).to.equal(200);
      expect(r.headers["content-type"]).to.equal("application/json; charset=utf-8");
      expect(JSON.parse(r.body.toString())).to.deep.equal(network());
      expect(r.body.toString()).not.to.include("/home/someone");
    } finally {
      await withPath.close();
    }
  });

  it("streams the pinned depth-20 artifacts: their bytes hash to ARTIFACT_SHA256", async () => {
    const wasm = await raw(app.url, "/artifacts/semaphore-20.wasm");
    expect(wasm.status).to.equal(200);
    expect(wasm.headers["content-type"]).to.equal("application/wasm");
    expect(createHash("sha256").update(wasm.body).digest("hex")).to.equal(ARTIFACT_SHA256.wasm);
    const zkey = await raw(app.url, "/artifacts/semaphore-20.zkey");
    expect(zkey.status).to.equal(200);
    expect(zkey.headers["content-type"]).to.equal("application/octet-stream");
    expect(Number(zkey.headers["content-length"])).to.equal(zkey.body.length);
    expect(createHash("sha256").update(zkey.body).digest("hex")).to.equal(ARTIFACT_SHA256.zkey);
    expect((await raw(app.url, "/artifacts/semaphore-16.zkey")).status).to.equal(404);
  });

  it("falls back to index.html for app routes without a file extension", async () => {
    for (const route of ["/vault", "/jobs/3/consent", "/operator?tab=stake"]) {
      const r = await raw(app.url, route);
      expect(r.status, route).to.equal(200);
      expect(r.body.toString(), route).to.equal(INDEX);
      expect(r.headers["cache-control"], route).to.equal("no-cache");
    }
  });

  it("an unknown file, a missing asset or a dotfile: 404 with a JSON error", async () => {
    for (const target of ["/missing.js", "/assets/gone", "/assets/gone-123.js", "/.env"]) {
      const r = await raw(app.url, target);
      expect(r.status, target).to.equal(404);
      expect(errorBody(r), target).to.include({ name: "NotFoundError" });
      expect(r.body.toString()).not.to.include(SECRET);
      expect(r.headers["content-security-policy"], target).to.include("default-src 'self'");
    }
  });

  it("never serves a file outside the app: raw, encoded and double-encoded traversal, NUL, backslashes, symlinks", async () => {
    const targets = [
      "/../secret.txt",
      "/assets/../../secret.txt",
      "/%2e%2e/secret.txt",
      "/%2E%2E%2Fsecret.txt",
      "/assets/%2e%2e/%2e%2e/secret.txt",
      "/%252e%252e/secret.txt",
      "/..%5csecret.txt",
      "/..\\secret.txt",
      "/index.html%00.js",
      "/./index.html",
      "/link.txt",
      `/${"../".repeat(20)}etc/passwd`,
      "/%",
    ];
    for (const target of targets) {
      const r = await raw(app.url, target);
      expect(r.status, target).to.be.oneOf([400, 404]);
      expect(r.body.toString(), target).not.to.include(SECRET);
      expect(errorBody(r).name, target).to.be.oneOf(["BadPathError", "NotFoundError"]);
    }
    const nul = await rawSocket(app.url, "/index.html\0.js");
    expect(nul).to.match(/^HTTP\/1\.1 4\d\d /);
    expect(nul).not.to.include(SECRET);
  });

  it("only GET and HEAD: 405 with Allow", async () => {
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS"]) {
      const r = await raw(app.url, "/", method);
      expect(r.status, method).to.equal(405);
      expect(r.headers.allow, method).to.equal("GET, HEAD");
      expect(errorBody(r).name).to.equal("MethodNotAllowedError");
    }
  });

  it("HEAD: the GET's headers and no body", async () => {
    const get = await raw(app.url, "/assets/index-3f2a9c.js");
    const head = await raw(app.url, "/assets/index-3f2a9c.js", "HEAD");
    expect(head.status).to.equal(200);
    expect(head.body.length).to.equal(0);
    expect(head.headers["content-length"]).to.equal(get.headers["content-length"]);
    expect(head.headers["content-type"]).to.equal(get.headers["content-type"]);
    expect((await raw(app.url, "/network.json", "HEAD")).body.length).to.equal(0);
  });

  it("a request target over 2048 characters: 414", async () => {
    const r = await raw(app.url, `/${"a".repeat(2048)}`);
    expect(r.status).to.equal(414);
    expect(errorBody(r).name).to.equal("UriTooLongError");
    expect((await raw(app.url, `/${"a".repeat(2000)}`)).status).to.equal(200);
  });

  it("a network file with hostile bootstrap hosts: each left out of the CSP with a warning, and the server stays up", async () => {
    const good = `/dns4/peer.example.org/tcp/443/wss/p2p/${PEER}`;
    const warnings: Array<Record<string, unknown> | undefined> = [];
    const logger: Logger = (level, event, fields) => {
      if (level === "warn" && event === "app:bootstrap-skipped") warnings.push(fields);
    };
    const hostile = await serveApp({
      network: network("https://rpc.example.org", [good, ...HOSTILE_BOOTSTRAP]),
      distDir: dist,
      logger,
    });
    try {
      expect(warnings.map((w) => w?.addr)).to.deep.equal(HOSTILE_BOOTSTRAP);
      for (const target of ["/", "/vault", "/network.json", "/missing.js"]) {
        const r = await raw(hostile.url, target);
        expect(r.status, target).to.be.oneOf([200, 404]);
        const csp = String(r.headers["content-security-policy"]);
        expect(
          csp.split("; ").find((d) => d.startsWith("connect-src")),
          target,
        ).to.equal("connect-src 'self' https://rpc.example.org wss://peer.example.org:443");
        expect(csp, target).not.to.match(/frame-src|\*|\r|\n|evil/);
        expect(r.headers["x-evil"], target).to.equal(undefined);
      }
      // Still serving, many times over.
      const again = await Promise.all(Array.from({ length: 20 }, () => raw(hostile.url, "/")));
      expect(again.map((r) => r.status)).to.deep.equal(Array(20).fill(200));
    } finally {
      await hostile.close();
    }
  });

  it("closes a connection that sends its headers too slowly (10 s), and refuses connections past MAX_CONNECTIONS", async () => {
    const limited = await serveApp({ network: network(), distDir: dist });
    const { hostname, port } = new URL(limited.url);
    const sockets: Socket[] = [];
    try {
      // A slowloris: a request line and one header, then nothing. The server ends it (408) within its headers timeout.
      const started = Date.now();
      const slow = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => socket.write("GET / HTTP/1.1\r\nHost: x\r\n"));
        let out = "";
        socket.on("data", (c: Buffer) => (out += c.toString("latin1")));
        socket.on("close", () => resolve(out));
        socket.on("error", reject);
      });
      const waited = Date.now() - started;
      expect(waited).to.be.within(9_000, 13_000);
      expect(slow).to.match(/^(HTTP\/1\.1 408 |$)/);
      // MAX_CONNECTIONS idle connections held open; the next one is closed at once, and once they go it serves again.
      expect(MAX_CONNECTIONS).to.equal(256);
      for (let i = 0; i < MAX_CONNECTIONS; i++) {
        sockets.push(
          await new Promise<Socket>((resolve, reject) => {
            const socket = connect(Number(port), hostname, () => resolve(socket));
            socket.on("error", reject);
          }),
        );
      }
      const refused = await raw(limited.url, "/").then(
        () => "served",
        (err: NodeJS.ErrnoException) => err.code,
      );
      expect(refused).to.be.oneOf(["ECONNRESET", "EPIPE"]);
      for (const socket of sockets.splice(0)) socket.destroy();
      await waitForServed(limited.url);
    } finally {
      for (const socket of sockets) socket.destroy();
      await limited.close();
    }
  });

  it("refuses to start without a built app: AppNotBuiltError naming npm run build:app", async () => {
    const empty = path.join(dir, "empty");
    await mkdir(empty);
    await expectRejects(serveApp({ network: network(), distDir: empty }), AppNotBuiltError, /has no index\.html.*npm run build:app/);
  });

  it("refuses a malformed network: NetworkFileError", async () => {
    await expectRejects(serveApp({ network: { ...network(), rpc: "ftp://x" }, distDir: dist }), NetworkFileError, /rpc/);
  });
});

describe("the app's Content-Security-Policy", () => {
  it("is strict: self, wasm, no objects, no framing, no base", () => {
    const csp = contentSecurityPolicy(network());
    for (const directive of [
      "default-src 'self'",
      "script-src 'self' 'wasm-unsafe-eval'",
      "worker-src 'self' blob:",
      "img-src 'self' data: blob:",
      "style-src 'self' 'unsafe-inline'",
      "font-src 'self'",
      "object-src 'none'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
      "form-action 'self'",
    ])
      expect(csp.split("; "), directive).to.include(directive);
    expect(csp).not.to.include("'unsafe-eval'");
  });

  it("a loopback RPC: connects to it, the /ws bootstrap peers and any loopback port (the devnet's reducers)", () => {
    const connect = contentSecurityPolicy(network())
      .split("; ")
      .find((d) => d.startsWith("connect-src"));
    expect(connect?.split(" ").slice(1)).to.have.members([
      "'self'",
      "http://127.0.0.1:8545",
      "ws://127.0.0.1:4002",
      "ws://127.0.0.1:*",
      "ws://localhost:*",
      "http://127.0.0.1:*",
      "http://localhost:*",
    ]);
  });

  it("a public RPC: only it and the bootstrap peers' WebSockets, no loopback wildcard", () => {
    const csp = contentSecurityPolicy(
      network("https://rpc.example.org/v1/key", [
        `/dns4/peer.example.org/tcp/443/wss/p2p/${PEER}`,
        `/ip4/203.0.113.5/tcp/4001/p2p/${PEER}`,
        `/ip6/2001:db8::1/tcp/4002/ws/p2p/${PEER}`,
      ]),
    );
    const connect = csp.split("; ").find((d) => d.startsWith("connect-src"));
    expect(connect?.split(" ").slice(1)).to.have.members([
      "'self'",
      "https://rpc.example.org",
      "wss://peer.example.org:443",
      "ws://[2001:db8::1]:4002",
    ]);
  });

  it("leaves out bootstrap hosts that would inject a directive, widen to a wildcard or break the header", () => {
    const skipped: string[] = [];
    const csp = contentSecurityPolicy(network("https://rpc.example.org", [`/ip4/10.0.0.1/tcp/9/ws/p2p/${PEER}`, ...HOSTILE_BOOTSTRAP]), {
      onSkipped: (addr) => skipped.push(addr),
    });
    expect(skipped).to.deep.equal(HOSTILE_BOOTSTRAP);
    expect(csp.split("; ").find((d) => d.startsWith("connect-src"))).to.equal("connect-src 'self' https://rpc.example.org ws://10.0.0.1:9");
    expect(csp.split("; ").filter((d) => d.startsWith("frame-src"))).to.deep.equal([]);
    expect(csp).not.to.match(/\*|\r|\n/);
    // A TCP-only address is not for browsers, and not worth a warning.
    contentSecurityPolicy(network("https://rpc.example.org", [`/ip4/10.0.0.1/tcp/9/p2p/${PEER}`]), {
      onSkipped: (addr) => skipped.push(addr),
    });
    expect(skipped).to.have.length(HOSTILE_BOOTSTRAP.length);
  });

  it("websocketOrigin: a DNS name of [A-Za-z0-9-] labels, an IPv4 or a bracketed IPv6 address, and a port up to 65535", () => {
    for (const addr of HOSTILE_BOOTSTRAP) expect(websocketOrigin(addr), addr).to.equal(undefined);
    for (const host of ["*.example.org", "a..example.org", ".example.org", "a_b.example.org", "ex%41mple.org", `${"a".repeat(64)}.org`])
      expect(websocketOrigin(`/dns4/${host}/tcp/443/wss/p2p/${PEER}`), host).to.equal(undefined);
    expect(websocketOrigin(`/ip4/1.2.3.4.5/tcp/1/ws/p2p/${PEER}`)).to.equal(undefined);
    expect(websocketOrigin(`/ip6/::1]evil[/tcp/1/ws/p2p/${PEER}`)).to.equal(undefined);
    expect(websocketOrigin(`/ip6/fe80::1%25eth0/tcp/1/ws/p2p/${PEER}`)).to.equal(undefined);
    expect(websocketOrigin(`/dns4/a.example/tcp/65536/ws/p2p/${PEER}`)).to.equal(undefined);
    expect(websocketOrigin(`/dns4/a.example/tcp/*/ws/p2p/${PEER}`)).to.equal(undefined);
    expect(websocketOrigin(`/dns4/Peer-1.Example.org/tcp/443/wss/p2p/${PEER}`)).to.equal("wss://Peer-1.Example.org:443");
    expect(websocketOrigin(`/dns6/localhost/tcp/65535/ws/p2p/${PEER}`)).to.equal("ws://localhost:65535");
    expect(websocketOrigin(`/ip6/::1/tcp/4002/ws/p2p/${PEER}`)).to.equal("ws://[::1]:4002");
  });

  it("websocketOrigin: only /ws and /wss addresses", () => {
    expect(websocketOrigin(`/ip4/10.0.0.1/tcp/9/ws/p2p/${PEER}`)).to.equal("ws://10.0.0.1:9");
    expect(websocketOrigin(`/dns/a.example/tcp/443/tls/ws/p2p/${PEER}`)).to.equal("wss://a.example:443");
    expect(websocketOrigin(`/ip4/10.0.0.1/tcp/9/p2p/${PEER}`)).to.equal(undefined);
    expect(websocketOrigin(`/ip4/10.0.0.1/udp/9/quic-v1/p2p/${PEER}`)).to.equal(undefined);
  });
});

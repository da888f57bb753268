// The app's server, Node only (`mosaic app`): the built single-page app, the network file it reads and the pinned
// Semaphore artifacts it proves with, from this machine alone, under a Content-Security-Policy that lets the page
// talk to nothing but this server, the network's RPC and its peers.
import { createReadStream, type Stats } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type AddressInfo, isIPv4, isIPv6 } from "node:net";
import { createRequire } from "node:module";
import path from "node:path";
import type { ArtifactPaths } from "@mosaic/avatar";
import { createLogger, type Logger, type NetworkFile, namedError, parseNetworkFile } from "@mosaic/protocol";

/** The app has not been built: distDir has no index.html. The message says to run `npm run build:app`. */
export class AppNotBuiltError extends namedError("AppNotBuiltError") {}

export interface ServeAppInit {
  /** The network the app works on, served as /network.json (a LoadedNetwork's `file` path is left out). */
  network: NetworkFile;
  /** The built app (Vite's output). @default packages/app/dist */
  distDir?: string;
  /** @default "127.0.0.1" */
  host?: string;
  /** @default 0 (a free port) */
  port?: number;
  /** The depth-20 proof artifacts served under /artifacts/. @default @mosaic/avatar's artifactPaths() (the installed ones) */
  artifacts?: ArtifactPaths;
  /** @default createLogger("app") */
  logger?: Logger;
}

export interface AppServer {
  /** Where the app is, e.g. http://127.0.0.1:5173/ */
  url: string;
  /** Stops listening and ends open connections. */
  close(): Promise<void>;
}

/** The longest request target served: longer ones get 414. */
export const MAX_URL_LENGTH = 2048;

/** Open connections the server keeps at once; more are closed as they arrive. One person's browser needs a few. */
export const MAX_CONNECTIONS = 256;

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".webmanifest": "application/manifest+json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".wasm": "application/wasm",
  ".zkey": "application/octet-stream",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".gpx": "application/gpx+xml",
};

/** Vite's hashed output: its names change with its bytes, so browsers may keep it for good. */
const IMMUTABLE = "public, max-age=31536000, immutable";
/** Everything else is checked again on each use (an ETag makes that a 304). */
const NO_CACHE = "no-cache";

/** The app's own directory: beside this file's package, wherever the code runs from (the CLI bundle is elsewhere). */
function defaultDistDir(): string {
  const entry = createRequire(import.meta.url).resolve("@mosaic/app");
  return path.resolve(path.dirname(entry), "../dist");
}

const isLoopbackHost = (host: string): boolean =>
  host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);

/** A multiaddr a browser's libp2p dials over WebSockets; its host and port are checked apart (websocketHost). */
const WEBSOCKET_MULTIADDR = /^\/(ip4|ip6|dns|dns4|dns6)\/([^/]+)\/tcp\/([^/]+)\/(ws|wss|tls\/ws|tls\/sni\/[^/]+\/ws)(?:\/|$)/;

/**
 * A multiaddr's host as it may stand in a CSP source and a URL, or undefined: a DNS name of letters, digits and
 * hyphens in dot-separated labels, an IPv4 address, or a bracketed IPv6 one. Anything else (`*`, `;`, spaces, CR/LF)
 * would widen the policy, add a directive or break the header, since the network file is outside input.
 */
function websocketHost(proto: string, host: string): string | undefined {
  if (proto === "ip4") return isIPv4(host) ? host : undefined;
  if (proto === "ip6") return /^[0-9A-Fa-f:.]+$/.test(host) && isIPv6(host) ? `[${host}]` : undefined;
  if (host.length > 253) return undefined;
  return host.split(".").every((label) => /^[A-Za-z0-9-]{1,63}$/.test(label)) ? host : undefined;
}

/**
 * The WebSocket URL origin of a bootstrap multiaddr that libp2p in a browser can dial (one with /ws or /wss), or
 * undefined: `/ip4/127.0.0.1/tcp/4002/ws/p2p/12D3…` → `ws://127.0.0.1:4002`. A host that is not a DNS name or an IP
 * literal, or a port out of range, is undefined too.
 */
export function websocketOrigin(addr: string): string | undefined {
  const m = WEBSOCKET_MULTIADDR.exec(addr);
  if (m === null) return undefined;
  const [, proto, rawHost, port, transport] = m as unknown as [string, string, string, string, string];
  const host = websocketHost(proto, rawHost);
  if (host === undefined || !/^[0-9]{1,5}$/.test(port) || Number(port) > 65535) return undefined;
  const scheme = transport === "ws" ? "ws" : "wss";
  return `${scheme}://${host}:${port}`;
}

/**
 * The page's Content-Security-Policy: its own origin, the network's RPC and the bootstrap peers' WebSockets; on a
 * loopback RPC (a devnet) also any loopback WebSocket and HTTP port, where the reducers found on-chain later listen
 * (and answer status requests). A WebSockets bootstrap address whose host or port websocketOrigin refuses is left
 * out and passed to `onSkipped`.
 */
export function contentSecurityPolicy(
  network: Pick<NetworkFile, "rpc" | "bootstrap">,
  options: { onSkipped?: (addr: string) => void } = {},
): string {
  const connect = new Set(["'self'"]);
  const rpc = new URL(network.rpc);
  connect.add(rpc.origin);
  for (const addr of network.bootstrap) {
    const origin = websocketOrigin(addr);
    if (origin !== undefined) connect.add(origin);
    else if (WEBSOCKET_MULTIADDR.test(addr)) options.onSkipped?.(addr);
  }
  if (isLoopbackHost(rpc.hostname.replace(/^\[|\]$/g, ""))) {
    for (const origin of ["ws://127.0.0.1:*", "ws://localhost:*", "http://127.0.0.1:*", "http://localhost:*"]) connect.add(origin);
  }
  return [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self' blob:",
    `connect-src ${[...connect].join(" ")}`,
    "img-src 'self' data: blob:",
    "style-src 'self' 'unsafe-inline'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ].join("; ");
}

/** Why a request target is refused before any file is looked at, or undefined when it may be looked up. */
function badPath(rawPath: string, decoded: string): string | undefined {
  if (!rawPath.startsWith("/")) return "the path must start with /";
  for (const p of [rawPath, decoded]) {
    if (p.includes("\\")) return "backslashes are not allowed";
    if (p.includes("\0")) return "NUL is not allowed";
    if (p.split("/").some((segment) => segment === ".." || segment === ".")) return "'.' and '..' segments are not allowed";
  }
  return undefined;
}

/**
 * Serves the built app on `host:port` (loopback and a free port by default). Fails with AppNotBuiltError when distDir
 * has no index.html, and with a NetworkFileError when `network` is malformed.
 */
export async function serveApp(init: ServeAppInit): Promise<AppServer> {
  const log = init.logger ?? createLogger("app");
  const { file: _file, ...fields } = init.network as NetworkFile & { file?: string };
  const network = parseNetworkFile(fields, "the network given to serveApp");
  const networkJson = Buffer.from(JSON.stringify(network, null, 2));
  const distDir = path.resolve(init.distDir ?? defaultDistDir());
  const index = path.join(distDir, "index.html");
  const indexStats = await stat(index).catch(() => undefined);
  if (!indexStats?.isFile())
    throw new AppNotBuiltError(`${distDir} has no index.html: the app is not built; run 'npm run build:app' (npm install does it too)`);
  const root = await realpath(distDir);
  const artifacts = init.artifacts ?? (await import("@mosaic/avatar")).artifactPaths();
  const artifactFiles: Record<string, string> = {
    "/artifacts/semaphore-20.wasm": artifacts.wasm,
    "/artifacts/semaphore-20.zkey": artifacts.zkey,
  };
  const securityHeaders: Record<string, string> = {
    "Content-Security-Policy": contentSecurityPolicy(network, {
      onSkipped: (addr) =>
        log("warn", "app:bootstrap-skipped", {
          addr,
          reason: "its host is not a DNS name or an IP address, or its port is out of range; the page will not dial it",
        }),
    }),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
  };

  const fail = (res: ServerResponse, status: number, name: string, message: string, headers: Record<string, string> = {}) => {
    const body = Buffer.from(JSON.stringify({ error: { name, message } }));
    res.writeHead(status, {
      ...securityHeaders,
      ...headers,
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": body.length,
      "Cache-Control": "no-store",
    });
    res.end(res.req.method === "HEAD" ? undefined : body);
  };

  /** A regular file inside `root` (symlinks resolved), or undefined. */
  const fileInDist = async (relative: string): Promise<{ file: string; stats: Stats } | undefined> => {
    const candidate = path.resolve(root, `.${relative}`);
    if (!candidate.startsWith(root + path.sep)) return undefined;
    try {
      const file = await realpath(candidate);
      if (!file.startsWith(root + path.sep)) return undefined;
      const stats = await stat(file);
      return stats.isFile() ? { file, stats } : undefined;
    } catch {
      return undefined;
    }
  };

  const sendFile = (req: IncomingMessage, res: ServerResponse, file: string, stats: Stats, cacheControl: string) => {
    const etag = `W/"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
    const headers = {
      ...securityHeaders,
      "Content-Type": CONTENT_TYPES[path.extname(file).toLowerCase()] ?? "application/octet-stream",
      "Cache-Control": cacheControl,
      ETag: etag,
    };
    if (req.headers["if-none-match"] === etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, "Content-Length": stats.size });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    const stream = createReadStream(file);
    stream.on("error", (err) => {
      log("warn", "app:read-failed", { file, error: err.message });
      res.destroy(err);
    });
    stream.pipe(res);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const target = req.url ?? "/";
    if (target.length > MAX_URL_LENGTH)
      return fail(res, 414, "UriTooLongError", `the request target is ${target.length} characters, over the ${MAX_URL_LENGTH} served`);
    if (req.method !== "GET" && req.method !== "HEAD")
      return fail(res, 405, "MethodNotAllowedError", `${req.method} is not served; use GET or HEAD`, { Allow: "GET, HEAD" });
    const rawPath = target.split(/[?#]/, 1)[0] as string;
    let decoded: string;
    try {
      decoded = decodeURIComponent(rawPath);
    } catch {
      return fail(res, 400, "BadPathError", "the path is not valid percent-encoding");
    }
    const why = badPath(rawPath, decoded);
    if (why !== undefined) return fail(res, 400, "BadPathError", why);

    if (decoded === "/network.json") {
      res.writeHead(200, {
        ...securityHeaders,
        "Content-Type": "application/json; charset=utf-8",
        "Content-Length": networkJson.length,
        "Cache-Control": NO_CACHE,
      });
      res.end(req.method === "HEAD" ? undefined : networkJson);
      return;
    }
    const artifact = artifactFiles[decoded];
    if (artifact !== undefined) {
      const stats = await stat(artifact).catch(() => undefined);
      if (!stats?.isFile()) return fail(res, 404, "NotFoundError", `${decoded}: the proof artifact is not installed; run 'npm install'`);
      return sendFile(req, res, artifact, stats, NO_CACHE);
    }
    // Dotfiles are never the app's (.env, .git): not served.
    if (decoded.split("/").some((segment) => segment.startsWith(".")))
      return fail(res, 404, "NotFoundError", `${decoded}: no such file in the app`);
    const found = decoded === "/" ? undefined : await fileInDist(decoded);
    if (found !== undefined) {
      const cache = decoded.startsWith("/assets/") ? IMMUTABLE : NO_CACHE;
      return sendFile(req, res, found.file, found.stats, cache);
    }
    // A route of the app (/vault, /jobs/3): the page, whose router shows it. A missing file or asset is a 404.
    const spaRoute = path.posix.extname(decoded) === "" && !decoded.startsWith("/assets/") && !decoded.startsWith("/artifacts/");
    if (spaRoute) {
      const page = await fileInDist("/index.html");
      if (page !== undefined) return sendFile(req, res, page.file, page.stats, NO_CACHE);
    }
    return fail(res, 404, "NotFoundError", `${decoded}: no such file in the app`);
  };

  // Time and connection limits, as the reducer's status port has: a slow or idle client cannot hold the server's sockets.
  // Node enforces the first two only when it checks its connections, every 30 s unless told otherwise.
  const limits = { headersTimeout: 10_000, requestTimeout: 15_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 1_000 };
  const server = createServer(limits, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      log("error", "app:request-failed", { url: req.url, error: (err as Error).message });
      if (!res.headersSent) fail(res, 500, "InternalError", "the server failed to answer; see its log");
      else res.destroy();
    });
  });
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(init.port ?? 0, init.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}/`;
  log("info", "app:listening", { url, distDir, network: network.name, chainId: network.chainId });
  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

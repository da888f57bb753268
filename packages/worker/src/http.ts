// The node's loopback HTTP port: /health (JSON), /metrics (Prometheus text format), /jobs progress and /psi (the
// hotspot check's counters), readable from the pages the operator allows (the browser app's operator screen) and from
// nothing that reaches it by DNS rebinding.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseJobLabel } from "@mosaic/protocol/job";

type Labels = Record<string, string>;

/** Counters and gauges, rendered in the Prometheus text exposition format. */
export class Metrics {
  readonly #values = new Map<string, { help: string; type: "counter" | "gauge"; series: Map<string, number> }>();

  #family(name: string, help: string, type: "counter" | "gauge") {
    let f = this.#values.get(name);
    if (f === undefined) {
      f = { help, type, series: new Map() };
      this.#values.set(name, f);
    }
    return f;
  }

  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    const series = this.#family(name, help, "counter").series;
    const key = labelText(labels);
    series.set(key, (series.get(key) ?? 0) + by);
  }

  set(name: string, help: string, labels: Labels, value: number): void {
    this.#family(name, help, "gauge").series.set(labelText(labels), value);
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, f] of this.#values) {
      lines.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      for (const [labels, value] of f.series) lines.push(`${name}${labels} ${value}`);
    }
    return `${lines.join("\n")}\n`;
  }
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`))}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

/** What the HTTP port serves. */
export interface StatusSource {
  health(): Record<string, unknown>;
  metrics(): string;
  jobs(): Record<string, unknown>[];
  job(id: string): Record<string, unknown> | undefined;
  /** The private hotspot check's counters (queries, items, refusals by reason), when the node answers any; at /psi. */
  psi?(): { sets: number; queries: number; items: number; refused: Record<string, number> } | undefined;
}

/** The longest request target served; anything longer is 414. */
const MAX_URL = 256;

/** Hosts the status port may bind: loopback only, so metrics never reach another machine by accident. */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(["127.0.0.1", "::1", "localhost"]);

/**
 * The origins whose pages may read the status port when the operator names none: the app as `mosaic app` serves it
 * by default. Any other page (every website the operator visits) gets no Access-Control-Allow-Origin, so its
 * scripts cannot read which jobs this operator serves.
 */
export const DEFAULT_STATUS_ORIGINS: readonly string[] = ["http://127.0.0.1:5173", "http://localhost:5173"];

/**
 * `value` as an origin the status port can allow (scheme, host and port; a trailing `/` is dropped), or undefined
 * when it is not one: not http(s), or with a path, query, fragment or credentials.
 */
export function statusOrigin(value: unknown): string | undefined {
  if (typeof value !== "string" || value.length > 256) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  // URL's origin is the canonical form a browser sends in Origin; anything more or different in `value` is refused.
  return value === url.origin || value === `${url.origin}/` ? url.origin : undefined;
}

/**
 * Whether a Host header names this machine's loopback: 127.0.0.1, localhost or [::1], with an optional port. A page
 * on a rebinding name (evil.example resolving to 127.0.0.1) sends its own name, and gets nothing.
 */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  return host !== undefined && /^(?:127\.0\.0\.1|localhost|\[::1\])(?::[0-9]{1,5})?$/i.test(host);
}

function send(res: ServerResponse, status: number, body: unknown, type = "application/json", extra: Record<string, string> = {}): void {
  const text =
    type === "application/json" ? `${JSON.stringify(body, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}\n` : String(body);
  res.writeHead(status, {
    "content-type": `${type}; charset=utf-8`,
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...extra,
  });
  res.end(text);
}

/**
 * Answers one request; every malformed or hostile request gets a status and a JSON error, never a crash. A Host that
 * is not loopback is 421 with no data; a GET or HEAD from an allowed Origin gets it echoed in
 * Access-Control-Allow-Origin, and every answer carries `Vary: Origin` so no cache hands one origin's answer to another.
 * @param allowOrigins - the origins (as statusOrigin gives them) whose pages may read the answers
 */
export function handleStatusRequest(
  source: StatusSource,
  req: Pick<IncomingMessage, "method" | "url" | "headers">,
  res: ServerResponse,
  allowOrigins: readonly string[] = DEFAULT_STATUS_ORIGINS,
): void {
  const vary = { vary: "Origin" };
  if (!isLoopbackHostHeader(req.headers.host)) {
    send(
      res,
      421,
      { error: "MisdirectedRequest", message: "the status port answers requests for 127.0.0.1, localhost or [::1] only" },
      "application/json",
      vary,
    );
    return;
  }
  let reply: [number, unknown, string?];
  try {
    reply = route(source, req);
  } catch (err) {
    reply = [500, { error: "InternalError", message: (err as Error).message }];
  }
  const origin = req.headers.origin;
  const readable = (req.method === "GET" || req.method === "HEAD") && origin !== undefined && allowOrigins.includes(origin);
  send(res, reply[0], reply[1], reply[2], readable ? { ...vary, "access-control-allow-origin": origin } : vary);
}

function route(source: StatusSource, req: Pick<IncomingMessage, "method" | "url">): [number, unknown, string?] {
  const url = req.url ?? "";
  if (url.length > MAX_URL) return [414, { error: "URITooLong", message: `request target over ${MAX_URL} characters` }];
  if (req.method !== "GET" && req.method !== "HEAD") return [405, { error: "MethodNotAllowed", message: "only GET is served" }];
  const pathname = url.split("?", 1)[0] as string;
  if (pathname === "/health") return [200, source.health()];
  if (pathname === "/metrics") return [200, source.metrics(), "text/plain; version=0.0.4"];
  if (pathname === "/jobs") return [200, source.jobs()];
  if (pathname === "/psi") {
    const psi = source.psi?.();
    return psi === undefined
      ? [404, { error: "NoHotspotSets", message: "this node answers no hotspot checks (no hotspotKeys in its config)" }]
      : [200, psi];
  }
  // A job by id (JobRegistry's, or SharedJobs' 39-digit ones) or by label (s1, s2, …).
  const m = /^\/jobs\/([0-9]{1,78}|s[1-9][0-9]{0,37})$/.exec(pathname);
  if (m) {
    const id = m[1] as string;
    const job = source.job((id.startsWith("s") ? parseJobLabel(id) : BigInt(id)).toString());
    return job === undefined ? [404, { error: "UnknownJob", message: `this node does not serve job ${m[1]}` }] : [200, job];
  }
  return [404, { error: "NotFound", message: "try /health, /metrics, /jobs, /jobs/<id> or /psi" }];
}

/** Options of startStatusServer. */
export interface StatusServerInit {
  /**
   * The origins whose pages may read the status (http(s) origins, no path).
   * @default DEFAULT_STATUS_ORIGINS
   */
  allowOrigins?: readonly string[];
}

/** Starts the status server on a loopback host; resolves with its URL. */
export async function startStatusServer(
  source: StatusSource,
  host: string,
  port: number,
  init: StatusServerInit = {},
): Promise<{ server: Server; url: string }> {
  if (!LOOPBACK_HOSTS.has(host))
    throw new RangeError(`http.host: ${host} is not a loopback address; the status port serves 127.0.0.1 or ::1 only`);
  const allowOrigins = (init.allowOrigins ?? DEFAULT_STATUS_ORIGINS).map((o, i) => {
    const origin = statusOrigin(o);
    if (origin === undefined)
      throw new RangeError(`http.allowOrigins[${i}]: expected an http(s) origin such as http://127.0.0.1:5173, got ${JSON.stringify(o)}`);
    return origin;
  });
  const server = createServer({ headersTimeout: 5_000, requestTimeout: 10_000, maxHeaderSize: 8 * 1024 }, (req, res) => {
    handleStatusRequest(source, req, res, allowOrigins);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return { server, url: `http://${shown}:${address.port}` };
}

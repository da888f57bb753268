// Structured logs: one JSON object per line on stderr, filtered by MOSAIC_LOG (error|warn|info|debug).

// Node's process when there is one; a browser has neither MOSAIC_LOG nor stderr, and logs to the console instead.
const nodeProcess = (globalThis as { process?: { env: Record<string, string | undefined>; stderr: { write(text: string): unknown } } })
  .process;

export type LogLevel = "error" | "warn" | "info" | "debug";
export type Logger = (level: LogLevel, event: string, fields?: Record<string, unknown>) => void;

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** A logger for one component. Quiet (warnings and errors only) unless MOSAIC_LOG says otherwise. */
export function createLogger(component: string, level: LogLevel = (nodeProcess?.env.MOSAIC_LOG as LogLevel) ?? "warn"): Logger {
  const max = RANK[level] ?? RANK.warn;
  return (lvl, event, fields = {}) => {
    if (RANK[lvl] > max) return;
    const line = JSON.stringify({ time: new Date().toISOString(), level: lvl, component, event, ...fields }, (_k, v) =>
      typeof v === "bigint" ? v.toString() : v,
    );
    if (nodeProcess === undefined) console.error(line);
    else nodeProcess.stderr.write(`${line}\n`);
  };
}

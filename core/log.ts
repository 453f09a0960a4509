/**
 * Structured logs on stderr (logfmt, or JSON with EV_LOG_FORMAT=json). Every known secret is
 * masked before a line is written, as a last line of defence behind not logging them at all.
 */

export type Level = "debug" | "info" | "warn" | "error";
const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Fields = Record<string, string | number | boolean | undefined | null>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
}

const secrets = new Set<string>();

/** Registers a value that must never appear in a log line (tokens, secrets, codes). */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) secrets.add(value);
}

export function maskSecrets(text: string): string {
  let out = text;
  for (const s of secrets) out = out.replaceAll(s, "[redacted]");
  return out;
}

export interface LoggerOptions {
  level?: Level;
  format?: "logfmt" | "json";
  write?: (line: string) => void;
  now?: () => number;
}

const encoder = new TextEncoder();

export function createLogger(options: LoggerOptions = {}, base: Fields = {}): Logger {
  const level = options.level ?? "info";
  const format = options.format ?? "logfmt";
  const write = options.write ?? ((line: string) => Deno.stderr.writeSync(encoder.encode(line)));
  const now = options.now ?? Date.now;
  const emit = (lvl: Level, msg: string, fields: Fields = {}) => {
    if (LEVELS[lvl] < LEVELS[level]) return;
    const all: Fields = { ts: new Date(now()).toISOString(), level: lvl, msg, ...base, ...fields };
    const line = format === "json" ? JSON.stringify(all) : logfmt(all);
    write(maskSecrets(line) + "\n");
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}

function logfmt(fields: Fields): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => {
      const s = String(v);
      return `${k}=${/[\s"=]/.test(s) || s === "" ? JSON.stringify(s) : s}`;
    })
    .join(" ");
}

/** Logger from EV_LOG_LEVEL / EV_LOG_FORMAT. */
export function loggerFromEnv(): Logger {
  const level = (Deno.env.get("EV_LOG_LEVEL") ?? "info") as Level;
  const format = Deno.env.get("EV_LOG_FORMAT") === "json" ? "json" : "logfmt";
  return createLogger({ level: level in LEVELS ? level : "info", format });
}

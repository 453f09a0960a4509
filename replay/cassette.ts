/**
 * The cassette format: an ordered list of recorded HTTP exchanges plus metadata.
 * Documented for people in fixtures/README.md; this file is the one definition for code.
 */
import { z } from "zod";
import { writeFileAtomically } from "../core/atomic_file.ts";

export const CASSETTE_VERSION = 1;

export const CassetteRequest = z.object({
  method: z.enum(["GET", "POST", "PUT", "DELETE"]),
  /** Path only; the fake server serves it on its own origin. */
  path: z.string().startsWith("/"),
  /** Query parameters that must match. Parameters not listed here are not compared. */
  query: z.record(z.string(), z.string()).default({}),
  /** Form or JSON body fields that must match (e.g. `grant_type`). */
  body: z.record(z.string(), z.string()).optional(),
});

export const CassetteResponse = z.object({
  status: z.number().int().min(100).max(599),
  headers: z.record(z.string(), z.string()).default({}),
  /** JSON body, stored parsed so fixtures stay readable and diffable. */
  json: z.unknown().optional(),
  /** Raw body for non-JSON or deliberately malformed answers. */
  text: z.string().optional(),
});

export const CassetteExchange = z.object({
  /** Seconds since the cassette's `startedAt`: the vehicle's timeline. */
  at: z.number().min(0),
  request: CassetteRequest,
  response: CassetteResponse,
  /** Optional note for people reading the fixture. */
  note: z.string().optional(),
});

/**
 * One MQTT message as it arrived (a streaming account: Tesla Fleet Telemetry). The topic's VIN
 * and the payload are redacted like an exchange's path and body.
 */
export const CassetteMessage = z.object({
  /** Seconds since the cassette's `startedAt`, on arrival (MQTT carries no sample time). */
  at: z.number().min(0),
  topic: z.string().min(1),
  /** The payload as text, exactly as published (Go's JSON encoding for fleet-telemetry). */
  payload: z.string(),
});

export const Cassette = z.object({
  version: z.literal(CASSETTE_VERSION),
  vendor: z.string(),
  scenario: z.string(),
  tool: z.string(),
  /** Unix seconds when the recording (or the scripted day) starts. */
  startedAt: z.number(),
  /** Seconds covered by the cassette. */
  duration: z.number().min(0),
  /** A moment (seconds from start) when the vehicle is online; `replay --once` polls there. */
  sampleAt: z.number().min(0).default(0),
  /** Free-form notes: how it was made, what was redacted. */
  description: z.string().optional(),
  exchanges: z.array(CassetteExchange),
  /** Streamed messages beside the exchanges, in arrival order (absent: none recorded). */
  messages: z.array(CassetteMessage).optional(),
});

export type CassetteRequest = z.infer<typeof CassetteRequest>;
export type CassetteResponse = z.infer<typeof CassetteResponse>;
export type CassetteExchange = z.infer<typeof CassetteExchange>;
export type CassetteMessage = z.infer<typeof CassetteMessage>;
export type Cassette = z.infer<typeof Cassette>;

/** Reads and validates a cassette, naming the file and the bad field on failure. */
export async function loadCassette(path: string): Promise<Cassette> {
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(path));
  } catch (err) {
    throw new Error(`cannot read cassette ${path}: ${(err as Error).message}`);
  }
  return parseCassette(raw, path);
}

/** Validates parsed cassette JSON; `source` names it in the error. */
export function parseCassette(raw: unknown, source: string): Cassette {
  const parsed = Cassette.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `cassette ${source} is invalid at "${issue.path.join(".")}": ${issue.message}`,
    );
  }
  return parsed.data;
}

/** Writes a cassette atomically (see writeAtomically): the file is the old or the new one. */
export async function saveCassette(path: string, cassette: Cassette): Promise<void> {
  await writeAtomically(path, JSON.stringify(Cassette.parse(cassette), null, 1) + "\n");
}

/** Writes cassette text with core's atomic write: a crash leaves the old or the new file. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  await writeFileAtomically(path, new TextEncoder().encode(text));
}

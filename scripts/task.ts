/**
 * `deno task poll|record|auth|replay|sessions|healthcheck`: `ev-observer <command>` with its
 * permissions computed from the config (app/launch.ts); fix commands it prints start with
 * `deno task`.
 */
import { main } from "./main.ts";

if (import.meta.main) await main(Deno.args, "deno task");

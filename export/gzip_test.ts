import { assertEquals, assertRejects } from "../core/testing.ts";
import { gzip } from "./gzip.ts";

const gunzip = async (bytes: Uint8Array<ArrayBuffer>) =>
  new Uint8Array(
    await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip")))
      .arrayBuffer(),
  );

Deno.test("gzip: one member of every part, in order, that a standard decoder reads back", async () => {
  const text = 'ev_battery_level_ratio{vin="…"} 0.77\n'.repeat(40_000); // > one slice
  const bytes = new TextEncoder().encode(text);
  async function* parts() {
    yield bytes.subarray(0, 1000);
    yield bytes.subarray(1000);
  }
  for (const input of [[bytes], parts()]) {
    const zipped = await gzip(input);
    assertEquals([zipped[0], zipped[1]], [0x1f, 0x8b]);
    assertEquals(new TextDecoder().decode(await gunzip(zipped)), text);
  }
});

Deno.test("gzip: a source that fails fails the gzip, with its error", async () => {
  async function* failing() {
    yield new Uint8Array(10);
    throw new Error("encoding broke");
  }
  const err = await assertRejects(() => gzip(failing()));
  assertEquals(err.message, "encoding broke");
});

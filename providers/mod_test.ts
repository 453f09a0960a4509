/** The registry: every plug-in declares its account keys, and the config holds entries to them. */
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../core/testing.ts";
import { parseConfig } from "../core/config.ts";
import { PLUGINS } from "./mod.ts";

/** The commented `accounts:` examples of config.example.yaml, uncommented. */
async function exampleAccounts(): Promise<string[]> {
  const text = await Deno.readTextFile(new URL("../config.example.yaml", import.meta.url));
  const blocks: string[] = [];
  let current: string[] | undefined;
  for (const line of text.split("\n")) {
    if (line === "# accounts:") current = ["accounts:"];
    else if (current && /^# {2,}/.test(line)) current.push(line.slice(2));
    else if (current) {
      blocks.push(current.join("\n") + "\n");
      current = undefined;
    }
  }
  return blocks;
}

Deno.test("the example accounts use only keys their plug-ins declare", async () => {
  const blocks = await exampleAccounts();
  assert(blocks.length >= 3, `${blocks.length} example blocks`);
  for (const block of blocks) {
    const config = parseConfig(block, {}, "config.example.yaml", PLUGINS);
    assert(config.accounts.length > 0, block);
  }
});

Deno.test("each vendor's own keys pass in its entries only; a typo names the closest key", () => {
  const common = ["provider", "name", "vehicles", "api_base_url", "budget", "polling"];
  for (const plugin of PLUGINS) {
    const own = plugin.accountKeys.filter((k) => !common.includes(k));
    assert(own.length > 0, plugin.id);
    for (const key of own) {
      if (key === "wake_up") continue; // Tesla's pointer to polling.wake_up, refused by its identity
      parseConfig(`accounts:\n  - provider: ${plugin.id}\n    ${key}: x\n`, {}, "c.yaml", PLUGINS);
    }
    const typo = assertThrows(() =>
      parseConfig(
        `accounts:\n  - provider: ${plugin.id}\n    vehicels: []\n`,
        {},
        "c.yaml",
        PLUGINS,
      )
    );
    assertStringIncludes(typo.message, "c.yaml is invalid");
    assertStringIncludes(
      typo.message,
      "accounts[0].vehicels: unknown key — did you mean vehicles?",
    );
  }
  const volvoOnly = assertThrows(() =>
    parseConfig("accounts:\n  - provider: tesla\n    vcc_api_key: k\n", {}, "c.yaml", PLUGINS)
  );
  assertStringIncludes(volvoOnly.message, "accounts[0].vcc_api_key: unknown key");
  assertEquals(new Set(PLUGINS.map((p) => p.id)).size, PLUGINS.length);
});

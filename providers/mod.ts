/**
 * The registry: every vendor's plug-in, one line each. The entry points find a vendor here
 * by its id and never name one themselves.
 */
import type { VendorPlugin } from "../core/plugin.ts";
import { bmwPlugin } from "./bmw/mod.ts";
import { teslaPlugin } from "./tesla/mod.ts";
import { volvoPlugin } from "./volvo/mod.ts";

export const PLUGINS: readonly VendorPlugin[] = [teslaPlugin, volvoPlugin, bmwPlugin];

/** The plug-in with this id; the error lists the known ones. */
export function vendorPlugin(id: string): VendorPlugin {
  const plugin = PLUGINS.find((p) => p.id === id);
  if (!plugin) {
    throw new Error(`unknown provider "${id}" (known: ${PLUGINS.map((p) => p.id).join(", ")})`);
  }
  return plugin;
}

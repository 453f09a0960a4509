/** What the fake Tesla API does beyond replaying bodies: honour `vehicle_data?endpoints=`. */
import type { FakeHook } from "../../replay/fake_server.ts";

const LOCATION_FIELDS = [
  "latitude",
  "longitude",
  "heading",
  "native_latitude",
  "native_longitude",
  "native_location_supported",
  "native_type",
  "gps_as_of",
  "active_route_latitude",
  "active_route_longitude",
  "active_route_destination",
];
const SECTIONS = [
  "charge_state",
  "climate_state",
  "drive_state",
  "gui_settings",
  "vehicle_config",
  "vehicle_state",
  "closures_state",
];

export const teslaFakeHook: FakeHook = {
  transformJson(request, _exchange, json) {
    if (!request.url.pathname.endsWith("/vehicle_data")) return json;
    const response = (json as { response?: unknown })?.response;
    if (!response || typeof response !== "object") return json;
    const wanted = new Set((request.url.searchParams.get("endpoints") ?? "").split(";"));
    const out: Record<string, unknown> = { ...(response as Record<string, unknown>) };
    // Like Tesla: only requested sections come back (all of them when none is named).
    if (wanted.size > 1 || !wanted.has("")) {
      for (const s of SECTIONS) if (!wanted.has(s)) delete out[s];
    }
    // Firmware 2023.38+: no GPS without `location_data`.
    if (!wanted.has("location_data") && out.drive_state && typeof out.drive_state === "object") {
      const ds = { ...(out.drive_state as Record<string, unknown>) };
      for (const f of LOCATION_FIELDS) delete ds[f];
      out.drive_state = ds;
    }
    return { ...(json as object), response: out };
  },
};

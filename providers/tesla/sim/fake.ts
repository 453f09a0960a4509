/** What the fake Tesla APIs do beyond replaying bodies: honour `vehicle_data?endpoints=`. */
import type { FakeHook } from "../../../replay/fake_server.ts";

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

/**
 * Like Tesla's `vehicle_data?endpoints=`: only the requested sections come back (all of them
 * when none is named), and no GPS without `location_data` (firmware 2023.38+).
 */
export function filterVehicleData(
  response: Record<string, unknown>,
  endpoints: string | null,
): Record<string, unknown> {
  const wanted = new Set((endpoints ?? "").split(";"));
  const out: Record<string, unknown> = { ...response };
  if (wanted.size > 1 || !wanted.has("")) {
    for (const s of SECTIONS) if (!wanted.has(s)) delete out[s];
  }
  if (!wanted.has("location_data") && out.drive_state && typeof out.drive_state === "object") {
    const ds = { ...(out.drive_state as Record<string, unknown>) };
    for (const f of LOCATION_FIELDS) delete ds[f];
    out.drive_state = ds;
  }
  return out;
}

export const teslaFakeHook: FakeHook = {
  transformJson(request, _exchange, json) {
    if (!request.url.pathname.endsWith("/vehicle_data")) return json;
    const response = (json as { response?: unknown })?.response;
    if (!response || typeof response !== "object") return json;
    const filtered = filterVehicleData(
      response as Record<string, unknown>,
      request.url.searchParams.get("endpoints"),
    );
    return { ...(json as object), response: filtered };
  },
};

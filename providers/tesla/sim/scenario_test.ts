/** The reference day: physics, timeline, shape, identity, and that the fixtures match it. */
import { assert, assertAlmostEquals, assertEquals } from "../../../core/testing.ts";
import { Cassette, loadCassette } from "../../../replay/cassette.ts";
import {
  bundledCassettes,
  DAY_START,
  DEMO_HOME,
  DEMO_ID,
  DEMO_ID_S,
  DEMO_VIN,
  DEMO_WORK,
  samplePoints,
  teslaDay,
} from "./scenario.ts";
import { vinCheckDigit } from "../../../replay/vin.ts";

const FIXTURES = new URL("../../../fixtures/", import.meta.url);
const day = teslaDay();
const hm = (h: number, m: number) => h * 3600 + m * 60;
type Json = Record<string, unknown>;
const data = (t: number) => day.vehicleDataAt(t) as Record<string, Json>;
const range = (from: number, to: number, step: number) => {
  const out: number[] = [];
  for (let t = from; t < to; t += step) out.push(t);
  return out;
};

// The field names of Tesla's vehicle_data (Fleet API, firmware 2023.44; the home-assistant
// fixture copied into the reference payloads), without media_info. Kept here so the test
// stands alone.
// deno-fmt-ignore
const REFERENCE_KEYS: Record<string, string[]> = {
  top: [
    "id", "user_id", "vehicle_id", "vin", "color", "access_type", "granular_access", "tokens",
    "state", "in_service", "id_s", "calendar_enabled", "api_version", "backseat_token",
    "backseat_token_updated_at", "ble_autopair_enrolled", "charge_state", "climate_state",
    "drive_state", "gui_settings", "vehicle_config", "vehicle_state",
  ],
  charge_state: [
    "battery_heater_on", "battery_level", "battery_range", "charge_amps", "charge_current_request",
    "charge_current_request_max", "charge_enable_request", "charge_energy_added",
    "charge_limit_soc", "charge_limit_soc_max", "charge_limit_soc_min", "charge_limit_soc_std",
    "charge_miles_added_ideal", "charge_miles_added_rated", "charge_port_cold_weather_mode",
    "charge_port_color", "charge_port_door_open", "charge_port_latch", "charge_rate",
    "charger_actual_current", "charger_phases", "charger_pilot_current", "charger_power",
    "charger_voltage", "charging_schedule_override", "charging_state", "conn_charge_cable",
    "energy_remaining", "est_battery_range", "fast_charger_brand", "fast_charger_present",
    "fast_charger_type", "ideal_battery_range", "lifetime_energy_used", "max_range_charge_counter",
    "minutes_to_full_charge", "module_temp_max", "module_temp_min", "not_enough_power_to_heat",
    "off_peak_charging_enabled", "off_peak_charging_times", "off_peak_hours_end_time",
    "preconditioning_enabled", "preconditioning_times", "scheduled_charging_mode",
    "scheduled_charging_pending", "scheduled_charging_start_time",
    "scheduled_charging_start_time_app", "scheduled_departure_time",
    "scheduled_departure_time_minutes", "supercharger_session_trip_planner", "time_to_full_charge",
    "timestamp", "trip_charging", "usable_battery_level", "user_charge_enable_request",
  ],
  climate_state: [
    "allow_cabin_overheat_protection", "auto_seat_climate_left", "auto_seat_climate_right",
    "auto_steering_wheel_heat", "battery_heater", "battery_heater_no_power",
    "cabin_overheat_protection", "cabin_overheat_protection_actively_cooling",
    "climate_keeper_mode", "cop_activation_temperature", "defrost_mode", "driver_temp_setting",
    "fan_status", "hvac_auto_request", "inside_temp", "is_auto_conditioning_on", "is_climate_on",
    "is_front_defroster_on", "is_preconditioning", "is_rear_defroster_on", "left_temp_direction",
    "max_avail_temp", "min_avail_temp", "outside_temp", "passenger_temp_setting",
    "remote_heater_control_enabled", "right_temp_direction", "seat_heater_left",
    "seat_heater_rear_center", "seat_heater_rear_left", "seat_heater_rear_right",
    "seat_heater_right", "side_mirror_heaters", "steering_wheel_heat_level",
    "steering_wheel_heater", "supports_fan_only_cabin_overheat_protection", "timestamp",
    "wiper_blade_heater",
  ],
  drive_state: [
    "active_route_destination", "active_route_latitude", "active_route_longitude",
    "active_route_miles_to_arrival", "active_route_minutes_to_arrival",
    "active_route_traffic_minutes_delay", "gps_as_of", "heading", "latitude", "longitude",
    "native_latitude", "native_location_supported", "native_longitude", "native_type", "power",
    "shift_state", "speed", "timestamp",
  ],
  gui_settings: [
    "gui_24_hour_time", "gui_charge_rate_units", "gui_distance_units", "gui_range_display",
    "gui_temperature_units", "gui_tirepressure_units", "show_range_units", "timestamp",
  ],
  vehicle_config: [
    "aux_park_lamps", "badge_version", "can_accept_navigation_requests", "can_actuate_trunks",
    "car_special_type", "car_type", "charge_port_type", "cop_user_set_temp_supported",
    "dashcam_clip_save_supported", "default_charge_to_max", "driver_assist", "ece_restrictions",
    "efficiency_package", "eu_vehicle", "exterior_color", "exterior_trim", "exterior_trim_override",
    "has_air_suspension", "has_ludicrous_mode", "has_seat_cooling", "headlamp_type",
    "interior_trim_type", "key_version", "motorized_charge_port", "paint_color_override",
    "performance_package", "plg", "pws", "rear_drive_unit", "rear_seat_heaters", "rear_seat_type",
    "rhd", "roof_color", "seat_type", "spoiler_type", "sun_roof_installed", "supports_qr_pairing",
    "third_row_seats", "timestamp", "trim_badging", "use_range_badging", "utc_offset",
    "webcam_selfie_supported", "webcam_supported", "wheel_type",
  ],
  vehicle_state: [
    "api_version", "autopark_state_v2", "calendar_supported", "car_version",
    "center_display_state", "dashcam_clip_save_available", "dashcam_state", "df", "dr",
    "fd_window", "feature_bitmask", "fp_window", "ft", "is_user_present", "locked", "media_state",
    "notifications_supported", "odometer", "parsed_calendar_supported", "pf", "pr", "rd_window",
    "remote_start", "remote_start_enabled", "remote_start_supported", "rp_window", "rt",
    "santa_mode", "sentry_mode", "sentry_mode_available", "service_mode", "service_mode_plus",
    "software_update", "speed_limit_mode", "sun_roof_state", "timestamp", "tpms_hard_warning_fl",
    "tpms_hard_warning_fr", "tpms_hard_warning_rl", "tpms_hard_warning_rr",
    "tpms_last_seen_pressure_time_fl", "tpms_last_seen_pressure_time_fr",
    "tpms_last_seen_pressure_time_rl", "tpms_last_seen_pressure_time_rr", "tpms_pressure_fl",
    "tpms_pressure_fr", "tpms_pressure_rl", "tpms_pressure_rr", "tpms_rcp_front_value",
    "tpms_rcp_rear_value", "tpms_soft_warning_fl", "tpms_soft_warning_fr", "tpms_soft_warning_rl",
    "tpms_soft_warning_rr", "valet_mode", "valet_pin_needed", "vehicle_name",
    "vehicle_self_test_progress", "vehicle_self_test_requested",
    "vehicle_state_sun_roof_percent_open", "webcam_available",
  ],
};
// deno-fmt-ignore
const SUMMARY_KEYS = [
  "id", "vehicle_id", "vin", "display_name", "color", "tokens", "state", "in_service", "id_s",
  "calendar_enabled", "api_version", "backseat_token", "backseat_token_updated_at",
];

/** Independent of scenario.ts: transliteration by position in the alphabet, per ISO 3779. */
function vinIsValid(vin: string): boolean {
  const letters = "ABCDEFGHJKLMNPRSTUVWXYZ";
  const values = [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9];
  const weights = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
  if (!/^[A-HJ-NPR-Z0-9]{17}$/.test(vin)) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const c = vin[i];
    sum += (/\d/.test(c) ? Number(c) : values[letters.indexOf(c)]) * weights[i];
  }
  const check = sum % 11 === 10 ? "X" : String(sum % 11);
  return vin[8] === check;
}

Deno.test("the demo VIN is well formed, with a valid check digit, and fake", () => {
  assertEquals(DEMO_VIN.length, 17);
  assert(DEMO_VIN.startsWith("5YJ3E1EA") && DEMO_VIN.endsWith("PF000001"), DEMO_VIN);
  assert(vinIsValid(DEMO_VIN), `${DEMO_VIN} has a wrong check digit`);
  assertEquals(vinCheckDigit(DEMO_VIN), DEMO_VIN[8]);
  // One changed character must break it.
  assert(!vinIsValid(DEMO_VIN.slice(0, 16) + "2"));
  assert(!vinIsValid(DEMO_VIN.slice(0, 8) + (DEMO_VIN[8] === "0" ? "1" : "0") + DEMO_VIN.slice(9)));
  assertEquals(String(DEMO_ID), DEMO_ID_S, "id is exact in JavaScript (below 2^53)");
  assert(Number.isSafeInteger(DEMO_ID));
});

Deno.test("vehicle_data and the summary carry exactly Tesla's field names", () => {
  const keys = (o: unknown) => Object.keys(o as Json).sort();
  const driving = data(hm(7, 50));
  assertEquals(keys(driving), [...REFERENCE_KEYS.top].sort());
  for (const s of Object.keys(REFERENCE_KEYS).filter((k) => k !== "top")) {
    assertEquals(keys(driving[s]), [...REFERENCE_KEYS[s]].sort(), s);
  }
  // Parked: no active route, like Tesla (the active_route_* fields are only sent while navigating).
  const parked = data(hm(20, 0));
  assertEquals(
    keys(parked.drive_state),
    REFERENCE_KEYS.drive_state.filter((k) => !k.startsWith("active_route_")).sort(),
  );
  assertEquals(keys(day.summaryAt(0)), [...SUMMARY_KEYS].sort());
});

Deno.test("timeline: asleep at night, online while driving, blips are fake online", () => {
  assertEquals(day.startedAt, Date.UTC(2026, 2, 10) / 1000);
  assertEquals(day.duration, 86400);
  assertEquals(day.stateAt(hm(3, 0)), "asleep");
  assertEquals(day.phaseAt(hm(3, 0)), "asleep");
  assertEquals(day.stateAt(hm(12, 30)), "offline");
  assertEquals(day.stateAt(hm(23, 30)), "asleep");
  for (const d of day.drives) {
    for (const t of range(d.start, d.end, 30)) {
      assertEquals(day.stateAt(t), "online");
      assertEquals(day.phaseAt(t), "driving");
      assertEquals(data(t).drive_state.shift_state, "D");
      assertEquals(data(t).vehicle_state.is_user_present, true);
      assertEquals(data(t).climate_state.is_climate_on, true);
    }
  }
  for (const blip of [hm(2, 10), hm(4, 40)]) {
    for (const t of range(blip, blip + 180, 30)) {
      assertEquals(day.phaseAt(t), "fake_online");
      assertEquals(day.stateAt(t), "online");
      const ds = data(t).drive_state;
      assertEquals([ds.speed, ds.shift_state, ds.power], [null, null, null]);
    }
    assertEquals(day.stateAt(blip + 180), "asleep");
  }
  // Segments tile the day with no gap or overlap.
  let at = 0;
  for (const s of day.segments) {
    assertEquals(s.start, at);
    at = s.end;
  }
  assertEquals(at, 86400);
});

Deno.test("drives: 35 and 40 minutes, mph up to about 110 km/h, regen, locked when parked", () => {
  assertEquals(day.drives.map((d) => (d.end - d.start) / 60), [35, 40]);
  assertEquals([day.drives[0].start, day.drives[1].start], [hm(7, 35), hm(17, 35)]);
  for (const d of day.drives) {
    const speeds = range(d.start, d.end, 1).map((t) => data(t).drive_state.speed as number);
    const powers = range(d.start, d.end, 1).map((t) => data(t).drive_state.power as number);
    const maxMph = Math.max(...speeds);
    assert(maxMph >= 66 && maxMph <= 72, `max ${maxMph} mph (≈ 110 km/h)`);
    assert(speeds.every((v) => Number.isInteger(v) && v >= 0));
    assert(powers.some((p) => p < 0), "some regen");
    assert(Math.max(...powers) > 20, "positive power when accelerating");
    assert(d.distanceKm > 45 && d.distanceKm < 60, `${d.distanceKm} km`);
    const kmPerPct = d.distanceKm / (d.socStart - d.socEnd);
    assert(kmPerPct > 5.8 && kmPerPct < 7, `${kmPerPct} km per %`);
    assertEquals(data(d.start - 600).vehicle_state.locked, true);
    assertEquals(data(d.start - 60).vehicle_state.locked, false);
    assertEquals(data(d.end + 600).vehicle_state.locked, true);
  }
  // GPS: from the demo home to the demo work place and back.
  const pos = (t: number) => [data(t).drive_state.latitude, data(t).drive_state.longitude];
  assertEquals(pos(hm(6, 0)), [DEMO_HOME.latitude, DEMO_HOME.longitude]);
  assertEquals(pos(hm(12, 0)), [DEMO_WORK.latitude, DEMO_WORK.longitude]);
  assertEquals(pos(hm(23, 0)), [DEMO_HOME.latitude, DEMO_HOME.longitude]);
  const mid = pos(hm(7, 50));
  assert(mid[0] !== DEMO_HOME.latitude && mid[0] !== DEMO_WORK.latitude, "moving");
});

Deno.test("odometer (miles) rises during drives only; SoC falls with it", () => {
  let prev = -Infinity;
  for (const t of range(0, 86400, 10)) {
    const odo = data(t).vehicle_state.odometer as number;
    assert(odo >= prev, `odometer went back at ${t}`);
    const driving = day.phaseAt(t) === "driving";
    if (!driving && prev !== -Infinity && day.phaseAt(t - 10) !== "driving") {
      assertEquals(odo, prev, `odometer moved while parked at ${t}`);
    }
    prev = odo;
  }
  const odo = (t: number) => data(t).vehicle_state.odometer as number;
  for (const d of day.drives) {
    assertAlmostEquals(odo(d.end) - odo(d.start), d.distanceKm / 1.609344, 0.05);
  }
  const level = (t: number) => data(t).charge_state.battery_level as number;
  assert(level(0) >= 56 && level(0) <= 58, `starts at ${level(0)} %`);
  assertEquals(level(hm(12, 0)), level(hm(8, 30)), "no drain while parked");
});

Deno.test("charging: 11 kW AC for 3.5 h from about 40 % to 80 %", () => {
  assertEquals(day.charges.length, 1);
  const c = day.charges[0];
  assertEquals(c.end - c.start, 3.5 * 3600);
  assertEquals(c.pluggedAt, hm(18, 30));
  const cs = (t: number) => data(t).charge_state;
  const states = [hm(18, 20), hm(18, 30), hm(18, 31), hm(18, 40), c.end + 60].map((t) =>
    cs(t).charging_state
  );
  assertEquals(states, ["Disconnected", "Stopped", "Starting", "Charging", "Complete"]);
  assertAlmostEquals(cs(c.start).battery_level as number, 40, 1);
  let prevSoc = -Infinity;
  let prevLevel = -Infinity;
  let prevAdded = -Infinity;
  let prevHours = Infinity;
  for (const t of range(c.start, c.end, 60)) {
    const s = cs(t);
    assertEquals(s.charging_state, "Charging");
    assertEquals(
      [s.charger_power, s.charger_actual_current, s.charger_phases, s.charge_limit_soc],
      [11, 16, 3, 80],
    );
    const v = s.charger_voltage as number;
    assert(v >= 225 && v <= 235, `${v} V`);
    assert(day.socAt(t) > prevSoc, "SoC rises");
    assert((s.battery_level as number) >= prevLevel);
    assert((s.charge_energy_added as number) >= prevAdded);
    assert((s.time_to_full_charge as number) <= prevHours);
    assertEquals(s.minutes_to_full_charge, Math.round((c.end - t) / 60));
    assert((data(t).drive_state.power as number) < 0, "power negative into the pack");
    prevSoc = day.socAt(t);
    prevLevel = s.battery_level as number;
    prevAdded = s.charge_energy_added as number;
    prevHours = s.time_to_full_charge as number;
  }
  assertAlmostEquals(cs(c.end).battery_level as number, 80, 1);
  assertAlmostEquals(cs(c.end).charge_energy_added as number, c.energyAddedKWh, 0.01);
  assertEquals(cs(hm(23, 59)).charging_state, "Complete");
  assertEquals(cs(hm(23, 59)).charge_port_latch, "Engaged");
  assertEquals(day.stateAt(hm(23, 59)), "asleep");
});

Deno.test("units: timestamps in epoch ms, gps_as_of in epoch s, pressures in bar", () => {
  for (const t of [0, hm(7, 50), hm(20, 0), 86399]) {
    const d = data(t);
    for (const s of Object.keys(REFERENCE_KEYS).filter((k) => k !== "top")) {
      assertEquals(d[s].timestamp, (DAY_START + t) * 1000, `${s}.timestamp at ${t}`);
    }
    const gps = d.drive_state.gps_as_of as number;
    assert(gps > 1.7e9 && gps < 2e9 && gps <= DAY_START + t, "gps_as_of is epoch seconds");
    for (const w of ["fl", "fr", "rl", "rr"]) {
      const p = d.vehicle_state[`tpms_pressure_${w}`] as number;
      assert(p > 2.6 && p < 3.3, `tpms ${w} ${p} bar`);
    }
  }
});

Deno.test("the day cassette samples every minute while online and answers 408 asleep", () => {
  const cassette = bundledCassettes()["tesla/day/cassette.json"];
  const data = cassette.exchanges.filter((e) => e.request.path.endsWith("/vehicle_data"));
  assertEquals(data.length, samplePoints().length);
  for (const e of data) {
    const online = day.stateAt(e.at) === "online";
    assertEquals(e.response.status, online ? 200 : 408, `at ${e.at}`);
    assertEquals(e.request.query, {});
  }
  const driving = data.filter((e) => day.phaseAt(e.at) === "driving").map((e) => e.at);
  for (let i = 1; i < driving.length; i++) {
    assert(driving[i] - driving[i - 1] <= 60 || day.phaseAt(driving[i] - 60) !== "driving");
  }
  assertEquals(
    cassette.exchanges.filter((e) => e.request.path === "/oauth2/v3/token")[0].request.body,
    { grant_type: "refresh_token" },
  );
});

Deno.test("the fixtures on disk are exactly what the scenario generates now", async () => {
  for (const [rel, generated] of Object.entries(bundledCassettes())) {
    const disk = JSON.parse(await Deno.readTextFile(new URL(rel, FIXTURES)));
    const now = JSON.parse(JSON.stringify(Cassette.parse(generated)));
    assertEquals(
      disk,
      now,
      `fixtures/${rel} is stale: run deno run --allow-read=fixtures --allow-write=fixtures scripts/fixtures.ts`,
    );
  }
  const size = (await Deno.stat(new URL("tesla/day/cassette.json", FIXTURES))).size;
  assert(size < 3_000_000, `day cassette is ${size} bytes`);
});

async function* walk(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* walk(url);
    else yield url;
  }
}

Deno.test("every bundled cassette validates against the cassette schema", async () => {
  let n = 0;
  for await (const url of walk(FIXTURES)) {
    if (!url.pathname.endsWith(".json")) continue;
    await loadCassette(url.pathname); // throws, naming file and field
    n++;
  }
  assert(n >= 8, `found ${n} cassettes`);
});

Deno.test("no fixture carries a reference identifier, a real-looking e-mail or another VIN", async () => {
  const forbidden = [
    "LRWXF7EK4KC700000",
    "LRW3F7EK4NC700000",
    "5YJSA11111111111",
    "eyJ",
    "Nikola",
    "abcdef1234567890",
    "Pixel 8 Pro",
    "30.2226",
    "97.6236",
  ];
  const referenceIds = /\b(1234567890|12345678901234567|1234)\b/;
  const email = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/;
  const vinLike = /\b[A-HJ-NPR-Z0-9]{17}\b/g;
  // The Tesla cassettes; other vendors' scenario tests check their own folders.
  for await (const url of walk(new URL("tesla/", FIXTURES))) {
    const text = await Deno.readTextFile(url);
    for (const f of forbidden) assert(!text.includes(f), `${url.pathname} contains ${f}`);
    assert(!referenceIds.test(text), `${url.pathname} contains a reference payload id`);
    assert(!email.test(text), `${url.pathname} contains an e-mail address`);
    for (const m of text.match(vinLike) ?? []) {
      if (/^\d+$/.test(m)) continue; // a number, not a VIN
      assertEquals(m, DEMO_VIN, `${url.pathname} contains a VIN other than the demo one`);
    }
  }
});

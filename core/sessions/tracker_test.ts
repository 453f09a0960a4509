/**
 * Session detection on scripted readings: what splits a drive or a charge and what does
 * not, the figures of each, and the counters they move.
 */
import { assert, assertAlmostEquals, assertEquals } from "../testing.ts";
import { type Reading, rig, T0, VEHICLE } from "./testdata/rig.ts";

/** A drive every minute from `from` to `to`: speed 50 km/h, 1 km and 0.15 kWh a minute. */
function driveMinutes(
  r: ReturnType<typeof rig>,
  from: number,
  to: number,
  start: { km: number; kwh: number },
  extra: Reading = {},
) {
  for (let m = from; m <= to; m++) {
    const k = m - from;
    r.at(m, { drive: true, speed: 50, km: start.km + k, kwh: start.kwh - 0.15 * k, ...extra });
  }
  return { km: start.km + (to - from), kwh: start.kwh - 0.15 * (to - from) };
}

Deno.test("sessions: a stop at a light does not split a drive; parking past the gap does", () => {
  const r = rig({ stop_gap_s: 600, parked_min_s: 0 });
  r.at(0, { km: 1000, kwh: 60, soc: 80 });
  let pos = driveMinutes(r, 5, 20, { km: 1000, kwh: 60 });
  // Shifted to park for 3 minutes (a long light, a drive-through): the same drive.
  r.at(21, { ...pos, speed: 0 });
  r.at(24, { ...pos, speed: 0 });
  pos = driveMinutes(r, 25, 40, pos);
  r.at(41, { ...pos, speed: 0, outside: 5 });
  assertEquals(r.sessions("drive"), [], "not over until the gap has passed");
  r.idle(52);
  const [drive] = r.sessions("drive");
  assert(drive, "one drive after the gap");
  assertEquals(r.sessions("drive").length, 1);
  assertEquals(drive.start_ms, (T0 + 5 * 60) * 1000);
  assertEquals(drive.end_ms, (T0 + 41 * 60) * 1000);
  assertEquals(drive.distance_km, 30);
  assertAlmostEquals(drive.energy_used_kwh!, 4.5, 1e-9);
  assertEquals(drive.energy_method, "vendor");
  assertEquals(drive.efficiency_wh_per_km, 150);
  assertEquals(drive.speed_max_kmh, 50);
  assertEquals(drive.speed_avg_kmh, 50);
  // A second drive after a stop longer than the gap, and the parked period between.
  driveMinutes(r, 60, 70, pos);
  r.at(71, { km: pos.km + 10, kwh: pos.kwh - 1.5 });
  r.idle(90);
  assertEquals(r.sessions("drive").length, 2);
  const [parked] = r.sessions("parked").filter((s) => s.start_ms === drive.end_ms);
  assert(parked, "parked between the drives");
  assertEquals(parked.end_ms, (T0 + 60 * 60) * 1000);
  assertEquals(r.counter("ev.drives"), 2);
  assertEquals(r.counter("ev.drive.distance"), 40_000);
});

Deno.test("sessions: a car that sleeps mid-charge gives one charge; unplugging ends it", () => {
  const r = rig({ charge_gap_s: 1800 });
  r.at(0, { km: 500, soc: 30, charging: "disconnected", added: 12 });
  r.at(1, { km: 500, soc: 30, charging: "stopped", added: 0, kw: 0 });
  for (let m = 2; m <= 60; m++) {
    r.at(m, {
      km: 500,
      soc: 30 + (m - 2) * 0.2,
      charging: "charging",
      kw: 11,
      added: (m - 2) * 0.15,
      type: "ac",
    });
  }
  // Asleep (or out of reach) for two hours: no reading says it stopped.
  r.asleep(70);
  r.idle(150);
  assertEquals(r.sessions("charge"), [], "asleep is no end");
  for (let m = 181; m <= 200; m++) {
    r.at(m, {
      km: 500,
      soc: 41.6 + (m - 181) * 0.2,
      charging: "charging",
      kw: 11,
      added: 8.7 + (m - 181) * 0.15,
      type: "ac",
    });
  }
  r.at(201, { km: 500, soc: 45.6, charging: "stopped", kw: 0, added: 11.7 });
  r.at(205, { km: 500, soc: 45.6, charging: "disconnected", plugged: false, added: 11.7 });
  assertEquals(r.sessions("charge"), [], "figures may still arrive for 5 minutes");
  r.idle(210);
  const charges = r.sessions("charge");
  assertEquals(charges.length, 1);
  const [c] = charges;
  assertEquals(c.start_ms, (T0 + 2 * 60) * 1000);
  assertEquals(c.end_ms, (T0 + 201 * 60) * 1000);
  assertEquals(c.energy_added_kwh, 11.7);
  assertEquals(c.energy_method, "vendor");
  assertEquals(c.soc_start_pct, 30);
  assertEquals(c.soc_end_pct, 45.6);
  assertEquals(c.charger_type, "ac");
  assertEquals(c.power_max_kw, 11);
  assertEquals(c.capacity_estimate_kwh, 75, "11.7 kWh over 15.6 %");
  assertEquals(r.counter("ev.charges", { type: "ac" }), 1);
  assertAlmostEquals(r.counter("ev.charge.energy_added", { type: "ac" }), 11.7 * 3.6e6, 1e-3);
});

Deno.test("sessions: a charge paused past the gap is two; complete ends one 5 minutes on", () => {
  const r = rig({ charge_gap_s: 1800, parked_min_s: 0 });
  r.at(0, { soc: 50, charging: "stopped", added: 0 });
  r.at(1, { soc: 50, charging: "charging", kw: 7, added: 0 });
  r.at(30, { soc: 55, charging: "charging", kw: 7, added: 3.5 });
  r.at(31, { soc: 55, charging: "stopped", kw: 0, added: 3.5 });
  r.at(100, { soc: 55, charging: "charging", kw: 7, added: 3.5 });
  r.at(130, { soc: 60, charging: "charging", kw: 7, added: 7 });
  r.at(131, { soc: 60, charging: "complete", kw: 0, added: 7 });
  r.idle(136);
  const charges = r.sessions("charge");
  assertEquals(charges.map((c) => c.energy_added_kwh), [3.5, 3.5]);
  assertEquals(charges[1].end_ms, (T0 + 131 * 60) * 1000, "it ended when it said complete");
  assertEquals(charges[0].charger_type, null, "no type read");
});

Deno.test("sessions: a counter reported after complete counts to that charge (streamed fields)", () => {
  const r = rig({ charge_gap_s: 1800, parked_min_s: 0 });
  r.at(0, { soc: 50, charging: "stopped", added: 0 });
  r.at(1, { soc: 50, charging: "charging", kw: 7, added: 0 });
  r.at(30, { soc: 55, charging: "charging", kw: 7, added: 3 });
  // The charge state arrives at once, the counter's last step with its next report.
  r.at(31, { soc: 55.5, charging: "complete", kw: 0, added: 3 });
  r.at(33, { soc: 55.5, charging: "complete", kw: 0, added: 3.5 });
  // Later than that, it is no charge of its own either: the state of charge did not rise.
  r.at(40, { soc: 55.5, charging: "complete", kw: 0, added: 3.7 });
  r.idle(120);
  assertEquals(r.sessions("charge").map((c) => c.energy_added_kwh), [3.5]);
  // A charge while plugged in after complete (the state of charge rose) still counts.
  r.at(200, { soc: 60, charging: "complete", kw: 0, added: 7 });
  r.idle(300);
  assertEquals(r.sessions("charge").map((c) => c.energy_added_kwh), [3.5, 3.3]);
});

Deno.test("sessions: a quick charge on the way stays inside one drive, its energy added back", () => {
  const r = rig({ stop_gap_s: 1200, parked_min_s: 0 });
  r.at(0, { km: 100, kwh: 30, soc: 40 });
  let pos = driveMinutes(r, 1, 60, { km: 100, kwh: 30 });
  // 15 minutes at a DC charger: 20 kWh in.
  r.at(61, { km: pos.km, kwh: pos.kwh, charging: "stopped", added: 0 });
  for (let m = 62; m <= 75; m++) {
    const added = (m - 61) * 20 / 14;
    r.at(m, { km: pos.km, kwh: pos.kwh + added, charging: "charging", kw: 90, added, type: "dc" });
  }
  pos = { km: pos.km, kwh: pos.kwh + 20 };
  r.at(76, { km: pos.km, kwh: pos.kwh, charging: "stopped", added: 20 });
  pos = driveMinutes(r, 78, 100, pos);
  r.at(101, { km: pos.km, kwh: pos.kwh });
  r.idle(140);
  const drives = r.sessions("drive");
  assertEquals(drives.length, 1, "the charging stop did not split the drive");
  assertEquals(drives[0].distance_km, 81);
  assertAlmostEquals(drives[0].energy_used_kwh!, 0.15 * 81, 1e-9);
  const charges = r.sessions("charge");
  assertEquals(charges.length, 1);
  assertEquals(charges[0].charger_type, "dc");
  assertAlmostEquals(charges[0].energy_added_kwh!, 20, 1e-9);
});

Deno.test("sessions: without the vendor's energy, energy is SoC × usable capacity, and says so", () => {
  const r = rig({ stop_gap_s: 300, vehicles: [{ vin: VEHICLE.vin, usable_kwh: 60 }] });
  r.at(0, { km: 10, soc: 80, capacityKwh: 75 });
  for (let m = 1; m <= 30; m++) r.at(m, { drive: true, km: 10 + m, soc: 80 - m * 0.25 });
  r.at(31, { km: 40, soc: 72.5 });
  r.idle(40);
  const [drive] = r.sessions("drive");
  assertEquals(drive.energy_method, "soc");
  assertEquals(drive.capacity_kwh, 60, "the configured usable capacity wins over the stated 75");
  assertAlmostEquals(drive.energy_used_kwh!, 0.075 * 60, 1e-9);
});

Deno.test("sessions: a counter that restarts mid-charge (plugged in again) is rebased, not lost", () => {
  const r = rig({ charge_gap_s: 1800 });
  r.at(0, { soc: 20, charging: "stopped", added: 0 });
  r.at(1, { soc: 20, charging: "charging", kw: 11, added: 0 });
  r.at(20, { soc: 25, charging: "charging", kw: 11, added: 3 });
  // Cable re-seated: the counter starts again from zero, the car never reads "disconnected".
  r.at(21, { soc: 25, charging: "charging", kw: 11, added: 0.5 });
  r.at(40, { soc: 30, charging: "charging", kw: 11, added: 4 });
  r.at(41, { soc: 30, charging: "complete", kw: 0, added: 4 });
  r.idle(46);
  const [c] = r.sessions("charge");
  assertEquals(c.energy_added_kwh, 7);
});

Deno.test("sessions: a charge no reading showed is pieced together from the counter around it", () => {
  const r = rig({ stop_gap_s: 1800, parked_min_s: 0 });
  r.at(0, { km: 100, kwh: 30, soc: 40, added: 5 });
  let pos = driveMinutes(r, 1, 30, { km: 100, kwh: 30 }, { added: 5 });
  r.at(31, { ...pos, added: 5 });
  // The poller let the car sleep 25 minutes: it fast-charged 18 kWh meanwhile, unseen.
  pos = { km: pos.km, kwh: pos.kwh + 18 };
  pos = driveMinutes(r, 56, 70, pos, { added: 18, plugged: false });
  r.at(71, { ...pos, added: 18 });
  r.idle(120);
  const [charge] = r.sessions("charge");
  assert(charge, "the charge is recorded");
  assertEquals(charge.energy_added_kwh, 18);
  assertEquals(charge.readings, 0, "no reading of its own");
  assertEquals(charge.capacity_estimate_kwh, null, "too little known to estimate a capacity");
  const drives = r.sessions("drive");
  assertEquals(drives.length, 1, "the stop did not split the drive");
  assertEquals(drives[0].distance_km, 43);
  assertAlmostEquals(drives[0].energy_used_kwh!, 0.15 * 43, 1e-9, "the charge is added back");
});

Deno.test("sessions: a drive first seen under way uses the last odometer and its own rate", () => {
  const r = rig({ stop_gap_s: 600, parked_min_s: 0 });
  r.at(0, { km: 100, kwh: 50, soc: 64 });
  r.asleep(5);
  // Seen only 10 km in (the poller was letting it sleep): 1.5 kWh already used.
  for (let m = 130; m <= 160; m++) {
    const k = m - 120;
    r.at(m, { drive: true, speed: 60, km: 100 + k, kwh: 50 - 0.15 * k });
  }
  r.at(161, { km: 140, kwh: 44 });
  r.idle(200);
  const [drive] = r.sessions("drive");
  assertEquals(drive.distance_km, 40);
  assertAlmostEquals(drive.energy_used_kwh!, 6, 1e-9);
  const [parked] = r.sessions("parked");
  assertAlmostEquals(parked.energy_lost_kwh!, 0, 1e-9, "the drive's energy is not drain");
  assertEquals(parked.end_ms, drive.start_ms);
});

Deno.test("sessions: place names and coordinates with location on, neither without it", () => {
  const places = [
    { name: "home", latitude: 52, longitude: 4 },
    { name: "work", latitude: 52.33, longitude: 3.475 },
  ];
  const drive = (location: boolean) => {
    const r = rig({ stop_gap_s: 300, places }, undefined, location);
    r.at(0, { km: 10, kwh: 50, lat: 52.0003, lon: 4.0002 });
    for (let m = 1; m <= 30; m++) {
      r.at(m, {
        drive: true,
        km: 10 + m,
        kwh: 50 - m * 0.15,
        lat: 52 + m * 0.011,
        lon: 4 - m * 0.0175,
      });
    }
    r.at(31, { km: 40, kwh: 45.5, lat: 52.3301, lon: 3.4751 });
    r.idle(40);
    return r.sessions("drive")[0];
  };
  const on = drive(true);
  assertEquals([on.start_place, on.end_place], ["home", "work"]);
  assertEquals([on.end_latitude, on.end_longitude], [52.3301, 3.4751]);
  const off = drive(false);
  assertEquals([off.start_place, off.end_place, off.start_latitude, off.end_longitude], [
    null,
    null,
    null,
    null,
  ]);
});

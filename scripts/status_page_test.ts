/**
 * The status page in a real browser (Debian's Chromium, headless): fed by a replay of the day
 * through the same wiring as `deno task replay`, it shows the vehicle with the right state of
 * charge, draws the 24-hour chart, refreshes itself and logs no console errors. Screenshots
 * land in test-output/ for a person to look at.
 */
import { chromium } from "playwright-core";
import { VirtualClock } from "../core/clock.ts";
import { parseConfig } from "../core/config.ts";
import { createLogger } from "../core/log.ts";
import { Readings } from "../core/readings.ts";
import { assert, assertEquals, assertStringIncludes } from "../core/testing.ts";
import type { Snapshot, VehicleRef } from "../core/snapshot.ts";
import type { AccountStatus } from "../export/status.ts";
import { teslaDay } from "../providers/tesla/sim/scenario.ts";
import { loadCassette } from "../replay/cassette.ts";
import { playUntil, startReplay } from "../app/replay_session.ts";
import { startExports } from "../app/exports.ts";
import { freeLoopbackPort, projectRoot } from "./testing_task.ts";

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--headless",
  "--disable-gpu",
  "--disable-background-networking",
  "--no-first-run",
  "--disable-quic",
  "--disable-component-update",
  "--disable-sync",
];

Deno.test({
  name: "status page in Chromium: right state of charge, chart drawn, self-refresh, no errors",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const day = teslaDay();
    const cassette = await loadCassette(`${projectRoot}fixtures/tesla/day/cassette.json`);
    const clock = new VirtualClock(cassette.startedAt * 1000, 0);
    const readings = new Readings();
    const log = createLogger({ write: () => {} });
    const listen = `127.0.0.1:${freeLoopbackPort()}`;
    const exports = await startExports(parseConfig(""), readings, log, listen, {
      now: () => clock.now(),
      mode: "replay of tesla/day",
    });
    const session = await startReplay({
      cassettes: [cassette],
      clock,
      readings,
      log,
      location: false,
    });
    const play = (at: number) =>
      playUntil(session, { clock, readings, log, origin: cassette.startedAt, at });
    /** The state of charge the scenario had at the vehicle's newest sample. */
    const expectedSoc = () => {
      const entry = [...readings.vehicles.values()][0];
      const data = day.vehicleDataAt(entry.lastSampleAt! - day.startedAt) as {
        charge_state: { battery_level: number };
      };
      return data.charge_state.battery_level / 100;
    };

    const browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: CHROMIUM_ARGS,
    });
    const errors: string[] = [];
    try {
      await play(20 * 3600); // charging in the evening, a day of history behind
      const soc = expectedSoc();
      const page = await browser.newPage({ viewport: { width: 800, height: 520 } });
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(exports.url);

      const cards = page.locator("article.vehicle");
      assertEquals(await cards.count(), session.targets.length, "one card per vehicle");
      const card = page.locator(`article.vehicle[data-vehicle="tesla/${day.vin.slice(-6)}"]`);
      assertEquals(Number(await card.locator(".soc").getAttribute("data-soc")), soc);
      assertEquals(await card.locator(".soc").textContent(), `${Math.round(soc * 100)} %`);
      assertEquals(await card.locator(".state").textContent(), "charging");
      const d = await card.locator("svg.chart path.soc-line").getAttribute("d") ?? "";
      const points = d.match(/[ML][\d.]+ [\d.]+/g) ?? [];
      // One point a minute with a full read: the two drives and the charge so far.
      assert(points.length >= 80, `the chart has a day of points: ${points.length}`);
      const box = await card.locator("svg.chart").boundingBox();
      assert(box && box.width > 200 && box.height > 50, "the chart is visible");
      assert(!(await page.content()).includes(day.vin), "no full VIN on the page");

      await Deno.mkdir(`${projectRoot}test-output`, { recursive: true });
      const shot = `${projectRoot}test-output/status-page.png`;
      await page.screenshot({ path: shot, fullPage: true });
      const docs = `${projectRoot}docs/status-page.png`;
      if (Deno.env.get("UPDATE_GOLDEN") || !(await Deno.stat(docs).catch(() => undefined))) {
        await Deno.mkdir(`${projectRoot}docs`, { recursive: true });
        await Deno.copyFile(shot, docs);
      }

      // An hour later the page updates itself from /status.json, without a reload.
      await play(21 * 3600);
      const later = expectedSoc();
      assert(later > soc, "still charging");
      // Browser-side code as text: Deno type-checks this file without the DOM library.
      await page.waitForFunction(
        `document.querySelector(".soc")?.getAttribute("data-soc") === "${later}"`,
        undefined,
        { timeout: 15_000 },
      );
      assert(
        /^updated /.test(await page.locator("#updated").textContent() ?? ""),
        "the page says when it refreshed",
      );

      const phone = await browser.newPage({
        viewport: { width: 390, height: 844 },
        deviceScaleFactor: 2,
      });
      phone.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      await phone.goto(exports.url);
      const width = await phone.evaluate<number>("document.documentElement.scrollWidth");
      assert(width <= 390, `no sideways scrolling on a phone: ${width}px`);
      await phone.screenshot({ path: `${projectRoot}test-output/status-page-phone.png` });
      assertEquals(errors, [], "no console errors");
    } finally {
      await browser.close();
      await session.shutdown();
      await exports.close();
    }
  },
});

/** A replayed snapshot moved in time, under another vehicle (a card of its own). */
function moved(s: Snapshot, vehicle: VehicleRef, by: number, name: string): Snapshot {
  return { ...s, vehicle, sampledAt: s.sampledAt + by, info: { ...s.info, name } };
}

interface Card {
  readonly name: string;
  /** Play the day to this time (seconds into it); the card's last sample is then `ageS` old. */
  readonly until: number;
  readonly ageS: number;
  readonly state?: "asleep" | "offline" | "unknown";
  readonly pollState?: string;
  readonly token?: string;
  /** What the card must say. */
  readonly pill: string;
  readonly notice?: RegExp;
}

const DRIVE = 7 * 3600 + 50 * 60;
const CHARGE = 20 * 3600;
const CARDS: Card[] = [
  { name: "Asleep", until: 23 * 3600, ageS: 5 * 3600, state: "asleep", pill: "asleep" },
  { name: "Driving", until: DRIVE, ageS: 20, pill: "driving" },
  { name: "Charging", until: CHARGE, ageS: 60, pill: "charging" },
  {
    name: "Sign-in needed",
    until: 12 * 3600,
    ageS: 9 * 3600,
    state: "unknown",
    pollState: "sign_in_needed",
    token: "sign_in_needed",
    pill: "unknown",
    notice: /^Sign-in needed: run deno task auth tesla --account home/,
  },
  {
    name: "Rate-limited",
    until: CHARGE,
    ageS: 1800,
    state: "asleep",
    pollState: "rate_limited",
    pill: "asleep",
    notice: /^Rate-limited by tesla/,
  },
  {
    name: "Error",
    until: DRIVE + 1800,
    ageS: 600,
    state: "offline",
    pollState: "backing_off",
    pill: "offline",
    notice: /answered with errors/,
  },
];

Deno.test({
  name: "status page in Chromium: every state an owner meets, metric and imperial, at 375 px",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // The replayed day's readings, kept as they came.
    const cassette = await loadCassette(`${projectRoot}fixtures/tesla/day/cassette.json`);
    const clock = new VirtualClock(cassette.startedAt * 1000, 0);
    const source = new Readings();
    const log = createLogger({ write: () => {} });
    const session = await startReplay({
      cassettes: [cassette],
      clock,
      readings: source,
      log,
      location: false,
    });
    const seen: Snapshot[] = [];
    source.onSnapshot((s) => seen.push(s));
    try {
      await playUntil(session, {
        clock,
        readings: source,
        log,
        origin: cassette.startedAt,
        at: 23 * 3600,
      });
    } finally {
      await session.shutdown();
    }
    const now = cassette.startedAt + 86_400;

    // One card per state: the day up to its moment, moved so its last sample is ageS old.
    const readings = new Readings();
    const accounts = new Map<string, AccountStatus>();
    const vehicles = CARDS.map((card, i) => {
      const vin = `5YJ3E1EA9PF10000${i}`;
      const vehicle: VehicleRef = { provider: "tesla", id: String(i), vin };
      const until = cassette.startedAt + card.until;
      const day = seen.filter((s) => s.sampledAt <= until);
      const by = now - card.ageS - day.at(-1)!.sampledAt;
      return { card, vehicle, snapshots: day.map((s) => moved(s, vehicle, by, card.name)) };
    });
    const serve = async (units: string) => {
      const config = parseConfig(`units: ${units}`);
      const exports = await startExports(config, readings, log, `127.0.0.1:${freeLoopbackPort()}`, {
        now: () => now * 1000,
        account: (v) => accounts.get(v.vin),
      });
      return exports;
    };
    const metric = await serve("metric");
    for (const { card, vehicle, snapshots } of vehicles) {
      for (const s of snapshots) readings.record(s);
      if (card.state) readings.setState(vehicle, card.state);
      if (card.pollState) readings.setPollState(vehicle, card.pollState);
      accounts.set(vehicle.vin, {
        token: card.token ? { state: card.token } : { state: "ok", expiresAt: now + 6 * 3600 },
        today: { requests: 40 + vehicle.vin.length, limit: 500, billable: 40 },
        pollState: card.pollState ?? readings.vehicles.get(`tesla/${vehicle.vin}`)?.pollState,
        signIn: "deno task auth tesla --account home",
      });
    }
    const imperial = await serve("imperial");

    const browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: CHROMIUM_ARGS,
    });
    const errors: string[] = [];
    const open = async (url: string, width: number, height: number) => {
      const page = await browser.newPage({ viewport: { width, height } });
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(url);
      return page;
    };
    try {
      const page = await open(metric.url, 1200, 900);
      for (const { card, vehicle, snapshots } of vehicles) {
        const el = page.locator(`article.vehicle[data-vehicle="tesla/${vehicle.vin.slice(-6)}"]`);
        const last = snapshots.at(-1)!;
        const soc = last.samples.find((x) => x.metric === "ev.battery.level")!.value;
        assertEquals(await el.locator(".state").textContent(), card.pill, card.name);
        assertEquals(
          await el.locator(".soc").textContent(),
          `${Math.round(soc * 100)} %`,
          `${card.name}: the last known charge`,
        );
        const notices = await el.locator(".notice").allTextContents();
        if (card.notice) assert(card.notice.test(notices[0] ?? ""), `${card.name}: ${notices}`);
        else assertEquals(notices, [], card.name);
        // Not live: the age is said next to the charge.
        const known = await el.locator(".known").count();
        assertEquals(known, card.state ? 1 : 0, `${card.name}: "as of" marker`);
        const text = await el.textContent() ?? "";
        for (const label of ["Range", "Security", "Temperature", "Odometer", "Tyres", "Software"]) {
          assertStringIncludes(text, label, `${card.name}: ${label}`);
        }
        // Axes: percentages and clock times.
        assertEquals(await el.locator(".yaxis span").allTextContents(), ["100 %", "50 %", "0 %"]);
        const hours = await el.locator(".xaxis span").allTextContents();
        assert(hours.length >= 3 && hours.at(-1) === "now", `${card.name}: ${hours}`);
        assert(hours.slice(0, -1).every((h) => /^\d\d:00$/.test(h)), `${hours}`);
      }
      const card = (name: string) => {
        const { vehicle } = vehicles.find((v) => v.card.name === name)!;
        return page.locator(`article.vehicle[data-vehicle="tesla/${vehicle.vin.slice(-6)}"]`);
      };
      const charging = card("Charging");
      assert(await charging.locator("svg.chart rect.charge").count() >= 1, "charging shaded");
      const chargeText = await charging.textContent() ?? "";
      assert(/\d+\.\d kW · \d+ h \d\d min to full · \+\d+\.\d kWh this charge/.test(chargeText));
      assertStringIncludes(chargeText, "km");
      assertStringIncludes(chargeText, "°C");
      assertStringIncludes(chargeText, " bar");
      const driving = card("Driving");
      assert(/Speed\d+ km\/h/.test(await driving.textContent() ?? ""), "speed while driving");
      assert(!(await page.content()).includes("5YJ3E1EA9PF1"), "no full VIN on the page");
      await page.screenshot({ path: `${projectRoot}test-output/status-page-states.png` });
      const docs = `${projectRoot}docs/status-page-states.png`;
      if (Deno.env.get("UPDATE_GOLDEN") || !(await Deno.stat(docs).catch(() => undefined))) {
        await Deno.copyFile(`${projectRoot}test-output/status-page-states.png`, docs);
      }

      // Imperial: miles, Fahrenheit, psi, mph.
      const us = await open(imperial.url, 1200, 900);
      const usText = await us.locator("#vehicles").textContent() ?? "";
      for (const unit of [" mi", "°F", " psi", " mph"]) assertStringIncludes(usText, unit);
      for (const unit of [" km", "°C", " bar", "km/h"]) {
        assert(!usText.includes(unit), `imperial page shows ${unit}`);
      }

      // A phone at 375 px: one column, nothing wider than the screen.
      const phone = await open(metric.url, 375, 812);
      const width = await phone.evaluate<number>("document.documentElement.scrollWidth");
      assert(width <= 375, `no sideways scrolling at 375 px: ${width}px`);
      await phone.screenshot({
        path: `${projectRoot}test-output/status-page-375.png`,
        fullPage: true,
      });
      assertEquals(errors, [], "no console errors");
    } finally {
      await browser.close();
      await metric.close();
      await imperial.close();
    }
  },
});

Deno.test({
  name: "status page in Chromium: the streamed BMW day shows its car, unchanged page",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const cassette = await loadCassette(`${projectRoot}fixtures/bmw/i4-day/cassette.json`);
    const clock = new VirtualClock(cassette.startedAt * 1000, 0);
    const readings = new Readings();
    const log = createLogger({ write: () => {} });
    const listen = `127.0.0.1:${freeLoopbackPort()}`;
    const exports = await startExports(parseConfig(""), readings, log, listen, {
      now: () => clock.now(),
      mode: "replay of bmw/i4-day",
    });
    const session = await startReplay({
      cassettes: [cassette],
      clock,
      readings,
      log,
      location: false,
    });
    const browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: CHROMIUM_ARGS,
    });
    const errors: string[] = [];
    try {
      await session.connectStreams();
      // 19:30: charging at home on AC, the stream's newest message the car's state.
      const at = cassette.startedAt + 19.5 * 3600;
      clock.advance(at * 1000 - clock.now());
      await session.publishUntil(at);
      const last = cassette.messages!.filter((m) => m.at <= at - cassette.startedAt).at(-1)!;
      const soc = JSON.parse(last.payload).data["vehicle.drivetrain.batteryManagement.header"];
      const vin = session.targets[0].vehicle.vin;
      const deadline = Date.now() + 10_000;
      while (
        readings.vehicles.get(`bmw/${vin}`)?.snapshot?.samples.find((s) =>
          s.metric === "ev.battery.level"
        )?.value !== Number(soc.value) / 100
      ) {
        assert(Date.now() < deadline, "the streamed state of charge arrives");
        await new Promise((r) => setTimeout(r, 10));
      }
      const page = await browser.newPage({ viewport: { width: 800, height: 520 } });
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(exports.url);
      const card = page.locator(`article.vehicle[data-vehicle="bmw/${vin.slice(-6)}"]`);
      assertEquals(await card.count(), 1, "the BMW has its card");
      assertEquals(await card.locator(".soc").textContent(), `${Math.round(Number(soc.value))} %`);
      assertEquals(await card.locator(".state").textContent(), "charging");
      assert(!(await page.content()).includes(vin), "no full VIN on the page");
      await Deno.mkdir(`${projectRoot}test-output`, { recursive: true });
      await page.screenshot({ path: `${projectRoot}test-output/status-page-bmw.png` });
      assertEquals(errors, [], "no console errors");
    } finally {
      await browser.close();
      await session.shutdown();
      await exports.close();
    }
  },
});

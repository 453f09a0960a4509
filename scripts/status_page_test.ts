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
import { assert, assertEquals } from "../core/testing.ts";
import { teslaDay } from "../providers/tesla/sim/scenario.ts";
import { loadCassette } from "../replay/cassette.ts";
import { playUntil, startReplay } from "../app/replay_session.ts";
import { startExports } from "../app/exports.ts";
import { freePort, projectRoot } from "./testing_task.ts";

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
    const exports = await startExports(parseConfig(""), readings, log, `127.0.0.1:${freePort()}`, {
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

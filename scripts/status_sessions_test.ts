/**
 * The status page lists the last drives and charges, in a real browser (Debian's Chromium,
 * headless), fed by a replay of the day through the same wiring as `deno task replay`; a
 * charge that ends while the page is open appears without a reload.
 */
import { chromium } from "playwright-core";
import { VirtualClock } from "../core/clock.ts";
import { parseConfig } from "../core/config.ts";
import { createLogger } from "../core/log.ts";
import { Readings } from "../core/readings.ts";
import { assert, assertEquals, assertMatch } from "../core/testing.ts";
import { teslaDay } from "../providers/tesla/sim/scenario.ts";
import { loadCassette } from "../replay/cassette.ts";
import { playUntil, startReplay } from "../app/replay_session.ts";
import { startExports } from "../app/exports.ts";
import { startSessions } from "../app/sessions.ts";
import { freeLoopbackPort, projectRoot } from "./testing_task.ts";

Deno.test({
  name: "status page in Chromium: the last drives and charges, a new one without a reload",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const day = teslaDay();
    const cassette = await loadCassette(`${projectRoot}fixtures/tesla/day/cassette.json`);
    const clock = new VirtualClock(cassette.startedAt * 1000, 0);
    const readings = new Readings();
    const log = createLogger({ write: () => {} });
    const config = parseConfig("sessions: { currency: EUR, tariff: { price_per_kwh: 0.25 } }");
    const sessions = await startSessions(config, { readings, clock, log, path: ":memory:" });
    const exports = await startExports(config, readings, log, `127.0.0.1:${freeLoopbackPort()}`, {
      now: () => clock.now(),
      mode: "replay of tesla/day",
      sessions,
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
    const browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--headless",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
      ],
    });
    const errors: string[] = [];
    try {
      await play(20 * 3600); // both drives done, charging
      const page = await browser.newPage({ viewport: { width: 800, height: 700 } });
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(exports.url);
      const card = page.locator(`article.vehicle[data-vehicle="tesla/${day.vin.slice(-6)}"]`);
      const lines = card.locator("ul.sessions li");
      assertEquals(await lines.count(), 2, "the two drives");
      const evening = await lines.nth(0).textContent() ?? "";
      assertMatch(
        evening,
        /^drive · \d+ h ago · 40 min · 52\.5 km · 6\.4 kWh · 122 Wh\/km · 48→40 %$/,
      );
      assertEquals(await card.locator("li.session-charge").count(), 0, "the charge is not over");

      // The charge completes at 22:02; the open page shows it at its next refresh.
      await play(23 * 3600);
      await page.waitForFunction(
        `document.querySelectorAll("li.session-charge").length === 1`,
        undefined,
        { timeout: 15_000 },
      );
      const charge = await card.locator("li.session-charge").textContent() ?? "";
      assertMatch(
        charge,
        /^charge ac · \d+ min ago · 3 h · \+31\.2 kWh · 40→80 % · \d+\.\d\d EUR$/,
      );
      assert(!(await page.content()).includes(day.vin), "no full VIN on the page");
      await Deno.mkdir(`${projectRoot}test-output`, { recursive: true });
      await page.screenshot({
        path: `${projectRoot}test-output/status-page-sessions.png`,
        fullPage: true,
      });
      assertEquals(errors, [], "no console errors");
    } finally {
      await browser.close();
      await session.shutdown();
      await exports.close();
      await sessions?.close();
    }
  },
});

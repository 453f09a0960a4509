/**
 * The status page at `/`: one self-contained HTML document (inline CSS, script and SVG; no
 * CDN, no web fonts) that works offline and on a phone. The server renders it once; the page
 * then fetches /status.json every few seconds and re-renders with the very same function,
 * whose source is embedded in the page, so the two renderings cannot drift apart.
 */
import type { StatusModel } from "./status.ts";

/** Seconds between refreshes of the open page. */
export const REFRESH_S = 5;

/**
 * The vehicle cards as HTML. Self-contained on purpose (no imports, no outer variables): the
 * browser runs its source text too. Values arrive in base units and are shown in
 * `model.units` (metric: km, °C, bar; imperial: mi, °F, psi).
 */
export function renderVehicles(model: StatusModel): string {
  const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
  const imperial = model.units === "imperial";
  const pct = (v: number | undefined) => v === undefined ? "n/a" : Math.round(v * 100) + " %";
  const num = (v: number, digits: number) => v.toFixed(digits);
  const grouped = (v: number) =>
    v.toLocaleString("en-US", { maximumFractionDigits: 0, minimumFractionDigits: 0 });
  const dist = (m: number) => imperial ? grouped(m / 1609.344) + " mi" : grouped(m / 1000) + " km";
  const temp = (c: number) =>
    imperial ? Math.round(c * 9 / 5 + 32) + " °F" : num(c, 1).replace(/\.0$/, "") + " °C";
  const pressure = (pa: number) => imperial ? num(pa / 6894.757, 0) : num(pa / 1e5, 1);
  const speed = (ms: number) =>
    imperial ? Math.round(ms * 2.236936) + " mph" : Math.round(ms * 3.6) + " km/h";
  const dur = (s: number) => {
    const a = Math.abs(s);
    if (a < 90) return Math.round(a) + " s";
    if (a < 5400) return Math.round(a / 60) + " min";
    if (a < 172800) return Math.round(a / 3600) + " h";
    return Math.round(a / 86400) + " d";
  };
  /** Time left in hours and minutes: "2 h 05 min". */
  const left = (s: number) => {
    const m = Math.round(s / 60);
    return m < 60 ? m + " min" : Math.floor(m / 60) + " h " + String(m % 60).padStart(2, "0") +
      " min";
  };
  const money = (v: number) => "$" + v.toFixed(2);
  const row = (label: string, html: string) => "<dt>" + label + "</dt><dd>" + html + "</dd>";
  const clock = (t: number) => {
    const d = new Date(t * 1000);
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  };
  const chart = (points: readonly (readonly [number, number, number])[], now: number) => {
    const w = 600, h = 120, day = 86400, from = now - day;
    const x = (t: number) => (((t - from) / day) * w).toFixed(1);
    const at = (t: number) => (((t - from) / day) * 100).toFixed(2) + "%";
    const y = (v: number) => (h - Math.max(0, Math.min(1, v)) * h).toFixed(1);
    const grid = [0.25, 0.5, 0.75].map((g) =>
      '<line class="grid" x1="0" x2="' + w + '" y1="' + y(g) + '" y2="' + y(g) + '"/>'
    ).join("");
    // Charging periods: runs of points read while charging, up to the next point.
    let bands = "";
    for (let i = 0; i < points.length; i++) {
      if (!points[i][2]) continue;
      let j = i;
      while (j + 1 < points.length && points[j + 1][2]) j++;
      const end = j + 1 < points.length ? points[j + 1][0] : points[j][0] + 60;
      bands += '<rect class="charge" x="' + x(points[i][0]) + '" y="0" width="' +
        Math.max(1, Number(x(end)) - Number(x(points[i][0]))).toFixed(1) + '" height="' + h +
        '"/>';
      i = j;
    }
    let line = "";
    let area = "";
    if (points.length) {
      line = points.map((p, i) => (i ? "L" : "M") + x(p[0]) + " " + y(p[1])).join(" ");
      if (points.length === 1) line += " L" + x(points[0][0] + 60) + " " + y(points[0][1]);
      const lastX = points.length === 1 ? x(points[0][0] + 60) : x(points[points.length - 1][0]);
      area = line + " L" + lastX + " " + h + " L" + x(points[0][0]) + " " + h + " Z";
    }
    // Since the last sample the value holds (the car sleeps): a dashed line up to now.
    const newest = points[points.length - 1];
    const held = newest && now - newest[0] > 300
      ? '<path class="soc-held" d="M' + x(newest[0]) + " " + y(newest[1]) + " L" + x(now) + " " +
        y(newest[1]) + '" vector-effect="non-scaling-stroke"/>'
      : "";
    // Hour marks every 6 hours of local time, inside the day shown.
    const ticks: number[] = [];
    const first = new Date(from * 1000);
    first.setMinutes(0, 0, 0);
    // None too close to the ends, where they would run into "now" or off the chart.
    for (let t = first.getTime() / 1000; t < now - 7200; t += 3600) {
      if (t > from + 1800 && new Date(t * 1000).getHours() % 6 === 0) ticks.push(t);
    }
    const xLabels =
      ticks.map((t) => '<span style="left:' + at(t) + '">' + clock(t) + "</span>").join("") +
      '<span class="now" style="left:100%">now</span>';
    const yLabels = [[1, "100 %"], [0.5, "50 %"], [0, "0 %"]].map(([v, text]) =>
      '<span style="top:' + ((1 - Number(v)) * 100) + '%">' + text + "</span>"
    ).join("");
    return '<div class="chart-wrap"><div class="yaxis" aria-hidden="true">' + yLabels +
      '</div><svg class="chart" viewBox="0 0 ' + w + " " + h +
      '" preserveAspectRatio="none" role="img" aria-label="State of charge, last 24 hours">' +
      bands + grid +
      (points.length
        ? '<path class="area" d="' + area + '"/><path class="soc-line" d="' + line +
          '" vector-effect="non-scaling-stroke"/>' + held
        : "") +
      '</svg><div class="xaxis" aria-hidden="true">' + xLabels + "</div></div>" +
      '<div class="legend">' +
      (points.length ? points.length + " samples" : "no samples yet") +
      (bands ? ' · <span class="swatch"></span> charging' : "") + "</div>";
  };
  const usage = (v: StatusModel["vehicles"][number]) => {
    const a = v.account;
    const rows: string[] = [];
    const window = (label: string, u: NonNullable<typeof a>["today"]) => {
      if (!u) return;
      let text = u.requests + (u.limit !== undefined ? " / " + u.limit : "") + " requests";
      if (u.billable !== undefined) text += " (" + u.billable + " billable)";
      if (u.costUsd !== undefined) {
        text += ", est. " + money(u.costUsd) +
          (u.budgetUsd !== undefined ? " of " + money(u.budgetUsd) : "");
      }
      const frac = u.limit
        ? u.requests / u.limit
        : u.budgetUsd && u.costUsd !== undefined
        ? u.costUsd / u.budgetUsd
        : undefined;
      rows.push(
        "<dt>" + label + "</dt><dd>" + esc(text) +
          (frac !== undefined
            ? '<meter min="0" max="1" low="0.7" high="0.9" optimum="0" value="' +
              Math.min(1, frac).toFixed(3) + '"></meter>'
            : "") +
          "</dd>",
      );
    };
    window("API today", a?.today);
    window("API this month", a?.month);
    if (!a?.today && !a?.month) {
      rows.push(
        "<dt>API use</dt><dd>" + v.requestsSinceStart +
          ' requests since start <span class="muted">· no budget configured</span></dd>',
      );
    }
    const t = a?.token;
    rows.push(
      "<dt>Token</dt><dd>" +
        (t
          ? esc(t.state) +
            (t.expiresAt !== undefined
              ? (t.expiresAt >= model.now
                ? ", expires in " + dur(t.expiresAt - model.now)
                : ", expired " + dur(model.now - t.expiresAt) + " ago")
              : "")
          : '<span class="muted">n/a</span>') +
        "</dd>",
    );
    if (a?.pollState) rows.push("<dt>Polling</dt><dd>" + esc(a.pollState) + "</dd>");
    return rows.join("");
  };
  /** Why no newer values come, when the owner has something to do or to wait for. */
  const notice = (v: StatusModel["vehicles"][number]) => {
    const poll = v.pollState ?? v.account?.pollState;
    const token = v.account?.token?.state;
    if (poll === "sign_in_needed" || token === "sign_in_needed" || token === "missing") {
      return '<p class="notice notice-error" role="alert">Sign-in needed' +
        (v.account?.signIn
          ? ": run <code>" + esc(v.account.signIn) + "</code>"
          : ": sign in to the " + esc(v.provider) + " account again") +
        "</p>";
    }
    if (poll === "rate_limited") {
      return '<p class="notice notice-warn" role="status">Rate-limited by ' + esc(v.provider) +
        ": waiting for the API quota; the values below are the last known.</p>";
    }
    if (poll === "backing_off") {
      return '<p class="notice notice-warn" role="status">The ' + esc(v.provider) +
        " API answered with errors: retrying with backoff.</p>";
    }
    return "";
  };
  const details = (v: StatusModel["vehicles"][number]) => {
    const rows: string[] = [];
    rows.push(row("Range", v.rangeM === undefined ? "n/a" : esc(dist(v.rangeM))));
    if (v.chargeLimit !== undefined) rows.push(row("Charge limit", pct(v.chargeLimit)));
    const c = v.charging ?? {};
    const charge: string[] = [];
    if (v.state === "charging" && c.powerW !== undefined) {
      charge.push(num(c.powerW / 1000, 1) + " kW");
    }
    if (v.state === "charging" && c.timeToFullS !== undefined && c.timeToFullS > 0) {
      charge.push(left(c.timeToFullS) + " to full");
    }
    if (c.energyAddedJ !== undefined && c.energyAddedJ > 0) {
      charge.push("+" + num(c.energyAddedJ / 3.6e6, 1) + " kWh this charge");
    }
    if (c.pluggedIn !== undefined) charge.push(c.pluggedIn ? "plugged in" : "not plugged in");
    if (charge.length) rows.push(row("Charging", esc(charge.join(" · "))));
    if (v.state === "driving" && v.speedMs !== undefined) rows.push(row("Speed", speed(v.speedMs)));
    const sec = v.security ?? { open: [], known: false };
    const lock: string[] = [];
    if (sec.locked !== undefined) {
      lock.push(sec.locked ? "locked" : '<span class="alert">unlocked</span>');
    }
    if (sec.known) {
      lock.push(
        sec.open.length
          ? '<span class="alert">open: ' + esc(sec.open.join(", ").replace(/_/g, " ")) + "</span>"
          : "all closed",
      );
    }
    if (sec.sentry !== undefined) lock.push("sentry " + (sec.sentry ? "on" : "off"));
    if (lock.length) rows.push(row("Security", lock.join(" · ")));
    const climate: string[] = [];
    if (v.insideC !== undefined) climate.push("inside " + temp(v.insideC));
    if (v.outsideC !== undefined) climate.push("outside " + temp(v.outsideC));
    if (climate.length) rows.push(row("Temperature", climate.join(" · ")));
    if (v.odometerM !== undefined) rows.push(row("Odometer", esc(dist(v.odometerM))));
    const tyres = v.tyresPa ?? {};
    const wheels = ["front_left", "front_right", "rear_left", "rear_right"]
      .filter((k) => tyres[k] !== undefined);
    if (wheels.length) {
      rows.push(row(
        "Tyres",
        wheels.map((k) =>
          '<span class="tyre">' +
          k.split("_").map((part) => part[0].toUpperCase()).join("") + " " +
          pressure(tyres[k]) + "</span>"
        ).join(" ") + " " + (imperial ? "psi" : "bar"),
      ));
    }
    if (v.softwareVersion) rows.push(row("Software", esc(v.softwareVersion)));
    return rows.join("");
  };
  const sessions = (v: StatusModel["vehicles"][number]) => {
    if (!v.sessions) return "";
    if (!v.sessions.length) return '<p class="sessions muted">No drives or charges yet.</p>';
    return '<ul class="sessions">' + v.sessions.map((s) => {
      const parts = [
        s.kind + (s.type ? " " + s.type : ""),
        dur(model.now - s.endS) + " ago",
        dur(s.durationS),
      ];
      if (s.km !== undefined) {
        parts.push(imperial ? num(s.km / 1.609344, 1) + " mi" : num(s.km, 1) + " km");
      }
      if (s.kwh !== undefined) {
        parts.push((s.kind === "charge" ? "+" : "") + s.kwh.toFixed(1) + " kWh");
      }
      if (s.whPerKm !== undefined) {
        parts.push(
          imperial ? Math.round(s.whPerKm * 1.609344) + " Wh/mi" : Math.round(s.whPerKm) + " Wh/km",
        );
      }
      if (s.socStart !== undefined && s.socEnd !== undefined) {
        parts.push(Math.round(s.socStart * 100) + "→" + Math.round(s.socEnd * 100) + " %");
      }
      if (s.cost) parts.push(s.cost);
      return '<li class="session session-' + esc(s.kind) + '">' + esc(parts.join(" · ")) + "</li>";
    }).join("") + "</ul>";
  };
  if (!model.vehicles.length) {
    return '<p class="empty">No vehicles yet: waiting for the first answer from the vendor.</p>';
  }
  return model.vehicles.map((v) => {
    const age = v.ageS === undefined ? "never" : dur(v.ageS) + " ago";
    return '<article class="vehicle" data-vehicle="' + esc(v.provider + "/" + v.vinTail) +
      '"><header><h2>' + esc(v.name) + '</h2><span class="vin">' + esc(v.provider) + " …" +
      esc(v.vinTail) + "</span></header>" + notice(v) +
      '<div class="headline"><span class="soc" data-soc="' +
      (v.soc === undefined ? "" : v.soc) + '">' + pct(v.soc) + '</span><span class="state state-' +
      esc(v.state) + '">' + esc(v.state) + "</span>" +
      (!v.live && v.ageS !== undefined
        ? '<span class="known" title="last known values">as of ' + esc(age) + "</span>"
        : "") +
      "</div><dl>" + details(v) + row("Last sample", esc(age)) + usage(v) + "</dl>" +
      chart(v.history, model.now) + sessions(v) + "</article>";
  }).join("");
}

const CSS = `
:root{color-scheme:light dark;--bg:#f5f6f8;--card:#fff;--fg:#1c1f24;--muted:#687080;--line:#2a7de1;--fill:rgba(42,125,225,.15);--grid:rgba(0,0,0,.08);--charge:rgba(46,158,91,.22)}
@media (prefers-color-scheme:dark){:root{--bg:#111418;--card:#1b1f26;--fg:#e6e9ee;--muted:#97a0ae;--line:#5aa2ff;--fill:rgba(90,162,255,.18);--grid:rgba(255,255,255,.08);--charge:rgba(46,158,91,.3)}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
main{max-width:1100px;margin:0 auto;padding:16px}
.top{display:flex;flex-wrap:wrap;align-items:baseline;gap:.5em 1em}
h1{font-size:1.4em;margin:0}
.top .muted,.muted{color:var(--muted)}
.stale #updated{color:#d9534f}
#vehicles{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:16px;margin-top:16px}
.vehicle{background:var(--card);border-radius:12px;padding:14px 16px;box-shadow:0 1px 3px rgba(0,0,0,.12)}
.vehicle header{display:flex;justify-content:space-between;align-items:baseline;gap:8px}
.vehicle h2{font-size:1.15em;margin:0;overflow-wrap:anywhere}
.vin{color:var(--muted);font-family:ui-monospace,monospace;font-size:.85em;white-space:nowrap}
.headline{display:flex;align-items:center;gap:12px;margin:8px 0}
.soc{font-size:2.2em;font-weight:600}
.state{padding:2px 10px;border-radius:999px;background:var(--grid);font-size:.9em}
.state-charging{background:#2e9e5b;color:#fff}.state-driving{background:#2a7de1;color:#fff}
.state-asleep{background:#6b5fb5;color:#fff}.state-offline,.state-unknown{background:#888;color:#fff}
dl{display:grid;grid-template-columns:auto 1fr;gap:2px 12px;margin:0 0 8px}
dt{color:var(--muted)}dd{margin:0;min-width:0;overflow-wrap:anywhere}
meter{display:block;width:100%;height:8px}
.chart-wrap{position:relative;padding-left:2.8em;margin-top:8px}
.chart{display:block;width:100%;height:110px;background:var(--bg);border-radius:6px}
.chart .grid{stroke:var(--grid);stroke-width:1}
.chart .charge{fill:var(--charge)}
.chart .area{fill:var(--fill)}
.chart .soc-line{fill:none;stroke:var(--line);stroke-width:2}
.chart .soc-held{fill:none;stroke:var(--line);stroke-width:1.5;stroke-dasharray:4 4;opacity:.7}
.yaxis{position:absolute;left:0;top:0;width:2.5em;height:110px;color:var(--muted);font-size:.75em}
.yaxis span{position:absolute;right:0;transform:translateY(-50%);white-space:nowrap}
.yaxis span:first-child{transform:none}.yaxis span:last-child{transform:translateY(-100%)}
.xaxis{position:relative;height:1.4em;color:var(--muted);font-size:.75em}
.xaxis span{position:absolute;top:2px;transform:translateX(-50%);white-space:nowrap}
.xaxis .now{transform:translateX(-100%)}
.legend{color:var(--muted);font-size:.8em}
.swatch{display:inline-block;width:.9em;height:.9em;vertical-align:-.1em;background:var(--charge);border-radius:2px}
.known{color:var(--muted);font-size:.85em}
.notice{margin:8px 0;padding:6px 10px;border-radius:8px;font-size:.9em}
.notice code{overflow-wrap:anywhere}
.notice-error{background:#f8d7da;color:#58151c}.notice-warn{background:#fff3cd;color:#523e02}
.alert{color:#d9534f;font-weight:600}
.tyre{white-space:nowrap}
.empty{color:var(--muted)}
.sessions{list-style:none;margin:8px 0 0;padding:0;font-size:.85em}
.sessions li{padding:2px 0;border-top:1px solid var(--grid)}
footer{margin-top:20px;color:var(--muted);font-size:.85em}
footer a{color:inherit}
`;

/** The whole page; `model` is rendered in place so it shows without running the script. */
export function statusPage(model: StatusModel): string {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const script = `const render = ${renderVehicles.toString()};
const updated = document.getElementById("updated");
async function refresh() {
  try {
    const res = await fetch("status.json", { cache: "no-store" });
    if (!res.ok) throw new Error("HTTP " + res.status);
    const model = await res.json();
    document.getElementById("vehicles").innerHTML = render(model);
    updated.textContent = "updated " + new Date().toLocaleTimeString();
    document.body.classList.remove("stale");
  } catch (err) {
    updated.textContent = "exporter unreachable (" + err.message + "), retrying";
    document.body.classList.add("stale");
  }
}
setInterval(refresh, ${REFRESH_S * 1000});`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ev-observer</title>
<link rel="icon" href="data:,">
<style>${CSS}</style>
</head>
<body>
<main>
<div class="top"><h1>ev-observer</h1>${
    model.mode ? `<span class="muted">${esc(model.mode)}</span>` : ""
  }<span id="updated" class="muted">refreshes every ${REFRESH_S} s</span></div>
<section id="vehicles">${renderVehicles(model)}</section>
<footer><a href="metrics">/metrics</a> · <a href="status.json">status.json</a> · <a href="healthz">healthz</a></footer>
</main>
<script>${script}</script>
</body>
</html>
`;
}

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
 * browser runs its source text too.
 */
export function renderVehicles(model: StatusModel): string {
  const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
  const pct = (v: number | undefined) => v === undefined ? "n/a" : Math.round(v * 100) + " %";
  const dur = (s: number) => {
    const a = Math.abs(s);
    if (a < 90) return Math.round(a) + " s";
    if (a < 5400) return Math.round(a / 60) + " min";
    if (a < 172800) return Math.round(a / 3600) + " h";
    return Math.round(a / 86400) + " d";
  };
  const money = (v: number) => "$" + v.toFixed(2);
  const chart = (points: readonly (readonly [number, number])[], now: number) => {
    const w = 600, h = 120, from = now - 86400;
    const x = (t: number) => (((t - from) / 86400) * w).toFixed(1);
    const y = (v: number) => (h - Math.max(0, Math.min(1, v)) * h).toFixed(1);
    const grid = [0.25, 0.5, 0.75].map((g) =>
      '<line class="grid" x1="0" x2="' + w + '" y1="' + y(g) + '" y2="' + y(g) + '"/>'
    ).join("");
    let line = "";
    let area = "";
    if (points.length) {
      line = points.map((p, i) => (i ? "L" : "M") + x(p[0]) + " " + y(p[1])).join(" ");
      if (points.length === 1) line += " L" + x(points[0][0] + 60) + " " + y(points[0][1]);
      const lastX = points.length === 1 ? x(points[0][0] + 60) : x(points[points.length - 1][0]);
      area = line + " L" + lastX + " " + h + " L" + x(points[0][0]) + " " + h + " Z";
    }
    return '<svg class="chart" viewBox="0 0 ' + w + " " + h +
      '" preserveAspectRatio="none" role="img" aria-label="State of charge, last 24 hours">' +
      grid +
      (points.length
        ? '<path class="area" d="' + area + '"/><path class="soc-line" d="' + line +
          '" vector-effect="non-scaling-stroke"/>'
        : "") +
      "</svg>" +
      '<div class="axis"><span>−24 h</span><span>' +
      (points.length ? points.length + " samples" : "no samples yet") +
      "</span><span>now</span></div>";
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
  const sessions = (v: StatusModel["vehicles"][number]) => {
    if (!v.sessions) return "";
    if (!v.sessions.length) return '<p class="sessions muted">No drives or charges yet.</p>';
    return '<ul class="sessions">' + v.sessions.map((s) => {
      const parts = [
        s.kind + (s.type ? " " + s.type : ""),
        dur(model.now - s.endS) + " ago",
        dur(s.durationS),
      ];
      if (s.km !== undefined) parts.push(s.km.toFixed(1) + " km");
      if (s.kwh !== undefined) {
        parts.push((s.kind === "charge" ? "+" : "") + s.kwh.toFixed(1) + " kWh");
      }
      if (s.whPerKm !== undefined) parts.push(Math.round(s.whPerKm) + " Wh/km");
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
      esc(v.vinTail) + '</span></header><div class="headline"><span class="soc" data-soc="' +
      (v.soc === undefined ? "" : v.soc) + '">' + pct(v.soc) + '</span><span class="state state-' +
      esc(v.state) + '">' + esc(v.state) + "</span></div><dl>" +
      "<dt>Range</dt><dd>" +
      (v.rangeM === undefined ? "n/a" : Math.round(v.rangeM / 1000) + " km") + "</dd>" +
      (v.chargeLimit !== undefined
        ? "<dt>Charge limit</dt><dd>" + pct(v.chargeLimit) + "</dd>"
        : "") +
      "<dt>Last sample</dt><dd>" + esc(age) + "</dd>" + usage(v) + "</dl>" +
      chart(v.history, model.now) + sessions(v) + "</article>";
  }).join("");
}

const CSS = `
:root{color-scheme:light dark;--bg:#f5f6f8;--card:#fff;--fg:#1c1f24;--muted:#687080;--line:#2a7de1;--fill:rgba(42,125,225,.15);--grid:rgba(0,0,0,.08)}
@media (prefers-color-scheme:dark){:root{--bg:#111418;--card:#1b1f26;--fg:#e6e9ee;--muted:#97a0ae;--line:#5aa2ff;--fill:rgba(90,162,255,.18);--grid:rgba(255,255,255,.08)}}
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
dt{color:var(--muted)}dd{margin:0}
meter{display:block;width:100%;height:8px}
.chart{display:block;width:100%;height:110px;background:var(--bg);border-radius:6px}
.chart .grid{stroke:var(--grid);stroke-width:1}
.chart .area{fill:var(--fill)}
.chart .soc-line{fill:none;stroke:var(--line);stroke-width:2}
.axis{display:flex;justify-content:space-between;color:var(--muted);font-size:.8em}
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

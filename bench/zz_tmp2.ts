import { runStreamingDay } from "./tesla_stream.ts";
import { findSessions, measure, SCENARIOS, sessionsTable } from "./sessions.ts";
const s = SCENARIOS.find((x) => x.streamed)!;
const r = measure(s, await findSessions(s));
console.log(sessionsTable([r]));
const d = await runStreamingDay({});
console.log(d.signals_per_day, d.usd_per_month);

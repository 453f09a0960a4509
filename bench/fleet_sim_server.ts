/**
 * The simulated Teslas of `bench fleet` in a process of their own, on a loopback port, so that
 * the exporter under test and the Python baseline read the same cars the same way (HTTP) and
 * neither one's memory holds the simulator. Each car is found by its access token, as Tesla
 * finds an account's cars; GET /cars lists `{vin, id, token}` for the clients (simulated
 * tokens, minted here). Prints `{"url": …}` as its first stdout line; stops on SIGTERM.
 *
 *   deno run --allow-net=127.0.0.1 bench/fleet_sim_server.ts --vehicles 1000 --hour 19
 */
import { VirtualClock } from "../core/clock.ts";
import { fakeFleet } from "../providers/tesla/sim/fake_fleet.ts";
import { DAY_START } from "../providers/tesla/sim/scenario.ts";
import { flags } from "../app/flags.ts";

const HELP = `
bench/fleet_sim_server.ts [--vehicles N] [--speed X] [--hour H] [--spread S]

N simulated Teslas (default 1000) on a virtual clock X times faster than real time (default
30) from hour H of the reference day (default 19: every car charging), car i running i × S
seconds ahead (default 0), served on a free loopback port.
`;

const { values } = flags(Deno.args, {
  vehicles: { type: "string" },
  speed: { type: "string" },
  hour: { type: "string" },
  spread: { type: "string" },
}, HELP);
const clock = new VirtualClock(
  (DAY_START + Number(values.hour ?? 19) * 3600) * 1000,
  Number(values.speed ?? 30),
);
const cars = fakeFleet({
  clock,
  size: Number(values.vehicles ?? 1000),
  spreadS: Number(values.spread ?? 0),
  spanS: 14 * 3600,
});
const byToken = new Map(cars.map((car) => [car.token, car]));
const list = JSON.stringify(cars.map(({ vin, id, token }) => ({ vin, id, token })));

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
  if (new URL(req.url).pathname === "/cars") {
    return new Response(list, { headers: { "content-type": "application/json" } });
  }
  const token = /^Bearer (.+)$/.exec(req.headers.get("authorization") ?? "")?.[1];
  const car = token === undefined ? undefined : byToken.get(token);
  if (!car) return Response.json({ error: "unknown token" }, { status: 401 });
  return car.fetch(req.url, { method: req.method, headers: req.headers });
});
console.log(JSON.stringify({ url: `http://127.0.0.1:${server.addr.port}/` }));

Deno.addSignalListener("SIGTERM", async () => {
  await server.shutdown();
  Deno.exit(0);
});

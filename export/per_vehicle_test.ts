import assert from "node:assert/strict";
import { Slicer } from "./next_task.ts";
import { PerVehicle } from "./per_vehicle.ts";
import { fixtureReadings, TESLA_VIN, teslaSnapshot } from "./test_helpers.ts";

Deno.test("a vehicle's output is made once per change of its entry, and kept otherwise", async () => {
  const readings = fixtureReadings();
  const made: string[] = [];
  const kept = new PerVehicle((entry) => {
    made.push(entry.vehicle.vin);
    return { vin: entry.vehicle.vin, state: entry.state };
  });
  const first = await kept.all(readings, new Slicer(8));
  assert.equal(first.length, 2);
  const version = kept.version;
  const again = await kept.all(readings, new Slicer(8));
  assert.equal(again[0], first[0], "the same object, not made again");
  assert.equal(made.length, 2);
  assert.equal(kept.version, version, "nothing changed");

  // A new Tesla reading, then a state: the Tesla's output is made again, the Volvo's is not.
  readings.record(teslaSnapshot());
  readings.setState(teslaSnapshot().vehicle, "asleep");
  const after = await kept.all(readings, new Slicer(8));
  assert.deepEqual(made.slice(2), [TESLA_VIN]);
  assert.equal(after.find((o) => o.vin === TESLA_VIN)!.state, "asleep");
  assert.equal(after.find((o) => o.vin !== TESLA_VIN), first.find((o) => o.vin !== TESLA_VIN));
  assert.ok(kept.version > version);

  // A vehicle that left: gone from the list, and the list's version moves.
  const before = kept.version;
  readings.forget(teslaSnapshot().vehicle);
  assert.deepEqual((await kept.all(readings, new Slicer(8))).map((o) => o.vin), [
    first.find((o) => o.vin !== TESLA_VIN)!.vin,
  ]);
  assert.ok(kept.version > before);
});

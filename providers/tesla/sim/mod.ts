/** The Tesla simulator as replay and the fixture generator see it. */
import type { VendorSim } from "../../../replay/fake_server.ts";
import { isVinShaped } from "../../../replay/vin.ts";
import { TeslaStream } from "../stream.ts";
import { teslaFakeHook } from "./fake.ts";
import { bundledCassettes } from "./scenario.ts";
import { STREAM_DAY_CASSETTE, streamDayCassette } from "./stream_cassette.ts";

export const teslaSim: VendorSim = {
  id: "tesla",
  fakeHook: teslaFakeHook,
  cassettes: () => ({ ...bundledCassettes(), [STREAM_DAY_CASSETTE]: streamDayCassette() }),
  replayStream: (o) => {
    // Topics are `<topic_base>/<VIN>/…`: the base is what precedes the VIN.
    const segments = o.cassette.messages?.[0]?.topic.split("/") ?? [];
    const vinAt = segments.findIndex(isVinShaped);
    return new TeslaStream({
      settings: {
        brokerUrl: o.brokerUrl,
        topicBase: vinAt > 0 ? segments.slice(0, vinAt).join("/") : "telemetry",
        silenceS: 1800,
        recheckS: 4 * 3600,
      },
      account: o.account,
      vins: [],
      readings: o.readings,
      clock: o.clock,
      log: o.log.child({ provider: "tesla", account: o.account, source: "telemetry" }),
      location: o.location,
      // Real milliseconds: at 1440× the default 200 ms would merge almost five virtual minutes
      // of messages into one record. 1 ms still spans 1.4 virtual seconds, so a second may join
      // the next one's record (logged as a replayed backlog; the newest values are recorded).
      groupMs: 1,
    });
  },
};

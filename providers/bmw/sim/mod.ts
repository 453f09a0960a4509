/**
 * The BMW simulator as replay and the fixture generator see it: the i4 day's cassette, and
 * the real stream consumer pointed at the broker replay plays the day's messages into.
 */
import type { VendorSim } from "../../../replay/fake_server.ts";
import { Telematics } from "../map.ts";
import { BmwStream } from "../stream.ts";
import { I4_DAY_CASSETTE, i4DayCassette } from "./cassette.ts";

export const bmwSim: VendorSim = {
  id: "bmw",
  // The fake server checks no client id; a placeholder keeps the account valid.
  replayAccount: { client_id: "replay-client-id" },
  cassettes: () => ({ [I4_DAY_CASSETTE]: i4DayCassette() }),
  replayStream: (o) => {
    // The topic is `<GCID>/<VIN>`: the consumer subscribes as the recorded account.
    const gcid = o.cassette.messages?.[0]?.topic.split("/")[0] ?? "replay";
    return new BmwStream({
      url: o.brokerUrl,
      credentials: () =>
        Promise.resolve({
          gcid,
          idToken: "replay-id-token",
          // Never expires, so the stream never renews: a renewal sleeps on the replay's clock,
          // and on a stepped (speed 0) clock that sleep would move the whole replay's time.
          expiresAt: Number.POSITIVE_INFINITY,
        }),
      account: o.account,
      vins: [],
      telematics: new Telematics(),
      readings: o.readings,
      clock: o.clock,
      log: o.log.child({ provider: "bmw", account: o.account, source: "stream" }),
      location: o.location,
      retryMs: 1000,
    });
  },
};

// Loaded as in every ev-observer process: with an npm package loaded, Deno ran message-port
// tasks ahead of timers, and slices yielding through them starved every timer.
import "yaml";
import { assert } from "../core/testing.ts";
import { Slicer } from "./next_task.ts";

Deno.test("a loop cut into 8 ms slices lets a 5 ms timer fire between its slices", async () => {
  let fired = 0;
  let late = 0;
  let due = 0;
  let stop = false;
  const tick = () => {
    due = performance.now() + 5;
    setTimeout(() => {
      fired++;
      late = Math.max(late, performance.now() - due);
      if (!stop) tick();
    }, 5);
  };
  tick();
  const slicer = new Slicer(8);
  const start = performance.now();
  while (performance.now() - start < 200) await slicer.check();
  stop = true;
  await new Promise((r) => setTimeout(r, 10));
  // A shared machine can delay a timer; a starved one never fires.
  assert(fired >= 5, `the timer fired ${fired} times in 200 ms`);
  assert(late < 100, `a timer fired ${late.toFixed(0)} ms late`);
});

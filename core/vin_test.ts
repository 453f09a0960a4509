import { assertEquals, assertThrows } from "./testing.ts";
import { vinCheckDigit, withCheckDigit } from "./vin.ts";

Deno.test("VIN check digit (ISO 3779 / 49 CFR 565 worked example)", () => {
  // The standard's example VIN 1M8GDM9AXKP042788 has check digit X.
  assertEquals(vinCheckDigit("1M8GDM9AXKP042788"), "X");
  assertEquals(vinCheckDigit("11111111111111111"), "1");
  assertEquals(withCheckDigit("1M8GDM9A0KP042788"), "1M8GDM9AXKP042788");
  assertThrows(() => vinCheckDigit("YV1IOQ00000000000"));
  assertThrows(() => vinCheckDigit("SHORT"));
});

/**
 * Volvo states `batteryCapacityKWH`, the gross pack. A battery-electric Volvo's usable share is
 * close to it (within a few per cent); a plug-in hybrid keeps a large reserve, so its gross
 * figure overstates what a charge fills by a quarter. Where the gross figure identifies a pack
 * whose usable capacity is published, the usable one is reported beside it.
 */

interface Pack {
  /** The gross capacity Volvo's API states for the pack, kWh. */
  readonly grossKwh: number;
  readonly usableKwh: number;
}

/**
 * Plug-in hybrid packs by their gross capacity (Volvo sends `PETROL/ELECTRIC`). Public facts:
 * the 18.8 kWh pack is the one Volvo fitted to the T6/T8 Recharge S60, V60, XC60, S90, V90 and
 * XC90 from model year 2022.5 (up from 11.6 kWh, Volvo's announcement of the update); 14.9 kWh
 * of it is usable (the figure published with that update in the press's first drives). Packs
 * whose usable figure is not published are left out: their stated capacity stays as it is, and
 * `sessions.vehicles[].usable_kwh` sets it.
 */
const HYBRID_PACKS: readonly Pack[] = [
  { grossKwh: 18.8, usableKwh: 14.9 },
];

/** The usable capacity of a plug-in hybrid's pack, kWh, when the table knows it. */
export function usableCapacityKwh(
  fuelType: string | null | undefined,
  grossKwh: number | null | undefined,
): number | undefined {
  // PETROL/ELECTRIC (DIESEL/ELECTRIC on older cars); ELECTRIC alone is a battery-electric car.
  if (grossKwh == null || !/\/ELECTRIC$/i.test(fuelType ?? "")) return undefined;
  return HYBRID_PACKS.find((p) => Math.abs(p.grossKwh - grossKwh) < 0.05)?.usableKwh;
}

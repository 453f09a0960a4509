/** Unit conversions to the catalog's base units. Providers call these, once, where they map. */

export const METERS_PER_MILE = 1609.344;
export const METERS_PER_KM = 1000;
export const PASCALS_PER_BAR = 100_000;
export const PASCALS_PER_PSI = 6894.757293168;
export const JOULES_PER_KWH = 3_600_000;

export const milesToMeters = (mi: number) => mi * METERS_PER_MILE;
export const kmToMeters = (km: number) => km * METERS_PER_KM;
export const mphToMetersPerSecond = (mph: number) => (mph * METERS_PER_MILE) / 3600;
export const kmhToMetersPerSecond = (kmh: number) => kmh / 3.6;
export const barToPascals = (bar: number) => bar * PASCALS_PER_BAR;
export const psiToPascals = (psi: number) => psi * PASCALS_PER_PSI;
export const kwToWatts = (kw: number) => kw * 1000;
export const kwhToJoules = (kwh: number) => kwh * JOULES_PER_KWH;
export const percentToRatio = (pct: number) => pct / 100;
export const hoursToSeconds = (h: number) => h * 3600;
export const minutesToSeconds = (min: number) => min * 60;
export const epochMsToSeconds = (ms: number) => ms / 1000;

export const SECONDS_PER_DAY = 86_400;
/** The mean Gregorian month (365.2425 / 12 = 30.436875 days): vendors count service in months. */
export const SECONDS_PER_MONTH = (365.2425 / 12) * SECONDS_PER_DAY;

/** Duration in seconds from a value and a vendor unit spelling (`minutes`, `h`, `months`, …). */
export function durationToSeconds(value: number, unit: string): number | undefined {
  switch (unit.trim().toLowerCase()) {
    case "s":
    case "seconds":
      return value;
    case "min":
    case "minutes":
      return minutesToSeconds(value);
    case "h":
    case "hours":
      return hoursToSeconds(value);
    case "d":
    case "days":
      return value * SECONDS_PER_DAY;
    case "mo":
    case "months":
      return value * SECONDS_PER_MONTH;
    default:
      return undefined;
  }
}

/** Speed in m/s from a value and a vendor unit spelling (`km/h`, `kilometers_per_hour`, `mph`). */
export function speedToMetersPerSecond(value: number, unit: string): number | undefined {
  switch (unit.trim().toLowerCase()) {
    case "m/s":
      return value;
    case "km/h":
    case "kmh":
    case "kilometers_per_hour":
      return kmhToMetersPerSecond(value);
    case "mph":
    case "mi/h":
    case "miles_per_hour":
      return mphToMetersPerSecond(value);
    default:
      return undefined;
  }
}

/** Distance in meters from a value and a vendor unit spelling (`km`, `mi`, `miles`, …). */
export function distanceToMeters(value: number, unit: string): number | undefined {
  switch (unit.trim().toLowerCase()) {
    case "m":
    case "meters":
    case "metres":
      return value;
    case "km":
    case "kilometers":
    case "kilometres":
      return kmToMeters(value);
    case "mi":
    case "mile":
    case "miles":
      return milesToMeters(value);
    default:
      return undefined;
  }
}

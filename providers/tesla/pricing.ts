/**
 * Fleet API billing (https://developer.tesla.com/docs/fleet-api/billing-and-limits): list
 * prices in USD per request by category, and the rule that every answer below HTTP 500 is
 * billed. Owner API calls cost nothing, but the same meter shows what they would cost on Fleet.
 */
import type { PriceList } from "../../core/usage.ts";

export const FLEET_PRICES = { data: 0.002, wakes: 0.02, commands: 0.001 } as const;
export type BillingCategory = keyof typeof FLEET_PRICES;

/** Tesla's monthly discount per account. */
export const FLEET_MONTHLY_CREDIT_USD = 10;

export const teslaPricing: PriceList = {
  usd: FLEET_PRICES,
  defaultCategory: "data",
  billed: (status) => status < 500,
};

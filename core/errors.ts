/**
 * Vendor-neutral failures. Providers translate vendor answers into these so the scheduler
 * can react (sleep, back off, wait out a quota, ask for sign-in) without knowing the vendor.
 */

export type VendorErrorKind =
  /** The car is asleep or offline (Tesla 408): not a fault. */
  | "asleep"
  /** Access token rejected; one refresh may fix it. */
  | "unauthorized"
  /** Refresh token dead (`invalid_grant`, `login_required`): the user must sign in again. */
  | "sign_in_needed"
  /** 429 or a per-minute limit: wait `retryAfterS`. */
  | "rate_limited"
  /** Daily quota or billing limit exhausted. */
  | "quota"
  /** 5xx, timeouts, resets: retry with backoff. */
  | "server"
  /** The body could not be used at all (not JSON, wrong envelope). */
  | "malformed"
  /** Any other 4xx: our request or the account is wrong. */
  | "client";

export class VendorError extends Error {
  constructor(
    readonly kind: VendorErrorKind,
    message: string,
    readonly options: { status?: number; retryAfterS?: number; endpoint?: string } = {},
  ) {
    super(message);
    this.name = "VendorError";
  }
  get status(): number | undefined {
    return this.options.status;
  }
  get retryAfterS(): number | undefined {
    return this.options.retryAfterS;
  }
}

/** Parses `Retry-After` (seconds or an HTTP date) into seconds from `nowMs`. */
export function retryAfterSeconds(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  const n = Number(value.trim());
  if (Number.isFinite(n) && n >= 0) return n;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, (date - nowMs) / 1000);
}

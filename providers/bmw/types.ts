/** BMW CarData JSON: the device-code sign-in, the customer REST API and the stream messages. */
import { z } from "zod";

/** `POST /gcdm/oauth/device/code`. */
export const DeviceCodeResponse = z.object({
  user_code: z.string().min(1),
  device_code: z.string().min(1),
  verification_uri: z.string().min(1),
  verification_uri_complete: z.string().optional(),
  interval: z.number().positive().optional(),
  expires_in: z.number().positive(),
});

/** A token answer (device code or refresh): OAuth fields plus BMW's `gcid` and an ID token. */
export const TokenResponse = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  id_token: z.string().min(1),
  token_type: z.string(),
  expires_in: z.number().positive(),
  scope: z.string().optional(),
  gcid: z.string().min(1).optional(),
});
export type TokenResponse = z.infer<typeof TokenResponse>;

/** An OAuth error body; BMW's device flow puts the meaning here, not in the HTTP status. */
export const OAuthErrorBody = z.object({
  error: z.string(),
  error_description: z.string().optional(),
});

/** `GET /customers/vehicles/mappings`: documented as one object, an array in practice. */
export const VehicleMapping = z.object({
  vin: z.string().min(1),
  mappingType: z.string().optional(),
}).loose();
export const VehicleMappings = z.union([
  z.array(VehicleMapping),
  VehicleMapping.transform((m) => [m]),
]);

export const Container = z.object({
  containerId: z.string().min(1),
  name: z.string().optional(),
  purpose: z.string().optional(),
  state: z.string().optional(),
}).loose();
export type Container = z.infer<typeof Container>;
export const ContainerList = z.object({ containers: z.array(Container) });

/** One telematic value. REST sends strings; the stream may send numbers or booleans. */
export const TelematicEntry = z.object({
  value: z.union([z.string(), z.number(), z.boolean()]).nullable().optional(),
  unit: z.string().nullable().optional(),
  timestamp: z.string().optional(),
});
export type TelematicEntry = z.infer<typeof TelematicEntry>;

/** `GET /customers/vehicles/{vin}/telematicData?containerId=…`. */
export const TelematicData = z.object({
  telematicData: z.record(z.string(), z.unknown()),
});

/** `GET /customers/vehicles/{vin}/basicData` (the fields the info metric uses). */
export const BasicData = z.object({
  brand: z.string().optional(),
  modelName: z.string().optional(),
  series: z.string().optional(),
  driveTrain: z.string().optional(),
}).loose();

/** A stream message on `<GCID>/<VIN>`. */
export const StreamMessage = z.object({
  vin: z.string().min(1),
  timestamp: z.string().optional(),
  data: z.record(z.string(), z.unknown()),
});

/** A CarData error body (`CustomerErrorResponse`). */
export const CarDataError = z.object({
  exveErrorId: z.string().optional(),
  exveErrorMsg: z.string().optional(),
}).loose();

/** What the token file keeps besides the tokens: the account's GCID (the stream's user name). */
export const BmwTokenExtra = z.object({ gcid: z.string().min(1) });
export type BmwTokenExtra = z.infer<typeof BmwTokenExtra>;

/**
 * Request-body guards for JSON endpoints, in the contract's codes:
 * non-JSON content types are 415, bodies over 64 KiB are 413, and schema
 * failures are 400 with the failing fields (through zod-validator's hook).
 */
import { zValidator } from "@hono/zod-validator";
import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import type { z } from "zod";
import { AppError } from "../errors";
import { LIMITS } from "../protocol/schemas";
import { validationDetails } from "../protocol/validation";

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

const limitBody = bodyLimit({
  maxSize: LIMITS.BODY_MAX_BYTES,
  onError: () => {
    throw new AppError("PAYLOAD_TOO_LARGE", "request bodies are limited to 64 KiB");
  },
});

/** Refuses a present body that is not JSON (415) or too large (413). An absent body passes as `{}`. */
export const jsonBodyGuard = createMiddleware(async (c, next) => {
  const length = c.req.header("content-length");
  const hasBody = c.req.raw.body !== null && length !== "0";
  if (hasBody) {
    const mediaType = (c.req.header("content-type") ?? "").split(";")[0]?.trim() ?? "";
    if (!JSON_MEDIA_TYPE.test(mediaType)) {
      throw new AppError("UNSUPPORTED_MEDIA_TYPE", "send the body as application/json");
    }
  } else {
    // Seen by the JSON validator as `{}`, also under `content-type: application/json`
    // (what `curl -X POST -H 'content-type: application/json'` sends), not as malformed JSON.
    c.req.bodyCache.json = Promise.resolve({});
  }
  return limitBody(c, next);
});

function failValidation(error: z.ZodError): never {
  throw new AppError("VALIDATION_FAILED", "request validation failed", validationDetails(error));
}

/**
 * Validates a request part with a schema from `protocol/schemas`.
 * @example app.post("/", jsonBodyGuard, validate("json", CreateMeetingBody), (c) => c.req.valid("json"))
 */
export const validate = <Target extends "json" | "query" | "header", Schema extends z.ZodType>(
  target: Target,
  schema: Schema,
) =>
  zValidator(target, schema, (result) => {
    if (!result.success) failValidation(result.error as unknown as z.ZodError);
  });

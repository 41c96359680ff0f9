/**
 * The contract's one error type. Every expected failure is thrown as an
 * `AppError`; anything else thrown is mapped to one by `toAppError`
 * (error-path.ts). Shared with the SDK, so it imports nothing.
 */

/** Every error code of API.md with its HTTP status. */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  TOKEN_ALREADY_USED: 409,
  VERSION_CONFLICT: 409,
  MEETING_FULL: 409,
  MEETING_ENDED: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UPGRADE_REQUIRED: 426,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  // Contract 1.1
  INVITE_LIMIT: 409,
  UNAVAILABLE: 503,
  // Contract 1.2
  MEDIA_MODE: 409,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * @example throw new AppError("NOT_FOUND", "meeting not found")
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "AppError";
  }

  get status(): (typeof ERROR_STATUS)[ErrorCode] {
    return ERROR_STATUS[this.code];
  }

  toBody(): ErrorBody {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  static fromBody(body: ErrorBody): AppError {
    return new AppError(body.code, body.message, body.details);
  }
}

/** What a Durable Object RPC returns: errors travel as data, not as thrown RPC exceptions. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };

/** Turns an RPC outcome back into a value, or throws its error for `onError` to answer. */
export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw AppError.fromBody(outcome.error);
}

/** Builds the JSON body of an error response, e.g. for the WebSocket refusals of the meeting object. */
export function errorResponse(error: AppError, headers?: HeadersInit): Response {
  return Response.json({ error: error.toBody() }, { status: error.status, headers });
}

/**
 * The worker's side of Cloudflare Realtime SFU's Connection API
 * (`realtime-api-2024-05-21.yaml`): new session, new tracks, renegotiate,
 * close tracks, each with `Authorization: Bearer <SFU_APP_SECRET>` and a
 * 5 s limit. Failures come out in the contract's terms: the SFU failing,
 * slow or answering nonsense is `503 UNAVAILABLE` (nothing was recorded);
 * the SFU refusing the request (a bad SDP) is `400 VALIDATION_FAILED` with
 * its `errorCode` and `errorDescription`. Log lines name the operation and
 * a reason, never the secret, a URL or a session id.
 */
import { z } from "zod";
import { unavailable } from "../error-path";
import { AppError } from "../errors";
import { log } from "../log";
import type { SessionDescriptionData } from "../protocol/schemas";

export const DEFAULT_SFU_API_BASE_URL = "https://rtc.live.cloudflare.com/v1";
/** Contract 1.2: a request to the SFU taking longer is answered `503`. */
export const SFU_TIMEOUT_MS = 5_000;

export interface SfuConfig {
  appId: string;
  appSecret: string;
  /** Without a trailing slash. */
  apiBaseUrl: string;
}

export type SfuOperation = "sessions/new" | "tracks/new" | "renegotiate" | "tracks/close";

// ------------------------------------------------------------------ the SFU's shapes (its API, not ours)

const Description = z.object({ type: z.enum(["offer", "answer"]), sdp: z.string() });
const ItemError = { errorCode: z.string().optional(), errorDescription: z.string().optional() };
const NewSessionAnswer = z.object({ sessionId: z.string().min(1), sessionDescription: Description.optional() });
const TrackAnswer = z.object({
  mid: z.string().optional(),
  trackName: z.string().optional(),
  sessionId: z.string().optional(),
  ...ItemError,
});
const TracksAnswer = z.object({
  requiresImmediateRenegotiation: z.boolean().default(false),
  sessionDescription: Description.optional(),
  tracks: z.array(TrackAnswer).default([]),
});
const RenegotiateAnswer = z.object({ sessionDescription: Description.optional() });
const CloseAnswer = z.object({
  requiresImmediateRenegotiation: z.boolean().default(false),
  sessionDescription: Description.optional(),
  tracks: z.array(z.object({ mid: z.string(), ...ItemError })).default([]),
});
const Refusal = z.object({ errorCode: z.string().optional(), errorDescription: z.string().optional() });

export type SfuTrackAnswer = z.infer<typeof TrackAnswer>;
export type SfuTracksAnswer = z.infer<typeof TracksAnswer>;
export type SfuCloseAnswer = z.infer<typeof CloseAnswer>;

/** A track as the SFU's `tracks/new` takes it: a remote track names its publisher's session. */
export type SfuTrackRequest =
  | { location: "local"; mid: string; trackName: string }
  | { location: "remote"; sessionId: string; trackName: string };

export interface SfuOptions {
  /** The outbound fetch; tests may inject a stub. */
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/**
 * One SFU app's Connection API.
 * @example const { sessionId } = await new SfuClient(config.sfu).newSession(offer)
 */
export class SfuClient {
  private readonly fetcher: typeof fetch;
  private readonly timeoutMs: number;

  constructor(
    private readonly config: SfuConfig,
    options: SfuOptions = {},
  ) {
    this.fetcher = options.fetch ?? ((input, init) => fetch(input, init));
    this.timeoutMs = options.timeoutMs ?? SFU_TIMEOUT_MS;
  }

  newSession(sessionDescription?: SessionDescriptionData) {
    const body = sessionDescription ? { sessionDescription } : undefined;
    return this.call("sessions/new", "POST", "sessions/new", body, NewSessionAnswer);
  }

  newTracks(sessionId: string, tracks: SfuTrackRequest[], sessionDescription?: SessionDescriptionData) {
    const body = sessionDescription ? { sessionDescription, tracks } : { tracks };
    return this.call("tracks/new", "POST", `sessions/${encodeURIComponent(sessionId)}/tracks/new`, body, TracksAnswer);
  }

  renegotiate(sessionId: string, sessionDescription: SessionDescriptionData) {
    const path = `sessions/${encodeURIComponent(sessionId)}/renegotiate`;
    return this.call("renegotiate", "PUT", path, { sessionDescription }, RenegotiateAnswer);
  }

  closeTracks(sessionId: string, mids: string[], sessionDescription?: SessionDescriptionData, force?: boolean) {
    // Contract 1.2: without an offer there is no SDP exchange, so the close is forced.
    const body = sessionDescription
      ? { tracks: mids.map((mid) => ({ mid })), sessionDescription, force: force ?? false }
      : { tracks: mids.map((mid) => ({ mid })), force: true };
    const path = `sessions/${encodeURIComponent(sessionId)}/tracks/close`;
    return this.call("tracks/close", "PUT", path, body, CloseAnswer);
  }

  private async call<T extends z.ZodType>(
    operation: SfuOperation,
    method: "POST" | "PUT",
    path: string,
    body: unknown,
    schema: T,
  ): Promise<z.output<T>> {
    const url = `${this.config.apiBaseUrl}/apps/${encodeURIComponent(this.config.appId)}/${path}`;
    let status = 0;
    let answer: unknown;
    try {
      const response = await this.fetcher(url, {
        method,
        headers: { authorization: `Bearer ${this.config.appSecret}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = response.status;
      answer = await response.json().catch(() => undefined);
    } catch (error) {
      throw failed(operation, isTimeout(error) ? "timeout" : "network");
    }
    if (status >= 500 || status === 429) throw failed(operation, `status ${status}`);
    // Our own credentials refused: the deployment's fault, not the caller's.
    if (status === 401 || status === 403) throw failed(operation, `status ${status} (check SFU_APP_ID/SFU_APP_SECRET)`);
    const refusal = Refusal.safeParse(answer);
    if (status >= 400 || (refusal.success && refusal.data.errorCode)) {
      const { errorCode, errorDescription } = refusal.success ? refusal.data : {};
      log("info", "sfu.refused", { operation, status, errorCode });
      throw new AppError("VALIDATION_FAILED", "the media server refused the request", {
        errorCode: errorCode ?? `http_${status}`,
        errorDescription: errorDescription ?? "",
      });
    }
    const parsed = schema.safeParse(answer);
    if (!parsed.success) throw failed(operation, "unexpected answer");
    return parsed.data;
  }
}

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
}

function failed(operation: SfuOperation, reason: string): AppError {
  log("warn", "sfu.unavailable", { operation, reason });
  return unavailable("the media server failed or did not answer in time; nothing was changed, retry shortly");
}

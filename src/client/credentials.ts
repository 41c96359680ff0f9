/**
 * A connection's credentials, kept fresh: the token (session or host),
 * renewed before it expires, and the ICE servers, whose credentials are
 * refreshed before they expire unless the token's renewal does it. A failed
 * renewal is reported and retried while the old credentials last. Expiry
 * times are the server's clock; a token's `iat` tells how far this one is off.
 */
import type { ConnectionEvents } from "./connection-types.js";
import { MeetTimeError } from "./errors.js";
import type { MeetTime } from "./meettime.js";
import { renewalTime, runAt, tokenClaims } from "./timing.js";
import type { IceServer, IceServersInfo } from "./types.js";

const RENEWAL_RETRY_MS = 30_000;
const noop = () => {};

export interface CredentialsOptions {
  client: MeetTime;
  meetingId: string;
  token: string;
  iceServers?: IceServer[] | undefined;
  iceServersExpiresAt?: string | undefined;
  /** Renew the token automatically. */
  renewToken: boolean;
  renewBeforeMs: number;
  /** Tells the connection's listeners. */
  emit: <K extends "token" | "ice-servers" | "error">(type: K, data: ConnectionEvents[K]) => void;
}

export class Credentials {
  #token: string;
  #iceServers: IceServer[] | undefined;
  #iceServersExpiresAt: string | undefined;
  #stopped = false;
  #cancelTokenRenewal = noop;
  #cancelIceRefresh = noop;
  /** This clock minus the server's: add it to a server time to get the local one. */
  #clockOffsetMs = 0;
  readonly #options: CredentialsOptions;

  constructor(options: CredentialsOptions) {
    this.#options = options;
    this.#token = options.token;
    // The first token may be old (kept over a reload), so its `iat` only bounds the offset: a token
    // issued "in the future" proves this clock is behind; one from the past may just be old.
    this.#learnClockOffset(options.token, (offsetMs) => Math.min(0, offsetMs));
    if (options.iceServers) this.#setIceServers(options.iceServers, options.iceServersExpiresAt);
    this.#scheduleTokenRenewal();
  }

  get token(): string {
    return this.#token;
  }
  get iceServers(): IceServer[] | undefined {
    return this.#iceServers;
  }
  get iceServersExpiresAt(): string | undefined {
    return this.#iceServersExpiresAt;
  }

  /** No more renewals (the connection closed for good); one under way still resolves, unapplied. */
  stop(): void {
    this.#stopped = true;
    this.#cancelTokenRenewal();
    this.#cancelIceRefresh();
  }

  async renewToken(): Promise<string> {
    const { client, meetingId } = this.#options;
    const { kind, expiresAtMs: before } = tokenClaims(this.#token);
    const renewed =
      kind === "host"
        ? await client.mintHostToken(meetingId, this.#token).then((r) => ({ token: r.hostToken, ...r }))
        : await client.renewSession(meetingId, this.#token).then((r) => ({ token: r.sessionToken, ...r }));
    if (this.#stopped) return renewed.token;
    this.#token = renewed.token;
    this.#learnClockOffset(renewed.token, (offsetMs) => offsetMs); // just issued: `iat` is the server's now
    this.#options.emit("token", { token: renewed.token, expiresAt: renewed.expiresAt });
    // A token capped at the meeting's expiry cannot get longer: renewing it again near its end would
    // only loop. (One renewed early, e.g. to learn the clock offset, may keep its `exp` to the second.)
    const after = tokenClaims(renewed.token).expiresAtMs;
    const farFromExpiry =
      after !== undefined && after + this.#clockOffsetMs - Date.now() > 2 * this.#options.renewBeforeMs;
    if (before === undefined || after === undefined || after > before || farFromExpiry) this.#scheduleTokenRenewal();
    // ICE credentials are capped at the token's expiry: ones capped by the old token can now last longer.
    const iceExpiry = Date.parse(this.#iceServersExpiresAt ?? "");
    if (before !== undefined && iceExpiry <= before + 1_000) {
      this.refreshIceServers().catch((error) => this.#renewalFailed(error, iceExpiry + this.#clockOffsetMs, noop));
    }
    return renewed.token;
  }

  async refreshIceServers(): Promise<IceServersInfo> {
    const fresh = await this.#options.client.iceServers(this.#options.meetingId, this.#token);
    const info = { iceServers: fresh.iceServers, iceServersExpiresAt: fresh.expiresAt };
    if (!this.#stopped) {
      // Credentials capped at the token's expiry cannot get longer: refreshing them again would only loop.
      const later =
        this.#iceServersExpiresAt === undefined || Date.parse(fresh.expiresAt) > Date.parse(this.#iceServersExpiresAt);
      this.#setIceServers(fresh.iceServers, fresh.expiresAt, later);
      this.#options.emit("ice-servers", info);
    }
    return info;
  }

  #scheduleTokenRenewal(): void {
    this.#cancelTokenRenewal();
    const { kind, expiresAtMs } = tokenClaims(this.#token);
    if (!this.#renews(kind) || expiresAtMs === undefined) return;
    const localExpiresAtMs = expiresAtMs + this.#clockOffsetMs;
    this.#cancelTokenRenewal = runAt(renewalTime(localExpiresAtMs, Date.now(), this.#options.renewBeforeMs), () => {
      this.renewToken().catch((error) => {
        this.#cancelTokenRenewal = this.#renewalFailed(error, localExpiresAtMs, () => this.#scheduleTokenRenewal());
      });
    });
  }

  #setIceServers(iceServers: IceServer[], expiresAt: string | undefined, scheduleRefresh = true): void {
    this.#iceServers = iceServers;
    this.#iceServersExpiresAt = expiresAt;
    this.#cancelIceRefresh();
    this.#cancelIceRefresh = noop;
    const expiresAtMs = expiresAt === undefined ? Number.NaN : Date.parse(expiresAt);
    if (!scheduleRefresh || Number.isNaN(expiresAtMs) || this.#iceFollowsToken(expiresAtMs)) return;
    const localExpiresAtMs = expiresAtMs + this.#clockOffsetMs;
    this.#cancelIceRefresh = runAt(renewalTime(localExpiresAtMs, Date.now(), this.#options.renewBeforeMs), () => {
      this.refreshIceServers().catch((error) => {
        this.#cancelIceRefresh = this.#renewalFailed(error, localExpiresAtMs, () =>
          this.#setIceServers(iceServers, expiresAt),
        );
      });
    });
  }

  /** Reads this clock's offset from a token's `iat`, as `estimate` allows for how fresh the token is. */
  #learnClockOffset(token: string, estimate: (offsetMs: number) => number): void {
    const { issuedAtMs } = tokenClaims(token);
    if (issuedAtMs !== undefined) this.#clockOffsetMs = estimate(Date.now() - issuedAtMs);
  }

  /** Credentials capped at the token's expiry are refreshed by the token's renewal, not on their own. */
  #iceFollowsToken(iceExpiresAtMs: number): boolean {
    const { kind, expiresAtMs } = tokenClaims(this.#token);
    return this.#renews(kind) && expiresAtMs !== undefined && iceExpiresAtMs <= expiresAtMs + 1_000;
  }

  /** Whether a token of `kind` is renewed here: only session and host tokens have a renewal route. */
  #renews(kind: string | undefined): boolean {
    return this.#options.renewToken && (kind === "session" || kind === "host");
  }

  /**
   * A failed renewal is reported and tried again in 30 s while the old
   * credentials last (`expiresAtMs` on this clock), unless the seat or
   * meeting is gone; returns the retry's cancel.
   */
  #renewalFailed(error: unknown, expiresAtMs: number, retry: () => void): () => void {
    const failure =
      error instanceof MeetTimeError ? error : MeetTimeError.client("NETWORK_ERROR", String(error), error);
    this.#options.emit("error", failure);
    const final = [401, 403, 404, 410].includes(failure.status);
    if (this.#stopped || final || Date.now() + RENEWAL_RETRY_MS >= expiresAtMs) return noop;
    const timer = setTimeout(retry, RENEWAL_RETRY_MS);
    return () => clearTimeout(timer);
  }
}

/**
 * ICE servers for one participant: STUN from STUN_URLS, plus TURN with
 * fresh credentials, either by the TURN REST API scheme (a secret shared
 * with a coturn-style server, HMAC-SHA1 over `<expiry>:<participant id>`)
 * or from Cloudflare Realtime TURN's credential API. TURN is best effort: a
 * provider that fails, or takes longer than TURN_TIMEOUT_MS, is left out
 * and reported, so an answer never fails for it. Runs in the worker, not in
 * the meeting's object, which only says whom the credentials are for. Pure
 * (WebCrypto and an injectable fetch), so Node tests run it as it is.
 */
import { z } from "zod";
import { IceServer, type IceServerData } from "../protocol/schemas";

export const DEFAULT_STUN_URLS = ["stun:stun.cloudflare.com:3478"];
export const DEFAULT_TURN_API_BASE_URL = "https://rtc.live.cloudflare.com";
/** How long a TURN provider may take before the answer goes out with STUN only. */
export const TURN_TIMEOUT_MS = 2_000;

export type TurnProvider =
  /** Any TURN server that takes TURN REST API credentials (coturn `use-auth-secret`). */
  | { kind: "shared-secret"; urls: string[]; sharedSecret: string }
  /** Cloudflare Realtime TURN: credentials come from its API. */
  | { kind: "cloudflare"; keyId: string; apiToken: string; apiBaseUrl: string };

export interface IceConfig {
  stunUrls: string[];
  turn: TurnProvider[];
  /** TURN_TTL_SECONDS: the longest credential lifetime. */
  ttlSeconds: number;
}

export interface IceServers {
  iceServers: IceServerData[];
  /** ISO time the credentials (and so the list) stop working; the same lifetime when there are none. */
  expiresAt: string;
}

/** A TURN provider left out of an answer, and why (never a secret). */
export interface TurnFailure {
  provider: TurnProvider["kind"];
  reason: string;
}

export interface IceOptions {
  /** The outbound fetch; tests inject a stub. */
  fetch?: typeof fetch;
  now?: number;
  timeoutMs?: number;
}

/**
 * The ICE servers for `participantId`, valid for TURN_TTL_SECONDS and never
 * past `notAfter` (the participant's token expiry, epoch ms).
 * @example const { iceServers, expiresAt } = await iceServersFor(config.ice, participant.id, tokenExpiresAt)
 */
export async function iceServersFor(
  config: IceConfig,
  participantId: string,
  notAfter: number,
  options: IceOptions = {},
): Promise<IceServers & { failures: TurnFailure[] }> {
  const now = options.now ?? Date.now();
  const nowSeconds = Math.floor(now / 1000);
  // At least a second: a token accepted this instant still gets a usable answer.
  const lifetime = Math.max(1, Math.min(config.ttlSeconds, Math.floor(notAfter / 1000) - nowSeconds));
  const expiresAtSeconds = nowSeconds + lifetime;
  const stun: IceServerData[] = config.stunUrls.length > 0 ? [{ urls: config.stunUrls }] : [];
  const failures: TurnFailure[] = [];
  const turn = await Promise.all(
    config.turn.map((provider) =>
      turnServers(provider, participantId, lifetime, expiresAtSeconds, options).catch((error: unknown) => {
        failures.push({ provider: provider.kind, reason: failureReason(error) });
        return [];
      }),
    ),
  );
  return {
    iceServers: [...stun, ...withoutUrls(turn.flat(), new Set(config.stunUrls))],
    expiresAt: new Date(expiresAtSeconds * 1000).toISOString(),
    failures,
  };
}

function turnServers(
  provider: TurnProvider,
  participantId: string,
  lifetime: number,
  expiresAtSeconds: number,
  options: IceOptions,
): Promise<IceServerData[]> {
  switch (provider.kind) {
    case "shared-secret":
      return sharedSecretServers(provider.urls, provider.sharedSecret, `${expiresAtSeconds}:${participantId}`);
    case "cloudflare":
      return withTimeout(options.timeoutMs ?? TURN_TIMEOUT_MS, (signal) =>
        cloudflareServers(provider, lifetime, options.fetch ?? ((input, init) => fetch(input, init)), signal),
      );
    default:
      return assertNever(provider);
  }
}

async function sharedSecretServers(urls: string[], sharedSecret: string, username: string): Promise<IceServerData[]> {
  return [{ urls, username, credential: await turnRestCredential(sharedSecret, username) }];
}

/**
 * The TURN REST API password (draft-uberti-behave-turn-rest, as coturn's
 * `use-auth-secret` checks it): base64(HMAC-SHA1(secret, username)).
 * @example await turnRestCredential("s3cret", "1767225600:participant-id")
 */
export async function turnRestCredential(sharedSecret: string, username: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(sharedSecret),
    { name: "HMAC", hash: "SHA-1" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(username)));
  return btoa(String.fromCharCode(...mac));
}

/**
 * Cloudflare's answer. Its documented shape is an array of servers; an
 * older endpoint answered a single object, so both are taken.
 */
const CloudflareAnswer = z.object({ iceServers: z.union([z.array(IceServer), IceServer]) });

async function cloudflareServers(
  provider: Extract<TurnProvider, { kind: "cloudflare" }>,
  lifetime: number,
  fetchImpl: typeof fetch,
  signal: AbortSignal,
): Promise<IceServerData[]> {
  const base = provider.apiBaseUrl.replace(/\/+$/, "");
  const url = `${base}/v1/turn/keys/${encodeURIComponent(provider.keyId)}/credentials/generate-ice-servers`;
  const response = await fetchImpl(url, {
    method: "POST",
    headers: { authorization: `Bearer ${provider.apiToken}`, "content-type": "application/json" },
    body: JSON.stringify({ ttl: lifetime }),
    signal,
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new TurnProviderError(`answered ${response.status}`);
  }
  const parsed = CloudflareAnswer.safeParse(await response.json().catch(() => null));
  if (!parsed.success) throw new TurnProviderError("answered an unexpected body");
  const servers = Array.isArray(parsed.data.iceServers) ? parsed.data.iceServers : [parsed.data.iceServers];
  return servers.flatMap((server) => keepUrls(server, (url) => !onPort53(url)));
}

/** `server` with only the URLs `keep` accepts; nothing when none is left. */
function keepUrls(server: IceServerData, keep: (url: string) => boolean): IceServerData[] {
  const urls = (Array.isArray(server.urls) ? server.urls : [server.urls]).filter(keep);
  return urls.length > 0 ? [{ ...server, urls }] : [];
}

/**
 * A provider's credential-less entries (Cloudflare lists its STUN server)
 * without the URLs STUN_URLS already gave, so a browser does not probe one
 * server twice. Entries with credentials are kept whole.
 */
function withoutUrls(servers: IceServerData[], known: Set<string>): IceServerData[] {
  return servers.flatMap((server) =>
    server.username === undefined ? keepUrls(server, (url) => !known.has(url)) : [server],
  );
}

/** `stun:`/`turn:` URLs on port 53: browsers block that port, so such an entry only costs time. */
export function onPort53(url: string): boolean {
  return /^(?:stuns?|turns?):(?:\[[^\]]*\]|[^:?/]*):53(?:[?/]|$)/i.test(url.trim());
}

class TurnProviderError extends Error {}

/** Runs `work` with a signal that aborts after `ms`; rejects at `ms` even if `work` ignores the signal. */
async function withTimeout<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new TurnProviderError(`no answer within ${ms} ms`);
      controller.abort(error);
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), timedOut]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

function failureReason(error: unknown): string {
  if (error instanceof TurnProviderError) return error.message;
  return error instanceof Error ? `${error.name}: request failed` : "request failed";
}

function assertNever(value: never): never {
  throw new Error(`unknown TURN provider ${JSON.stringify(value)}`);
}

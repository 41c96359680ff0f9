/**
 * A stand-in for Cloudflare Realtime SFU's Connection API, for the
 * `workers-sfu` project (vitest.config.ts points SFU_API_BASE_URL at it):
 * the worker's and the meeting object's outbound `fetch` to that address is
 * answered here, in the documented shapes, and recorded. Each operation can
 * be told to refuse (4xx with `errorCode`), fail (500) or hang until the
 * caller gives up. Nothing leaves the machine.
 */
import { vi } from "vitest";

export const SFU_BASE = "http://sfu.meettime.test/v1";
export const SFU_APP = "sfu-app-for-tests";
export const SFU_SECRET = "sfu-app-secret-that-must-never-leak";

export type SfuOperation = "sessions/new" | "tracks/new" | "renegotiate" | "tracks/close";

export interface SfuCall {
  operation: SfuOperation;
  /** The session in the path (none for sessions/new). */
  sessionId?: string;
  body: any;
  authorization: string | null;
}

export type SfuBehaviour =
  | { kind: "refuse"; status?: number; errorCode: string; errorDescription: string }
  | { kind: "fail"; status?: number }
  | { kind: "hang" }
  /** Answers normally, after `ms`. */
  | { kind: "delay"; ms: number };

interface FakeTrack {
  mid: string;
  trackName: string;
  location: "local" | "remote";
}

const OFFER = { type: "offer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=sfu offer\r\n" };
const ANSWER = { type: "answer", sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=sfu answer\r\n" };

function operationOf(path: string): { operation: SfuOperation; sessionId?: string } | undefined {
  const match = path.match(/^\/apps\/[^/]+\/sessions\/(?:new|([^/]+)\/(tracks\/new|renegotiate|tracks\/close))$/);
  if (!match) return undefined;
  if (!match[2]) return { operation: "sessions/new" };
  return { operation: match[2] as SfuOperation, sessionId: decodeURIComponent(match[1]!) };
}

function hex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Installs the stub (undone by `vi.restoreAllMocks()`); returns what it recorded and its controls. */
export function stubSfu() {
  const original = globalThis.fetch;
  const calls: SfuCall[] = [];
  const sessions = new Map<string, FakeTrack[]>();
  const behaviours = new Map<SfuOperation, SfuBehaviour>();
  let nextMid = 100;

  function answer(operation: SfuOperation, sessionId: string | undefined, body: any): Response {
    if (operation === "sessions/new") {
      const id = hex(16);
      sessions.set(id, []);
      return Response.json(
        { sessionId: id, ...(body?.sessionDescription ? { sessionDescription: ANSWER } : {}) },
        {
          status: 201,
        },
      );
    }
    const tracks = sessions.get(sessionId ?? "");
    if (!tracks)
      return Response.json({ errorCode: "session_not_found", errorDescription: "no such session" }, { status: 404 });
    if (operation === "tracks/new") {
      let pulls = false;
      const results = (body.tracks as any[]).map((track) => {
        if (track.location === "local") {
          tracks.push({ mid: track.mid, trackName: track.trackName, location: "local" });
          return { trackName: track.trackName, mid: track.mid, sessionId };
        }
        const publisher = sessions.get(track.sessionId);
        if (!publisher?.some((t) => t.location === "local" && t.trackName === track.trackName)) {
          return { ...track, errorCode: "not_found", errorDescription: "track not found" };
        }
        pulls = true;
        const mid = String(nextMid++);
        tracks.push({ mid, trackName: track.trackName, location: "remote" });
        return { sessionId: track.sessionId, trackName: track.trackName, mid };
      });
      return Response.json({
        requiresImmediateRenegotiation: pulls,
        ...(pulls ? { sessionDescription: OFFER } : body.sessionDescription ? { sessionDescription: ANSWER } : {}),
        tracks: results,
      });
    }
    if (operation === "renegotiate") return Response.json({});
    const results = (body.tracks as { mid: string }[]).map(({ mid }) => {
      const index = tracks.findIndex((t) => t.mid === mid);
      if (index < 0)
        return { mid, errorCode: "close_track_error", errorDescription: "Track doesn't exist or was already closed" };
      tracks.splice(index, 1);
      return { mid };
    });
    return Response.json({
      requiresImmediateRenegotiation: false,
      ...(body.force ? {} : { sessionDescription: ANSWER }),
      tracks: results,
    });
  }

  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    if (!request.url.startsWith(SFU_BASE)) return original(input, init);
    const route = operationOf(new URL(request.url).pathname.slice(new URL(SFU_BASE).pathname.length));
    if (!route) return Response.json({ errorCode: "not_found" }, { status: 404 });
    const text = await request.text();
    const body = text ? JSON.parse(text) : undefined;
    calls.push({ ...route, body, authorization: request.headers.get("authorization") });
    if (request.headers.get("authorization") !== `Bearer ${SFU_SECRET}`) {
      return Response.json({ errorCode: "unauthorized" }, { status: 401 });
    }
    const behaviour = behaviours.get(route.operation);
    if (behaviour?.kind === "hang") {
      const signal = init?.signal;
      return new Promise<Response>((_, reject) => signal?.addEventListener("abort", () => reject(signal.reason)));
    }
    if (behaviour?.kind === "delay") await new Promise((resolve) => setTimeout(resolve, behaviour.ms));
    if (behaviour?.kind === "fail") return new Response("upstream trouble", { status: behaviour.status ?? 500 });
    if (behaviour?.kind === "refuse") {
      const { errorCode, errorDescription } = behaviour;
      return Response.json({ errorCode, errorDescription }, { status: behaviour.status ?? 400 });
    }
    return answer(route.operation, route.sessionId, body);
  });

  return {
    calls,
    /** The calls of one operation, in order. */
    callsOf: (operation: SfuOperation) => calls.filter((call) => call.operation === operation),
    /** Every session id the stub handed out. */
    sessionIds: () => [...sessions.keys()],
    /** The session's open tracks, as the SFU sees them. */
    tracksOf: (sessionId: string) => sessions.get(sessionId) ?? [],
    /** From now on, `operation` behaves as told (until `heal`). */
    misbehave: (operation: SfuOperation, behaviour: SfuBehaviour) => behaviours.set(operation, behaviour),
    heal: () => behaviours.clear(),
  };
}

export type SfuStub = ReturnType<typeof stubSfu>;

/** Everything logged from now on (the worker's and the meeting objects' lines), as one string. */
export function captureLogs(): () => string {
  const spies = (["log", "info", "warn", "error", "debug"] as const).map((level) => vi.spyOn(console, level));
  return () => spies.flatMap((spy) => spy.mock.calls.map((args) => args.map(String).join(" "))).join("\n");
}

/** Resolves once `ready()` holds, polling: for what the meeting object sends the SFU in the background. */
export async function eventually<T>(ready: () => T | undefined | false, timeoutMs = 3000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = ready();
    if (value) return value;
    if (Date.now() > until) throw new Error("timed out waiting for the SFU call");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

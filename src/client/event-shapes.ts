/**
 * A light check of each server event's `data` before the SDK reads it: the
 * type of every field the contract gives (`typeof`, enums, arrays), nothing
 * more. The zod schemas would do it too, but they would add ~95 KB (gzip) to
 * every browser bundle; these checks cost a few `typeof` per chat message.
 * Each check is typed against the schema's type (`Check<T>` is invariant in
 * `T`), so the compiler fails here when an event gains, loses or changes a field.
 */
import type { ServerEventMap, ServerEventType } from "./types.js";

/** Returns undefined when `value` fits, else where it does not (`""`: the value itself, `a.b`: a field). */
export interface Check<T> {
  (value: unknown): string | undefined;
  /** Types only: ties the check to the type it guarantees, in both directions. */
  readonly type?: (value: T) => T;
}

type Checked<C> = C extends Check<infer T> ? T : never;
type FieldsOf<F> = { [K in keyof F as undefined extends Checked<F[K]> ? never : K]: Checked<F[K]> } & {
  [K in keyof F as undefined extends Checked<F[K]> ? K : never]?: Checked<F[K]>;
};

const check = <T>(fits: (value: unknown) => string | undefined): Check<T> => fits;
const typed = <T>(type: "string" | "number" | "boolean") =>
  check<T>((value) => (typeof value === type ? undefined : ""));
const at = (key: string | number, where: string) => (where === "" ? String(key) : `${key}.${where}`);

const string = typed<string>("string");
const number = typed<number>("number");
const boolean = typed<boolean>("boolean");

const oneOf = <const L extends readonly string[]>(...values: L) =>
  check<L[number]>((value) => (values.includes(value as string) ? undefined : ""));

/** Absent, `null` or fitting `inner` (the contract's optional fields may be null too). */
const optional = <T>(inner: Check<T>) =>
  check<T | null | undefined>((value) => (value === undefined || value === null ? undefined : inner(value)));

const arrayOf = <T>(item: Check<T>) =>
  check<T[]>((value) => {
    if (!Array.isArray(value)) return "";
    for (let i = 0; i < value.length; i++) {
      const where = item(value[i]);
      if (where !== undefined) return at(i, where);
    }
    return undefined;
  });

/** An object with (at least) these fields; unknown fields are a newer server's and pass. */
const object = <F extends Record<string, Check<any>>>(fields: F) => {
  const entries = Object.entries(fields);
  return check<FieldsOf<F>>((value) => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return "";
    for (const [key, fits] of entries) {
      const where = fits((value as Record<string, unknown>)[key]);
      if (where !== undefined) return at(key, where);
    }
    return undefined;
  });
};

type Data<K extends ServerEventType> = ServerEventMap[K];

const participantState: Check<Data<"participant:updated">["state"]> = object({
  audio: boolean,
  video: boolean,
  screen: boolean,
  handRaised: boolean,
});
const participant: Check<Data<"meeting:participant-joined">["participant"]> = object({
  id: string,
  name: string,
  role: oneOf("host", "participant"),
  connected: boolean,
  joinedAt: string,
  state: participantState,
});
const meeting: Check<Data<"meeting:joined">["meeting"]> = object({
  id: string,
  title: string,
  status: oneOf("active", "ended"),
  scheduledAt: string,
  durationMinutes: number,
  timezone: string,
  version: number,
  maxParticipants: number,
  createdAt: string,
  updatedAt: string,
  expiresAt: string,
  participantCount: number,
  participants: arrayOf(participant),
});
const chatMessage: Check<Data<"chat:new-message">> = object({
  id: string,
  seq: number,
  participantId: string,
  name: string,
  text: string,
  ts: string,
});
const description = object({ from: string, sdp: string });
const publishedTrack: Check<Data<"media:tracks">["tracks"][number]> = object({
  trackName: string,
  kind: oneOf("audio", "video"),
  screen: check<boolean | undefined>((value) => (value === undefined || typeof value === "boolean" ? undefined : "")),
});
const publishedTracks = arrayOf(publishedTrack);
/** `media` of `meeting:joined` (contract 1.2): the mode, and for `sfu` each participant's tracks. */
const joinedMedia: Check<Data<"meeting:joined">["media"]> = object({
  mode: oneOf("mesh", "sfu"),
  tracks: check<Record<string, Data<"media:tracks">["tracks"]> | undefined>((value) => {
    if (value === undefined) return undefined;
    if (typeof value !== "object" || value === null || Array.isArray(value)) return "";
    for (const [participantId, list] of Object.entries(value)) {
      const where = publishedTracks(list);
      if (where !== undefined) return at(participantId, where);
    }
    return undefined;
  }),
});

/**
 * The check of each server event's `data`, by `type`. A `Record` over the
 * schema's union, so the compiler fails here when the contract gains or loses an event.
 */
export const SERVER_EVENT_CHECKS: { [K in ServerEventType]: Check<Data<K>> } = {
  "meeting:joined": object({ self: participant, meeting, chat: arrayOf(chatMessage), media: joinedMedia }),
  "meeting:participant-joined": object({ participant }),
  "meeting:participant-left": object({
    participantId: string,
    reason: oneOf("left", "disconnected", "kicked"),
  }),
  "meeting:datetime:changed": object({ meeting, updatedBy: string }),
  "chat:new-message": chatMessage,
  "participant:updated": object({ participantId: string, state: participantState }),
  "meeting:kicked": object({ reason: string }),
  "meeting:terminated": object({}),
  "session:replaced": object({}),
  "webrtc:offer": description,
  "webrtc:answer": description,
  "webrtc:ice-candidate": object({
    from: string,
    candidate: object({
      candidate: string,
      sdpMid: optional(string),
      sdpMLineIndex: optional(number),
      usernameFragment: optional(string),
    }),
  }),
  "media:tracks": object({ participantId: string, tracks: publishedTracks }),
};

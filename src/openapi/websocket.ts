/**
 * The meeting WebSocket in words, for the OpenAPI document: OpenAPI has no
 * notion of frames, so the route's description lists every client frame and
 * server event, taken from the `ClientFrame` and `ServerEvent` unions (the
 * notes are typed by those unions, so a new frame type fails to compile
 * until it is described here). The frame schemas themselves are components.
 */
import { ClientFrame, type ClientFrameType, ServerEvent, type ServerEventData } from "../protocol/schemas";

type ServerEventType = ServerEventData["type"];

const CLIENT_FRAME_NOTES: Record<ClientFrameType, string> = {
  "chat:message": "all; everyone, sender included, gets `chat:new-message` (rate limit: 10, refilling 5/s)",
  "webrtc:offer":
    "all; only `to` gets `webrtc:offer { from, sdp }` (signaling into one participant, all three types together: 200 at once, then 100/s)",
  "webrtc:answer": "all; only `to` gets `webrtc:answer { from, sdp }` (counts towards the limit into `to`, as offers)",
  "webrtc:ice-candidate":
    "all; only `to` gets `webrtc:ice-candidate { from, candidate }` (counts towards the limit into `to`, as offers)",
  "participant:update":
    "all; everyone gets `participant:updated` with the full state; an update that changes nothing is only acknowledged",
  "meeting:datetime:update": "host; as `PUT /api/meetings/{id}/datetime`",
  "host:kick-participant": "host; as `POST /api/meetings/{id}/kick`",
  "meeting:leave": "all; as `POST /api/meetings/{id}/leave`",
};

const SERVER_EVENT_NOTES: Record<ServerEventType, string> = {
  "meeting:joined":
    "to the newcomer: itself, the meeting, the last 50 chat messages (or every one after `since`) and `media` (its mode; for `sfu` everyone's published tracks)",
  "meeting:participant-joined": "to the others when someone connects",
  "meeting:participant-left": "reason `left`, `disconnected` or `kicked`",
  "meeting:datetime:changed": "the rescheduled meeting and who changed it",
  "chat:new-message": "a chat message with its `seq`",
  "participant:updated": "a participant's full audio/video/screen/hand state",
  "meeting:kicked": "to the kicked participant, before its socket closes with 4003",
  "meeting:terminated": "to everyone, before the sockets close with 4000",
  "session:replaced": "to an older socket of the same participant, before it closes with 4009",
  "webrtc:offer": "relayed signaling",
  "webrtc:answer": "relayed signaling",
  "webrtc:ice-candidate": "relayed signaling",
  "media:tracks":
    "`sfu` meetings: a participant's whole list of published tracks after a change, to everyone else (empty when withdrawn)",
};

/** The literal `type` of each member of a `type`-keyed union, in declaration order. */
function frameTypes(union: { options: readonly { shape: { type: { value: unknown } } }[] }): string[] {
  return union.options.map((option) => String(option.shape.type.value));
}

export const CLIENT_FRAME_TYPES = frameTypes(ClientFrame) as ClientFrameType[];
export const SERVER_EVENT_TYPES = frameTypes(ServerEvent) as ServerEventType[];

/** Markdown for the WebSocket route's description. */
export function webSocketDescription(): string {
  const clientRows = CLIENT_FRAME_TYPES.map((type) => `| \`${type}\` | ${CLIENT_FRAME_NOTES[type]} |`);
  const serverRows = SERVER_EVENT_TYPES.map((type) => `| \`${type}\` | ${SERVER_EVENT_NOTES[type]} |`);
  return [
    "Upgrade with `Upgrade: websocket`. The token is `?token=` or the subprotocol pair `Sec-WebSocket-Protocol: meettime, <token>` (answered `meettime`). `since=<seq>` replays the stored chat after that `seq`. Refusals come before the upgrade, as REST errors.",
    "",
    "Frames are JSON text. The text frame `ping` is answered `pong`; send it every 20 s (a socket silent for 60 s is dropped).",
    "",
    '**Client frames** `{ type, data, id? }` (schema `ClientFrame`). A frame with an `id` is answered `{ type: "ack", id }` or `{ type: "error", id, error: { code, message } }`; without `id`, only failures are answered.',
    "",
    "| type | who; effect |",
    "|---|---|",
    ...clientRows,
    "",
    "**Server events** `{ type, data, ts }` (schema `ServerEvent`).",
    "",
    "| type | data |",
    "|---|---|",
    ...serverRows,
    "",
    "Close codes: 1000 left, 1001 dropped for silence, 4000 meeting terminated, 4003 kicked, 4008 too many refused frames, 4009 replaced by a newer socket.",
  ].join("\n");
}

/**
 * The `meeting:joined` frame, built and sized before a socket is registered.
 * With `since=0` it may carry every stored message (up to 599 of 2,000
 * characters, about 3.6 MB of UTF-8): more than many clients take in one
 * frame (workerd received at most 1 MiB until recently, proxies and mobile
 * stacks often cap lower). So the frame is held to JOINED_FRAME_MAX_BYTES by
 * leaving out the oldest messages; the client sees the first `seq` jump, as
 * it does when its gap is older than what the meeting keeps.
 */
import type { ChatMessageData, JoinedMediaData, MeetingData, ParticipantData } from "../protocol/schemas";
import { frameBytesOver, utf8Length } from "./frames";
import { encodeEvent } from "./socket-registry";

export const JOINED_FRAME_MAX_BYTES = 1024 * 1024;

/** The encoded frame: the newest messages of `chat` (oldest first) that fit the limit with the rest. */
export function buildJoinedFrame(
  self: ParticipantData,
  meeting: MeetingData,
  chat: ChatMessageData[],
  media: JoinedMediaData,
  maxBytes = JOINED_FRAME_MAX_BYTES,
): string {
  const frame = encodeEvent({ type: "meeting:joined", data: { self, meeting, chat, media } });
  if (!frameBytesOver(frame, maxBytes)) return frame;
  let budget = maxBytes - utf8Length(encodeEvent({ type: "meeting:joined", data: { self, meeting, chat: [], media } }));
  let kept = 0;
  for (let i = chat.length - 1; i >= 0; i--) {
    // Each message adds its JSON and one separating comma.
    const size = utf8Length(JSON.stringify(chat[i])) + 1;
    if (size > budget) break;
    budget -= size;
    kept++;
  }
  return encodeEvent({
    type: "meeting:joined",
    data: { self, meeting, chat: chat.slice(chat.length - kept), media },
  });
}

/** Live numbers for the host; readable until the meeting expires, ended or not. */
import type { TokenClaims } from "../auth/tokens";
import type { MeetingStatsData } from "../protocol/schemas";
import { authorize, HOST_ONLY } from "./access";
import type { RoomContext } from "./context";
import { liveMeetingView } from "./live-views";
import { iso } from "./views";

export function meetingStats(room: RoomContext, claims: TokenClaims): { stats: MeetingStatsData } {
  const { meeting } = authorize(room, claims, HOST_ONLY);
  return {
    stats: {
      meetingId: meeting.id,
      status: meeting.status,
      version: meeting.version,
      participantCount: liveMeetingView(room, meeting).participantCount,
      connectedSockets: room.sockets.size,
      messagesRelayed: room.relayed.frames,
      messagesRelayedSince: iso(room.relayed.since),
      chatMessagesSent: room.chat.last(),
      chatMessagesStored: room.store.chatCount(),
      ...room.store.rowCounts(Date.now()),
      storageBytes: room.ctx.storage.sql.databaseSize,
    },
  };
}

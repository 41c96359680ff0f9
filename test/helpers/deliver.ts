/**
 * Hands raw messages to a meeting object's socket handler back to back, as
 * the runtime does when they arrive together, so a burst is not spread out
 * by a slow test machine, and so a test can look inside the object (spies)
 * while it handles them.
 */
import { runInDurableObject } from "cloudflare:test";
import type { RoomContext } from "../../src/meeting/context";
import type { MeetingRoom } from "../../src/meeting/room";
import { meetingObject } from "./sockets";

/** The meeting object's collaborators (its private `RoomContext`), for spies and injected failures. */
export function internals(room: MeetingRoom): RoomContext {
  return (room as unknown as { room: RoomContext }).room;
}

export type Delivery = { participantId: string; message: string | object };

/**
 * Delivers each message from its participant's live socket; `inside` runs
 * first in the object (to set up spies) and its result is handed back with
 * how long the deliveries took on the object's clock.
 */
export async function deliverAtOnce<T = undefined>(
  meetingId: string,
  deliveries: Delivery[],
  inside?: (room: MeetingRoom) => { result: () => T; restore?: () => void },
): Promise<{ elapsedMs: number; result: T | undefined }> {
  return runInDurableObject(meetingObject(meetingId), async (room, state) => {
    const probe = inside?.(room);
    try {
      const startedAt = Date.now();
      for (const { participantId, message } of deliveries) {
        const [ws] = state.getWebSockets(participantId);
        await room.webSocketMessage(ws!, typeof message === "string" ? message : JSON.stringify(message));
      }
      return { elapsedMs: Date.now() - startedAt, result: probe?.result() };
    } finally {
      probe?.restore?.();
    }
  });
}

/**
 * Looking inside meetings from REST tests: a rejected request must leave the
 * meeting's rows exactly as they were, a rejected id must not bring a
 * Durable Object into existence, and an expired meeting must leave nothing.
 */
import {
  env,
  evictDurableObject,
  listDurableObjectIds,
  runDurableObjectAlarm,
  runInDurableObject,
} from "cloudflare:test";
import { expect } from "vitest";
import { type ApiResponse, expectError } from "./api";
import { snapshotMeeting } from "./snapshot";
import { meetingObject } from "./sockets";

/** How many meeting objects have storage. */
export async function storedMeetingCount(): Promise<number> {
  return (await listDurableObjectIds(env.MEETINGS)).length;
}

/**
 * Sends a request that must be refused with `status`/`code`, and proves the
 * meeting's stored rows are byte-for-byte what they were before it.
 * @example await expectRejected(id, () => api("POST", `/api/meetings/${id}/kick`, {...}), 400, "VALIDATION_FAILED")
 */
export async function expectRejected(
  meetingId: string,
  send: () => Promise<ApiResponse>,
  status: number,
  code: string,
): Promise<ApiResponse> {
  const before = await snapshotMeeting(meetingId);
  const res = await send();
  expectError(res, status, code);
  expect(await snapshotMeeting(meetingId), `stored rows changed after a rejected ${code}`).toEqual(before);
  return res;
}

/** Moves the meeting past its expiry and runs its alarm, as time would: afterwards its storage is gone. */
export async function expireMeeting(meetingId: string): Promise<void> {
  const stub = meetingObject(meetingId);
  await runInDurableObject(stub, (_, state) => {
    state.storage.sql.exec("UPDATE meeting SET expires_at = ?", Date.now() - 1000);
  });
  // A fresh instance reads the new expiry from storage instead of its cached copy.
  await evictDurableObject(stub);
  expect(await runDurableObjectAlarm(stub)).toBe(true);
  const tables = await runInDurableObject(stub, (_, state) =>
    state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%'").toArray(),
  );
  expect(tables).toEqual([]);
}

/**
 * A byte-exact picture of a meeting's stored state: every row of every
 * SQLite table of its Durable Object, read from inside the object. Two
 * snapshots compare equal exactly when nothing was written in between, which
 * is how the fuzz tests prove that a rejected input changed nothing.
 */
import { runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import { internals } from "./deliver";
import { meetingObject } from "./sockets";

/** Table name → rows in rowid order, each row with every column; blobs as hex. */
export type StorageSnapshot = Record<string, Record<string, unknown>[]>;

function hex(buffer: ArrayBuffer): string {
  return `x'${[...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("")}'`;
}

/** Reads every user table of the meeting's object (SQLite's and the runtime's own `_cf_` tables excluded). */
export async function snapshotMeeting(meetingId: string): Promise<StorageSnapshot> {
  return runInDurableObject(meetingObject(meetingId), (room, state) => {
    const sql = state.storage.sql;
    const tables = sql
      .exec(
        `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name`,
      )
      .toArray()
      .map((row) => row.name as string);
    // Participant state reaches storage lazily (presence.ts): write what earlier accepted input left
    // pending first, so a due write is never mistaken for one made by the input under test.
    if (tables.includes("participant")) internals(room).presence.flush();
    const snapshot: StorageSnapshot = {};
    for (const table of tables) {
      // Table names come from sqlite_master itself; quoting keeps odd names safe.
      const rows = sql.exec(`SELECT * FROM "${table.replaceAll('"', '""')}" ORDER BY rowid`).toArray();
      snapshot[table] = rows.map((row) =>
        Object.fromEntries(
          Object.entries(row).map(([column, value]) => [column, value instanceof ArrayBuffer ? hex(value) : value]),
        ),
      );
    }
    return snapshot;
  });
}

/** Asserts that the meeting's storage is exactly `before`; `context` says which input was rejected. */
export async function expectUnchanged(meetingId: string, before: StorageSnapshot, context: string): Promise<void> {
  expect(await snapshotMeeting(meetingId), `stored state changed after rejected input: ${context}`).toEqual(before);
}

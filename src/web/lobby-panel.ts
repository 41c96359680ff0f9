/**
 * The host's lobby banner (contract 1.2): who waits to be let in, each with
 * Admit and Deny, at the top of the meeting page and kept in view while
 * the host scrolls or watches the video. A knock is said in words at once
 * (a polite live region), and each row is kept in place while others come
 * and go, so a host tabbing to a button does not lose it.
 */
import { MeetTimeError } from "../client/errors";
import type { LobbyEntryData } from "../client/types";
import { h } from "./dom";
import { describeError } from "./messages";

export interface LobbyAnswers {
  admit(requestId: string): Promise<void>;
  deny(requestId: string): Promise<void>;
}

export interface LobbyPanel {
  element: HTMLElement;
  /** Shows the lobby as it is now (`conn.lobby`). */
  render(lobby: readonly LobbyEntryData[]): void;
  /** Says a new knock out loud (and on screen). */
  announce(entry: LobbyEntryData): void;
}

export function lobbyPanel(answers: LobbyAnswers): LobbyPanel {
  const heading = h("h2", { id: "knocks-heading" }, "Waiting to join");
  // For screen readers (the list shows the same words on screen). Outside the list's section, which hides
  // when the lobby empties: a hidden live region says nothing.
  const status = h("p", { class: "visually-hidden", role: "status", "aria-live": "polite" });
  const list = h("ul", { class: "lobby-list" });
  const knocks = h("section", { class: "panel", "aria-labelledby": heading.id, hidden: true }, heading, list);
  const element = h("div", { class: "lobby-knocks" }, status, knocks);
  const rows = new Map<string, HTMLElement>();

  const answer = (entry: LobbyEntryData, how: "admit" | "deny", row: HTMLElement) => {
    const buttons = [...row.querySelectorAll("button")];
    const problem = row.querySelector<HTMLElement>(".lobby-problem")!;
    for (const button of buttons) button.disabled = true;
    problem.textContent = "";
    answers[how](entry.requestId).then(
      () => {
        status.textContent = how === "admit" ? `${entry.name} was let in.` : `${entry.name} was not let in.`;
      },
      (error: unknown) => {
        for (const button of buttons) button.disabled = false;
        const gone = error instanceof MeetTimeError && error.code === "NOT_FOUND";
        problem.textContent = gone
          ? `${entry.name} is no longer waiting.`
          : error instanceof MeetTimeError && error.code === "MEETING_FULL"
            ? `The meeting is full: ${entry.name} keeps waiting until someone leaves.`
            : `Could not answer ${entry.name}: ${describeError(error)}`;
      },
    );
  };

  const rowFor = (entry: LobbyEntryData) => {
    const row = h(
      "li",
      { "data-request-id": entry.requestId },
      h("span", { class: "lobby-name" }, h("bdi", {}, entry.name), " is waiting to join"),
      h("span", { class: "lobby-problem", role: "alert" }),
    );
    const admit = h("button", { type: "button", class: "small", "aria-label": `Admit ${entry.name}` }, "Admit");
    const deny = h("button", { type: "button", class: "secondary small", "aria-label": `Deny ${entry.name}` }, "Deny");
    admit.addEventListener("click", () => answer(entry, "admit", row));
    deny.addEventListener("click", () => answer(entry, "deny", row));
    row.insertBefore(h("span", { class: "actions" }, admit, deny), row.lastChild);
    return row;
  };

  return {
    element,
    render(lobby) {
      const waiting = new Set(lobby.map((entry) => entry.requestId));
      for (const [requestId, row] of rows) {
        if (waiting.has(requestId)) continue;
        row.remove();
        rows.delete(requestId);
      }
      for (const entry of lobby) {
        if (rows.has(entry.requestId)) continue;
        const row = rowFor(entry);
        rows.set(entry.requestId, row);
        list.append(row);
      }
      heading.textContent = lobby.length > 1 ? `Waiting to join (${lobby.length})` : "Waiting to join";
      knocks.hidden = lobby.length === 0;
    },
    announce(entry) {
      status.textContent = `${entry.name} is asking to join.`;
    },
  };
}

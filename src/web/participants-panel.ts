/**
 * The participant list: each person's name and role, whether they are
 * connected, and their microphone, camera, screen-share and raised-hand
 * state, in words (not colour alone). The host gets a "Remove" button for
 * everyone else.
 */
import type { ParticipantData } from "../client/types";
import { h, personName, replaceChildren } from "./dom";

export interface ParticipantsPanel {
  element: HTMLElement;
  render(participants: readonly ParticipantData[]): void;
}

function badge(text: string, tone: "on" | "off" | "hand" | "plain") {
  return h("span", { class: `badge ${tone}` }, text);
}

export function participantsPanel(
  selfId: string,
  isHost: boolean,
  kick: (participant: ParticipantData) => void,
): ParticipantsPanel {
  const heading = h("h2", { id: "participants-heading" }, "Participants");
  const list = h("ul", {});
  const element = h("section", { class: "panel participants", "aria-labelledby": heading.id }, heading, list);

  return {
    element,
    render(participants) {
      heading.textContent = `Participants (${participants.length})`;
      replaceChildren(
        list,
        ...participants.map((participant) => {
          const { state } = participant;
          const self = participant.id === selfId;
          return h(
            "li",
            { "data-participant-id": participant.id },
            h(
              "span",
              { class: "participant-name" },
              personName(participant.name, { self, host: participant.role === "host" }),
            ),
            h(
              "span",
              { class: "badges" },
              participant.connected ? badge("online", "on") : badge("offline", "off"),
              state.audio ? badge("mic on", "on") : badge("mic off", "off"),
              state.video ? badge("camera on", "on") : badge("camera off", "off"),
              state.screen && badge("sharing screen", "plain"),
              state.handRaised && badge("hand raised", "hand"),
            ),
            isHost &&
              !self &&
              h(
                "button",
                {
                  type: "button",
                  class: "secondary small",
                  "aria-label": `Remove ${participant.name} from the meeting`,
                  onclick: () => kick(participant),
                },
                "Remove",
              ),
          );
        }),
      );
    },
  };
}

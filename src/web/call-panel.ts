/**
 * The call: a `MeshCall` over the meeting's connection, shown as the video
 * grid plus the microphone, camera, hand and screen-share buttons. The
 * mesh's cap (6 peers) is said in words: who is left out of the video, or
 * that this tab is.
 */
import type { MeetingConnection } from "../client/connection";
import { type CallCapacity, MeshCall } from "../client/mesh-call";
import { h, personName, replaceChildren } from "./dom";
import { describeError } from "./messages";
import type { Seat } from "./seat";
import { videoGrid } from "./video-grid";

export interface CallOptions {
  /** Only TURN-relayed paths (`?relay=1`): proves a TURN server works. */
  relayOnly: boolean;
  /** A lower mesh cap (`?maxPeers=2`), for thin connections; undefined keeps the SDK's 6. */
  maxPeers?: number;
}

export interface CallPanel {
  element: HTMLElement;
  start(): void;
  stop(): void;
}

/** A modest camera resolution: a mesh sends it to every peer. */
const MEDIA: MediaStreamConstraints = { audio: true, video: { width: { ideal: 640 }, height: { ideal: 360 } } };

const PEER_STATE_TEXT: Partial<Record<RTCPeerConnectionState, string>> = {
  new: "connecting…",
  connecting: "connecting…",
  disconnected: "connection interrupted…",
  failed: "connection failed, retrying…",
};

/**
 * A toggle button whose label says what pressing it does next ("Mute
 * microphone" / "Unmute microphone"), so it needs no aria-pressed; the
 * `active` class marks the changed state visibly. A failed change leaves it as it was.
 */
function toggle(
  labels: [off: string, on: string],
  onChange: (on: boolean) => Promise<void>,
  failed: (error: unknown) => void,
) {
  let on = false;
  const button = h("button", { type: "button", class: "secondary" }, labels[0]);
  const set = (value: boolean) => {
    on = value;
    button.textContent = labels[on ? 1 : 0];
    button.classList.toggle("active", on);
  };
  button.addEventListener("click", async () => {
    button.disabled = true;
    // The server's echo of the change may set the state while this waits; the target is fixed now.
    const next = !on;
    try {
      await onChange(next);
      set(next);
    } catch (error) {
      failed(error);
    } finally {
      button.disabled = false;
    }
  });
  return { button, set };
}

export function callPanel(
  conn: MeetingConnection,
  seat: Seat,
  options: CallOptions,
  showProblem: (text: string) => void,
): CallPanel {
  const call = new MeshCall(conn, {
    media: MEDIA,
    ...(options.maxPeers === undefined ? {} : { maxPeers: options.maxPeers }),
    ...(options.relayOnly ? { iceTransportPolicy: "relay" } : {}),
  });
  const grid = videoGrid(seat.participantId);
  /** After stop() the call's last events (its local stream going away) must not bring tiles back. */
  let stopped = false;
  const capacityNotice = h("p", { class: "notice", role: "status" });
  const nameOf = (id: string) => conn.participants.find((p) => p.id === id)?.name ?? "Someone";
  const peerStates = new Map<string, RTCPeerConnectionState>();
  const streams = new Map<string, MediaStream>();
  const showPeer = (id: string) => {
    if (stopped) return;
    const state = PEER_STATE_TEXT[peerStates.get(id) ?? "new"];
    // The name is on the tile already (isolated), so the status and placeholder need not repeat it.
    grid.show(id, nameOf(id), streams.get(id) ?? null, "Connecting video…", state);
  };

  const failed = (what: string) => (error: unknown) => showProblem(`${what}: ${describeError(error)}`);
  const mic = toggle(
    ["Mute microphone", "Unmute microphone"],
    (muted) => call.setAudioEnabled(!muted),
    failed("Could not change the microphone"),
  );
  const camera = toggle(
    ["Turn camera off", "Turn camera on"],
    (off) => call.setVideoEnabled(!off),
    failed("Could not change the camera"),
  );
  const hand = toggle(
    ["Raise hand", "Lower hand"],
    (raised) => call.setHandRaised(raised),
    failed("Could not change your hand"),
  );
  const screen = toggle(
    ["Share screen", "Stop sharing"],
    (sharing) => (sharing ? call.startScreenShare() : call.stopScreenShare()),
    failed("Could not share the screen"),
  );
  if (!navigator.mediaDevices?.getDisplayMedia) screen.button.hidden = true;
  const controls = h(
    "div",
    { class: "actions media-controls", role: "group", "aria-label": "Your microphone, camera and hand" },
    mic.button,
    camera.button,
    hand.button,
    screen.button,
  );

  call.on(
    "local-stream",
    (stream) => !stopped && grid.show(seat.participantId, seat.name, stream, "Your camera is off"),
  );
  call.on("stream", ({ participantId, stream }) => {
    streams.set(participantId, stream);
    showPeer(participantId);
  });
  call.on("connection-state", ({ participantId, state }) => {
    peerStates.set(participantId, state);
    showPeer(participantId);
  });
  call.on("peer-left", ({ participantId }) => {
    streams.delete(participantId);
    peerStates.delete(participantId);
    grid.remove(participantId);
  });
  call.on("capacity", (capacity) => {
    replaceChildren(capacityNotice, ...describeCapacity(capacity, nameOf));
  });
  call.on("error", ({ participantId, error }) => {
    if (participantId) console.warn("meettime: call with", participantId, error);
    else
      showProblem(`Camera or microphone unavailable (${describeError(error)}). You can still listen, watch and chat.`);
  });
  // The hand, like the media state, is shown from what the server confirms (another tab may have changed it).
  conn.on("participant:updated", ({ participantId, state }) => {
    if (participantId !== seat.participantId) return;
    hand.set(state.handRaised);
    screen.set(state.screen);
  });

  return {
    element: h("section", { class: "call", "aria-label": "Call" }, capacityNotice, grid.element, controls),
    start() {
      grid.show(seat.participantId, seat.name, null, "Starting your camera…");
      // After a reload the server still has this seat's raised hand.
      conn.ready.then(({ self }) => hand.set(self.state.handRaised)).catch(() => {});
      call.start().catch((error) => {
        // A connection closed before it joined says why in its own banner.
        if (conn.state !== "closed") showProblem(`The call could not start: ${describeError(error)}`);
      });
    },
    stop() {
      stopped = true;
      call.stop();
      for (const id of grid.ids()) grid.remove(id);
      controls.hidden = true;
      capacityNotice.textContent = "";
    },
  };
}

/** The mesh's cap in words, each name isolated; empty when everyone is in the video. */
function describeCapacity(capacity: CallCapacity, nameOf: (id: string) => string): (string | Node)[] {
  const size = capacity.maxPeers + 1;
  if (!capacity.selfInCall) {
    return [
      `The video call holds ${size} people (each sends video to every other), and it is full: you are in the meeting for chat, and get video when someone leaves.`,
    ];
  }
  if (!capacity.over) return [];
  const names = capacity.waiting.flatMap((id, index) => [index ? ", " : "", personName(nameOf(id))]);
  return [
    `The video call holds ${size} people (each sends video to every other). Not in the video: `,
    ...names,
    ". They can still chat.",
  ];
}

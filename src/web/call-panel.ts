/**
 * The call: `createCall` picks the meeting's media path (a `MeshCall` peer
 * to peer, or an `SfuCall` through the SFU), shown as the video grid plus
 * the microphone, camera, hand and screen-share buttons. The mesh's cap (6
 * peers) is said in words: who is left out of the video, or that this tab
 * is. Through the SFU everyone is in: the grid shows a page of at most 25
 * people and only their video is pulled (audio from everyone); whoever
 * speaks gets an outline.
 */
import { type Call, createCall, sharedEvents } from "../client/call";
import type { MeetingConnection } from "../client/connection";
import type { CallCapacity } from "../client/mesh-call";
import { SfuCall } from "../client/sfu-call";
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

/** How often the speaking outline is brought up to date. */
const SPEAKING_POLL_MS = 300;
/** `audioLevel` (0..1) above which someone counts as speaking; fake and real microphones idle well below. */
const SPEAKING_LEVEL = 0.05;
/** An outline stays this long after the voice drops, so it does not flicker between words. */
const SPEAKING_HOLD_MS = 800;

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
  const selfId = seat.participantId;
  /** Created once the join says which media path the meeting uses. */
  let call: Call | undefined;
  const grid = videoGrid(selfId, { onPage: () => arrange() });
  /** After stop() the call's last events (its local stream going away) must not bring tiles back. */
  let stopped = false;
  let speakingTimer: ReturnType<typeof setInterval> | undefined;
  const capacityNotice = h("p", { class: "notice", role: "status" });
  const nameOf = (id: string) => conn.participants.find((p) => p.id === id)?.name ?? "Someone";
  const peerStates = new Map<string, RTCPeerConnectionState>();
  /** The SFU connection's state, for every remote tile (through the SFU they share one connection). */
  let sfuState: RTCPeerConnectionState | undefined;
  const streams = new Map<string, MediaStream>();
  /** Whether a person sends no camera: turned off, or (through the SFU) only a microphone published. */
  const cameraOff = (id: string) => {
    if (conn.participants.find((p) => p.id === id)?.state.video === false) return true;
    const published = conn.media?.tracks?.[id];
    return published !== undefined && !published.some((track) => track.kind === "video");
  };
  const showPeer = (id: string) => {
    if (stopped) return;
    const state = PEER_STATE_TEXT[call instanceof SfuCall ? (sfuState ?? "connected") : (peerStates.get(id) ?? "new")];
    // The name is on the tile already (isolated), so the status and placeholder need not repeat it.
    grid.show(id, nameOf(id), streams.get(id) ?? null, cameraOff(id) ? "Camera off" : "Connecting video…", state);
  };

  /**
   * Orders the grid (this tab, then everyone in the list who has media) and,
   * through the SFU, pulls video only for the page on screen.
   */
  const arrange = () => {
    if (stopped) return;
    const publishing = conn.media?.tracks ?? {};
    const tiles = new Set(grid.ids());
    const others = conn.participants
      .map((p) => p.id)
      .filter((id) => id !== selfId && ((publishing[id]?.length ?? 0) > 0 || tiles.has(id)));
    const page = grid.arrange([selfId, ...others]);
    if (call instanceof SfuCall) call.setVideoFrom(page.filter((id) => id !== selfId));
    return page;
  };

  const needCall = (): Call => {
    if (!call) throw new Error("the call has not started yet");
    return call;
  };
  const failed = (what: string) => (error: unknown) => showProblem(`${what}: ${describeError(error)}`);
  const mic = toggle(
    ["Mute microphone", "Unmute microphone"],
    async (muted) => needCall().setAudioEnabled(!muted),
    failed("Could not change the microphone"),
  );
  const camera = toggle(
    ["Turn camera off", "Turn camera on"],
    async (off) => needCall().setVideoEnabled(!off),
    failed("Could not change the camera"),
  );
  const hand = toggle(
    ["Raise hand", "Lower hand"],
    (raised) => conn.updateState({ handRaised: raised }),
    failed("Could not change your hand"),
  );
  const screen = toggle(
    ["Share screen", "Stop sharing"],
    async (sharing) => (sharing ? needCall().startScreenShare() : needCall().stopScreenShare()),
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

  /** Listens to whichever call the meeting needs: the shared events, then each path's own. */
  const listen = (current: Call) => {
    const events = sharedEvents(current);
    events.on("local-stream", (stream) => !stopped && grid.show(selfId, seat.name, stream, "Your camera is off"));
    events.on("stream", ({ participantId, stream }) => {
      streams.set(participantId, stream);
      showPeer(participantId);
      arrange();
    });
    events.on("peer-left", ({ participantId }) => {
      streams.delete(participantId);
      peerStates.delete(participantId);
      grid.remove(participantId);
      arrange();
    });
    events.on("error", ({ participantId, error }) => {
      if (participantId) console.warn("meettime: call with", participantId, error);
      else if (!current.localStream)
        showProblem(
          `Camera or microphone unavailable (${describeError(error)}). You can still listen, watch and chat.`,
        );
      else console.warn("meettime: call", error);
    });
    if (current instanceof SfuCall) {
      current.on("connection-state", ({ state }) => {
        sfuState = state === "connected" ? undefined : state;
        for (const id of streams.keys()) showPeer(id);
      });
    } else {
      current.on("connection-state", ({ participantId, state }) => {
        peerStates.set(participantId, state);
        showPeer(participantId);
      });
      current.on("capacity", (capacity) => {
        replaceChildren(capacityNotice, ...describeCapacity(capacity, nameOf));
      });
    }
  };

  /** Outlines whoever spoke in the last moment (from the call's audio levels). */
  const watchSpeakers = (current: Call) => {
    const lastLoud = new Map<string, number>();
    speakingTimer = setInterval(async () => {
      const levels = await current.audioLevels().catch(() => new Map<string, number>());
      const now = Date.now();
      for (const [id, level] of levels) if (level > SPEAKING_LEVEL) lastLoud.set(id, now);
      for (const id of grid.ids()) grid.setSpeaking(id, now - (lastLoud.get(id) ?? 0) < SPEAKING_HOLD_MS);
    }, SPEAKING_POLL_MS);
  };

  const begin = async () => {
    await conn.ready;
    if (stopped) return;
    const firstPage = arrange() ?? [];
    const current = await createCall(conn, {
      media: MEDIA,
      videoFrom: firstPage.filter((id) => id !== selfId),
      ...(options.maxPeers === undefined ? {} : { maxPeers: options.maxPeers }),
      ...(options.relayOnly ? { iceTransportPolicy: "relay" } : {}),
    });
    if (stopped) return;
    call = current;
    listen(current);
    watchSpeakers(current);
    for (const type of ["media:tracks", "meeting:participant-joined", "meeting:participant-left"] as const) {
      conn.on(type, () => arrange());
    }
    // A camera turned off or on, or published or withdrawn, changes what the tile says while it has no video.
    for (const type of ["media:tracks", "participant:updated"] as const) {
      conn.on(type, ({ participantId }) => streams.has(participantId) && showPeer(participantId));
    }
    await current.start();
  };

  // The hand, like the media state, is shown from what the server confirms (another tab may have changed it).
  conn.on("participant:updated", ({ participantId, state }) => {
    if (participantId !== selfId) return;
    hand.set(state.handRaised);
    screen.set(state.screen);
  });

  return {
    element: h("section", { class: "call", "aria-label": "Call" }, capacityNotice, grid.element, controls),
    start() {
      grid.show(selfId, seat.name, null, "Starting your camera…");
      // After a reload the server still has this seat's raised hand.
      conn.ready.then(({ self }) => hand.set(self.state.handRaised)).catch(() => {});
      begin().catch((error) => {
        // A connection closed before it joined says why in its own banner.
        if (conn.state !== "closed") showProblem(`The call could not start: ${describeError(error)}`);
      });
    },
    stop() {
      stopped = true;
      clearInterval(speakingTimer);
      call?.stop();
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

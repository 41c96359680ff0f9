// @ts-check
/**
 * Browser-side steps of a local SFU client, for page.evaluate() in the
 * Chromium test and the benchmark: publish the page's fake camera and
 * microphone, pull other sessions' tracks and show their video. Each
 * function is self-contained (it is serialized into the page) and reaches
 * the Connection API through `window.callSfu(method, path, body)`, which
 * the caller exposes; the page's peer connection is `window.peer`.
 */

/**
 * @typedef {(method: string, path: string, body?: unknown) => Promise<{ status: number, body: any }>} CallSfu
 * @typedef {{ sessionId: string, trackName: string }} RemoteTrack
 */

/**
 * Publishes the fake camera (320x240 at 15 fps) and microphone as
 * `<prefix>-audio` and `<prefix>-video`; returns the SFU's per-track answer.
 * @param {{ sessionId: string, prefix: string }} options
 * @returns {Promise<{ trackName: string, mid?: string, errorCode?: string }[]>}
 */
export async function publishCameraInPage({ sessionId, prefix }) {
  const page = /** @type {any} */ (window);
  /** @type {CallSfu} */
  const call = page.callSfu;
  /** @type {RTCPeerConnection} */
  const peer = page.peer ?? new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  page.peer = peer;
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: true,
    video: { width: 320, height: 240, frameRate: 15 },
  });
  const transceivers = stream.getTracks().map((track) => peer.addTransceiver(track, { direction: "sendonly" }));
  await peer.setLocalDescription(await peer.createOffer());
  const answer = await call("POST", `sessions/${sessionId}/tracks/new`, {
    sessionDescription: { type: "offer", sdp: peer.localDescription?.sdp },
    tracks: transceivers.map((transceiver) => ({
      location: "local",
      mid: transceiver.mid,
      trackName: `${prefix}-${transceiver.sender.track?.kind}`,
    })),
  });
  await peer.setRemoteDescription(answer.body.sessionDescription);
  return answer.body.tracks;
}

/**
 * Pulls `tracks`, answers the SFU's offer, and appends a muted, playing
 * `<video data-track="<trackName>">` for each video track as it arrives.
 * `window.pullStartedAt[trackName]` holds when the pull was asked for.
 * @param {{ sessionId: string, tracks: RemoteTrack[] }} options
 */
export async function pullTracksInPage({ sessionId, tracks }) {
  const page = /** @type {any} */ (window);
  /** @type {CallSfu} */
  const call = page.callSfu;
  /** @type {RTCPeerConnection} */
  const peer = page.peer ?? new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  page.peer = peer;
  page.pullStartedAt ??= {};
  /** @type {Map<string, string>} trackName by mid */
  page.trackNamesByMid ??= new Map();
  const names = page.trackNamesByMid;
  if (!page.showsVideo) {
    page.showsVideo = true;
    peer.addEventListener("track", (event) => {
      if (event.track.kind !== "video") return;
      const video = document.createElement("video");
      video.muted = true;
      video.autoplay = true;
      video.dataset.track = names.get(event.transceiver.mid ?? "") ?? "";
      video.srcObject = new MediaStream([event.track]);
      document.body.append(video);
    });
  }
  for (const track of tracks) page.pullStartedAt[track.trackName] = performance.now();
  const pulled = await call("POST", `sessions/${sessionId}/tracks/new`, {
    tracks: tracks.map((track) => ({ location: "remote", ...track })),
  });
  for (const track of pulled.body.tracks) names.set(track.mid, track.trackName);
  await peer.setRemoteDescription(pulled.body.sessionDescription);
  await peer.setLocalDescription(await peer.createAnswer());
  await call("PUT", `sessions/${sessionId}/renegotiate`, {
    sessionDescription: { type: "answer", sdp: peer.localDescription?.sdp },
  });
}

/**
 * A meeting participant that only publishes: joins with an invite, keeps a
 * socket open (pinging as clients do), and publishes the page's camera and
 * microphone through MeetTime's `/media/*` routes, pulling nothing. The
 * benchmark's stand-in for the other people of a large meeting, whose own
 * receiving runs on their own machines. Runs in a page of MeetTime's origin.
 * @param {{ invite: string, displayName: string }} options
 * @returns {Promise<string>} the participant's id
 */
export async function publishOnlyInMeeting({ invite, displayName }) {
  /** @param {string} path @param {string} method @param {unknown} body @param {string} [token] */
  const api = async (path, method, body, token) => {
    const response = await fetch(path, {
      method,
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  const joined = await api("/api/meetings/join", "POST", { token: invite, displayName });
  const meetingPath = `/api/meetings/${joined.meeting.id}`;
  const socket = new WebSocket(`${location.origin.replace(/^http/, "ws")}${meetingPath}/ws`, [
    "meettime",
    joined.sessionToken,
  ]);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  setInterval(() => socket.send("ping"), 20_000);
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  const peer = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  /** @type {any} */ (window).peer = peer;
  await api(`${meetingPath}/media/session`, "POST", {}, joined.sessionToken);
  const transceivers = stream.getTracks().map((track) => peer.addTransceiver(track, { direction: "sendonly" }));
  await peer.setLocalDescription(await peer.createOffer());
  const answer = await api(
    `${meetingPath}/media/tracks`,
    "POST",
    {
      sessionDescription: { type: "offer", sdp: peer.localDescription?.sdp },
      tracks: transceivers.map((transceiver) => ({
        location: "local",
        mid: transceiver.mid,
        trackName: transceiver.sender.track?.kind,
        kind: transceiver.sender.track?.kind,
      })),
    },
    joined.sessionToken,
  );
  await peer.setRemoteDescription(answer.sessionDescription);
  return joined.participant.id;
}

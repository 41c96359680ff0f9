/**
 * `LocalDevices`: what a call sends, shared by `MeshCall` and `SfuCall`:
 * the microphone, the camera and the shared screen, the stream made of them
 * (the screen in place of the camera while shared), and their state
 * mirrored to the meeting as `participant:update`.
 */
import type { MeetingConnection } from "./connection.js";

export class LocalDevices {
  audio: MediaStreamTrack | null = null;
  camera: MediaStreamTrack | null = null;
  screen: MediaStreamTrack | null = null;
  /** What is sent now; null when nothing. */
  stream: MediaStream | null = null;

  constructor(
    readonly connection: MeetingConnection,
    /** Told of every new `stream` (the calls' `local-stream` event). */
    readonly onStream: (stream: MediaStream | null) => void,
  ) {}

  /** The screen while shared, else the camera. */
  get video(): MediaStreamTrack | null {
    return this.screen ?? this.camera;
  }

  /** Asks `getUserMedia`; rejects as it does (a refused camera), leaving nothing open. */
  async open(media: MediaStreamConstraints): Promise<void> {
    if (!media.audio && !media.video) return;
    const stream = await navigator.mediaDevices.getUserMedia(media);
    this.audio = stream.getAudioTracks()[0] ?? null;
    this.camera = stream.getVideoTracks()[0] ?? null;
  }

  async setAudioEnabled(enabled: boolean): Promise<void> {
    if (this.audio) this.audio.enabled = enabled;
    await this.publishState({});
  }

  async setVideoEnabled(enabled: boolean): Promise<void> {
    if (this.camera) this.camera.enabled = enabled;
    await this.publishState({});
  }

  /**
   * Sends the screen instead of the camera (`getDisplayMedia`) and tells
   * everyone; `sendVideo` puts the new video track on the call's connections.
   * Nothing when already sharing or nothing was picked; the browser's own stop
   * button stops it as `stopScreenShare` does.
   */
  async startScreenShare(sendVideo: () => Promise<void>): Promise<void> {
    if (this.screen) return;
    const track = (await navigator.mediaDevices.getDisplayMedia({ video: true })).getVideoTracks()[0];
    if (!track) return;
    this.screen = track;
    track.addEventListener("ended", () => void this.stopScreenShare(sendVideo));
    this.updateStream();
    await sendVideo();
    await this.publishState({ screen: true });
  }

  /** Sends the camera again (nothing when not sharing), and tells everyone. */
  async stopScreenShare(sendVideo: () => Promise<void>): Promise<void> {
    if (!this.screen) return;
    this.screen.stop();
    this.screen = null;
    this.updateStream();
    await sendVideo();
    await this.publishState({ screen: false });
  }

  updateStream(): void {
    const tracks = [this.audio, this.video].filter((t): t is MediaStreamTrack => t !== null);
    this.stream = tracks.length > 0 ? new MediaStream(tracks) : null;
    this.onStream(this.stream);
  }

  /** Mirrors the media state to `participant:update` (a change-less update is acknowledged and not broadcast). */
  async publishState(extra: { screen?: boolean }): Promise<void> {
    await this.connection.updateState({
      audio: this.audio?.enabled ?? false,
      video: (this.camera?.enabled ?? false) || this.screen !== null,
      ...extra,
    });
  }

  /** Stops the microphone, camera and screen. */
  stop(): void {
    for (const track of [this.audio, this.camera, this.screen]) track?.stop();
    this.audio = this.camera = this.screen = null;
    this.updateStream();
  }
}

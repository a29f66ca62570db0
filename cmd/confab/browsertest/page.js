// Test page for the unmodified amazon-chime-sdk-js. Bundled by esbuild into
// bundle.js (see driver.mjs). Everything the driver needs is on window.confab;
// the page starts on its own when the meeting/attendee JSON is in the URL
// hash (#<base64url JSON {meeting, attendee, options}>) or when the driver
// calls window.confab.start({meeting, attendee, options}).
import {
  ConsoleLogger,
  DefaultDeviceController,
  DefaultMeetingSession,
  DefaultVideoStreamIdSet,
  LogLevel,
  MeetingSessionConfiguration,
  MeetingSessionStatusCode,
} from 'amazon-chime-sdk-js';
import { LayerChoicePolicy } from './policy.js';
import { AudioTap } from './audiotap.js';

const state = {
  phase: 'idle', // idle | starting | started | stopped | failed
  events: [], // {t, kind, ...}: every observer callback, in order
  starts: 0,
  stops: [], // {code, name, terminal, failure}
  presence: {}, // attendeeId -> {present, externalUserId, dropped, changes}
  volumes: {}, // attendeeId -> {count, maxVolume, lastVolume, muted, signalStrength}
  dataMessages: [], // received: {topic, text, senderAttendeeId, senderExternalUserId, timestampMs, throttled}
  selfAttendeeId: null,
  error: null,
  tiles: {}, // tileId -> {attendeeId, isContent, local, streamId, removed}
  videoAvailability: null, // {canStartLocalVideo, remoteVideoAvailable}
};
let policy = null; // LayerChoicePolicy when options.video
const videoElements = {}; // tileId -> <video>
let session = null;
let stopWaiters = [];
const volumeSubscribed = new Set();

const t0 = performance.now();
function ev(kind, extra) {
  const e = { t: Math.round(performance.now() - t0), kind, ...extra };
  state.events.push(e);
  document.getElementById('status').textContent = `${state.phase} ${kind}`;
  return e;
}

function statusInfo(s) {
  if (!s) return null;
  const code = s.statusCode();
  return {
    code,
    name: MeetingSessionStatusCode[code],
    terminal: s.isTerminal(),
    failure: s.isFailure(),
    audioVideoFailure: s.isAudioConnectionFailure(),
  };
}

async function start({ meeting, attendee, options = {} }) {
  if (session) throw new Error('already started');
  state.phase = 'starting';
  const logger = new ConsoleLogger('ChimeSDK', LogLevel[options.logLevel || 'DEBUG']);
  const config = new MeetingSessionConfiguration(meeting, attendee);
  if (options.attendeePresenceTimeoutMs !== undefined) {
    config.attendeePresenceTimeoutMs = options.attendeePresenceTimeoutMs;
  }
  if (options.video) {
    // Application-level settings of the stock SDK: RID simulcast uplink,
    // and a downlink policy the test can steer between layers.
    config.enableSimulcastForUnifiedPlanChromiumBasedBrowsers = true;
    policy = new LayerChoicePolicy(config.credentials.attendeeId, DefaultVideoStreamIdSet);
    config.videoDownlinkBandwidthPolicy = policy;
  }
  const deviceController = new DefaultDeviceController(logger, { enableWebAudio: false });
  session = new DefaultMeetingSession(config, logger, deviceController);
  const av = session.audioVideo;
  state.selfAttendeeId = config.credentials.attendeeId;

  av.addObserver({
    audioVideoDidStartConnecting(reconnecting) {
      ev('audioVideoDidStartConnecting', { reconnecting });
    },
    audioVideoDidStart() {
      state.starts++;
      state.phase = 'started';
      ev('audioVideoDidStart');
      ensureTap();
    },
    audioVideoDidStop(s) {
      const info = statusInfo(s);
      state.stops.push(info);
      state.phase = 'stopped';
      ev('audioVideoDidStop', info);
      const w = stopWaiters;
      stopWaiters = [];
      w.forEach((f) => f(info));
    },
    connectionDidBecomePoor() { ev('connectionDidBecomePoor'); },
    videoTileDidUpdate(ts) {
      const t = state.tiles[ts.tileId] || {};
      Object.assign(t, { attendeeId: ts.boundAttendeeId, isContent: ts.isContent, local: ts.localTile, streamId: ts.streamId, removed: false });
      state.tiles[ts.tileId] = t;
      if (!ts.localTile && ts.boundAttendeeId && !videoElements[ts.tileId]) {
        const el = document.createElement('video');
        el.autoplay = true;
        el.muted = true;
        el.playsInline = true;
        el.width = 320;
        document.body.appendChild(el);
        videoElements[ts.tileId] = el;
        session.audioVideo.bindVideoElement(ts.tileId, el);
        ev('remoteTile', { tileId: ts.tileId, attendeeId: ts.boundAttendeeId, isContent: ts.isContent });
      }
    },
    videoTileWasRemoved(tileId) {
      if (state.tiles[tileId]) state.tiles[tileId].removed = true;
      const el = videoElements[tileId];
      if (el) { el.remove(); delete videoElements[tileId]; }
      ev('tileRemoved', { tileId });
    },
    videoAvailabilityDidChange(a) {
      state.videoAvailability = { canStartLocalVideo: a.canStartLocalVideo, remoteVideoAvailable: a.remoteVideoAvailable };
      ev('videoAvailability', state.videoAvailability);
    },
    contentShareDidStart() { ev('contentShareDidStart'); },
    contentShareDidStop() { ev('contentShareDidStop'); },
    connectionDidSuggestStopVideo() { ev('connectionDidSuggestStopVideo'); },
    audioVideoWasDemotedFromPrimaryMeeting(s) { ev('demoted', statusInfo(s)); },
  });

  av.realtimeSubscribeToAttendeeIdPresence((attendeeId, present, externalUserId, dropped) => {
    const p = state.presence[attendeeId] || { changes: 0 };
    Object.assign(p, { present, externalUserId, dropped: !!dropped });
    p.changes++;
    state.presence[attendeeId] = p;
    ev('presence', { attendeeId, present, externalUserId, dropped: !!dropped });
    if (present && !volumeSubscribed.has(attendeeId)) {
      volumeSubscribed.add(attendeeId); // once: presence repeats on every (re)join
      av.realtimeSubscribeToVolumeIndicator(attendeeId, (id, volume, muted, signalStrength) => {
        const v = state.volumes[id] || { count: 0, maxVolume: 0, nonZero: 0 };
        v.count++;
        if (volume !== null) {
          v.lastVolume = volume;
          v.maxVolume = Math.max(v.maxVolume, volume);
          if (volume > 0) v.nonZero++;
        }
        if (muted !== null) v.muted = muted;
        if (signalStrength !== null) v.signalStrength = signalStrength;
        state.volumes[id] = v;
      });
    }
  });

  const topics = options.dataTopics || ['confab-test'];
  for (const topic of topics) {
    av.realtimeSubscribeToReceiveDataMessage(topic, (m) => {
      const d = {
        topic: m.topic,
        text: m.text(),
        senderAttendeeId: m.senderAttendeeId,
        senderExternalUserId: m.senderExternalUserId,
        timestampMs: m.timestampMs,
        throttled: m.throttled,
      };
      state.dataMessages.push(d);
      ev('dataMessage', d);
    });
  }

  // The fake microphone: Chromium's fake capture device plays the WAV given
  // by --use-file-for-fake-audio-capture. Echo cancellation, noise
  // suppression and AGC are off by default (a steady tone is "noise" to them);
  // options.micProcessing=true keeps the SDK's defaults.
  const inputs = await av.listAudioInputDevices();
  ev('audioInputs', { devices: inputs.map((d) => ({ id: d.deviceId, label: d.label })) });
  if (inputs.length === 0) throw new Error('no audio input device (is --use-fake-device-for-media-stream set?)');
  const deviceId = inputs[0].deviceId;
  const device = options.micProcessing
    ? deviceId
    : { deviceId: { exact: deviceId }, echoCancellation: false, noiseSuppression: false, autoGainControl: false };
  await av.startAudioInput(device);
  ev('audioInputStarted', { deviceId });

  await av.bindAudioElement(document.getElementById('meeting-audio'));
  av.start();
  ev('startCalled');
}

function stop() {
  if (!session) return Promise.resolve(null);
  if (state.phase === 'stopped') return Promise.resolve(state.stops[state.stops.length - 1]);
  return new Promise((resolve) => {
    stopWaiters.push(resolve);
    session.audioVideo.stop();
  });
}

// --- video -----------------------------------------------------------------
// The fake camera (--use-fake-device-for-media-stream) is the first video
// input.
async function startVideo() {
  const av = session.audioVideo;
  const inputs = await av.listVideoInputDevices();
  if (inputs.length === 0) throw new Error('no video input device');
  await av.startVideoInput(inputs[0].deviceId);
  av.startLocalVideoTile();
  ev('localVideoStarted', { deviceId: inputs[0].deviceId });
}

// Content share from a canvas that keeps changing (captureStream only emits
// frames when the canvas is drawn).
let contentTimer = null;
async function startContent() {
  const canvas = document.createElement('canvas');
  canvas.width = 640;
  canvas.height = 360;
  const g = canvas.getContext('2d');
  let n = 0;
  contentTimer = setInterval(() => {
    n++;
    g.fillStyle = `hsl(${(n * 7) % 360} 70% 50%)`;
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.fillStyle = '#fff';
    g.font = '48px sans-serif';
    g.fillText(`content ${n}`, 40, 180);
  }, 66);
  await session.audioVideo.startContentShare(canvas.captureStream(15));
  ev('contentStarted');
}

function stopContent() {
  session.audioVideo.stopContentShare();
  if (contentTimer) clearInterval(contentTimer);
}

function preferLayer(which) {
  if (!policy) throw new Error('start with options.video');
  policy.prefer(which);
  ev('preferLayer', { which });
}

// What each remote tile shows now: decoded frames and size.
function videoStats() {
  const out = {};
  for (const [id, el] of Object.entries(videoElements)) {
    const t = state.tiles[id] || {};
    const q = el.getVideoPlaybackQuality ? el.getVideoPlaybackQuality() : {};
    out[id] = { attendeeId: t.attendeeId, isContent: t.isContent, streamId: t.streamId, width: el.videoWidth, height: el.videoHeight, frames: q.totalVideoFrames || 0, dropped: q.droppedVideoFrames || 0 };
  }
  return out;
}

// What this page's camera sends: per simulcast layer (rid) its size,
// bitrate target and why Chromium limits it; and the estimated uplink.
async function uplinkStats() {
  const report = await session.audioVideo.getRTCPeerConnectionStats();
  const out = { layers: [], availableOutgoingBitrate: null };
  if (!report) return out;
  report.forEach((r) => {
    if (r.type === 'outbound-rtp' && r.kind === 'video') {
      out.layers.push({ rid: r.rid, active: r.active, w: r.frameWidth, h: r.frameHeight, fps: r.framesPerSecond, targetBitrate: r.targetBitrate, limitation: r.qualityLimitationReason, bytesSent: r.bytesSent });
    }
    if (r.type === 'candidate-pair' && r.nominated && r.availableOutgoingBitrate !== undefined) {
      out.availableOutgoingBitrate = r.availableOutgoingBitrate;
    }
  });
  out.layers.sort((a, b) => String(a.rid).localeCompare(String(b.rid)));
  return out;
}

// The ICE candidate pair media uses now: its local and remote candidate
// types (relay when the SDK was given TURN credentials).
async function selectedPair() {
  const report = await session.audioVideo.getRTCPeerConnectionStats();
  if (!report) return null;
  let pair = null;
  report.forEach((r) => {
    if (r.type === 'transport' && r.selectedCandidatePairId) pair = report.get(r.selectedCandidatePairId);
  });
  if (!pair) report.forEach((r) => { if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pair = r; });
  if (!pair) return null;
  const local = report.get(pair.localCandidateId) || {};
  const remote = report.get(pair.remoteCandidateId) || {};
  return { local: local.candidateType, localProtocol: local.protocol, relayProtocol: local.relayProtocol, localAddress: `${local.address}:${local.port}`, remote: remote.candidateType, remoteAddress: `${remote.address}:${remote.port}`, bytesSent: pair.bytesSent, bytesReceived: pair.bytesReceived };
}

function subscriptions() {
  return policy ? policy.last() : null;
}

function send(topic, text, lifetimeMs = 0) {
  session.audioVideo.realtimeSendDataMessage(topic, text, lifetimeMs);
  ev('dataMessageSent', { topic, text });
}

// --- received audio tap (audiotap.js) ------------------------------------
const audioTap = new AudioTap(() => document.getElementById('meeting-audio'), (info) => ev('audioTap', info));
function ensureTap() {
  return audioTap.ensure();
}
setInterval(() => { if (state.phase === 'started') ensureTap(); }, 250);

function measure(freqs, windowMs = 1000) {
  return audioTap.measure(freqs, windowMs);
}

function snapshot() {
  return JSON.parse(JSON.stringify(state));
}

window.confab = { start, stop, send, measure, snapshot, state, startVideo, startContent, stopContent, preferLayer, videoStats, subscriptions, uplinkStats, selectedPair };

const hash = location.hash.slice(1);
if (hash) {
  const json = JSON.parse(atob(hash.replace(/-/g, '+').replace(/_/g, '/')));
  start(json).catch((e) => {
    state.phase = 'failed';
    state.error = String((e && e.stack) || e);
    ev('startFailed', { error: state.error });
  });
}

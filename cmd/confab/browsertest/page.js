// Test page for the unmodified amazon-chime-sdk-js. Bundled by esbuild into
// bundle.js (see driver.mjs). Everything the driver needs is on window.confab;
// the page starts on its own when the meeting/attendee JSON is in the URL
// hash (#<base64url JSON {meeting, attendee, options}>) or when the driver
// calls window.confab.start({meeting, attendee, options}).
import {
  ConsoleLogger,
  DefaultDeviceController,
  DefaultMeetingSession,
  LogLevel,
  MeetingSessionConfiguration,
  MeetingSessionStatusCode,
} from 'amazon-chime-sdk-js';

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
};
let session = null;
let stopWaiters = [];
const volumeSubscribed = new Set();
let tap = null; // remote audio tap: {stream, ctx, source, proc, ring, pos, filled, rate}

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

function send(topic, text, lifetimeMs = 0) {
  session.audioVideo.realtimeSendDataMessage(topic, text, lifetimeMs);
  ev('dataMessageSent', { topic, text });
}

// --- received audio tap ---------------------------------------------------
// The SDK sets the <audio> element's srcObject to the remote (mixed) stream.
// A MediaStreamAudioSourceNode feeds a ScriptProcessor that keeps the last
// RING_SECONDS of samples; measure() runs Goertzel on the newest window.
const RING_SECONDS = 5;

function ensureTap() {
  const el = document.getElementById('meeting-audio');
  const stream = el.srcObject;
  if (!stream || stream.getAudioTracks().length === 0) return false;
  if (tap && tap.stream === stream) return true;
  if (tap) {
    try { tap.source.disconnect(); tap.proc.disconnect(); } catch (_) {}
  }
  const ctx = (tap && tap.ctx) || new AudioContext({ sampleRate: 48000 });
  const source = ctx.createMediaStreamSource(stream);
  const proc = ctx.createScriptProcessor(4096, 1, 1);
  const t = { stream, ctx, source, proc, rate: ctx.sampleRate, ring: new Float32Array(ctx.sampleRate * RING_SECONDS), pos: 0, filled: 0, callbacks: 0 };
  proc.onaudioprocess = (e) => {
    const x = e.inputBuffer.getChannelData(0);
    for (let i = 0; i < x.length; i++) {
      t.ring[t.pos] = x[i];
      t.pos = (t.pos + 1) % t.ring.length;
    }
    t.filled = Math.min(t.ring.length, t.filled + x.length);
    t.callbacks++;
  };
  // A muted gain keeps the processor pulled by the graph without playing twice.
  const sink = ctx.createGain();
  sink.gain.value = 0;
  source.connect(proc);
  proc.connect(sink);
  sink.connect(ctx.destination);
  ctx.resume();
  tap = t;
  ev('audioTap', { rate: ctx.sampleRate, tracks: stream.getAudioTracks().map((tr) => tr.label || tr.id) });
  return true;
}
setInterval(() => { if (state.phase === 'started') ensureTap(); }, 250);

function goertzelPower(x, rate, f) {
  const w = (2 * Math.PI * f) / rate;
  const c = 2 * Math.cos(w);
  let s1 = 0, s2 = 0;
  for (let i = 0; i < x.length; i++) {
    const s0 = x[i] + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const p = s1 * s1 + s2 * s2 - c * s1 * s2;
  return p / (x.length * x.length); // normalized: a full-scale sine reads ~0.25
}

// measure(freqs, windowMs) -> {ok, rate, samples, rmsDb, db: {f: dB}}; dB are
// 10*log10 of the normalized Goertzel power (full-scale sine ~ -6 dB).
function measure(freqs, windowMs = 1000) {
  ensureTap();
  if (!tap) return { ok: false, reason: 'no remote audio stream bound' };
  const n = Math.min(tap.filled, Math.round((tap.rate * windowMs) / 1000));
  if (n < tap.rate / 10) return { ok: false, reason: `only ${tap.filled} samples so far`, callbacks: tap.callbacks };
  const x = new Float32Array(n);
  const start = (tap.pos - n + tap.ring.length) % tap.ring.length;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    x[i] = tap.ring[(start + i) % tap.ring.length];
    sq += x[i] * x[i];
  }
  // Hann window, so a strong tone does not leak into its neighbours.
  for (let i = 0; i < n; i++) x[i] *= 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
  const db = {};
  for (const f of freqs) db[f] = 10 * Math.log10(goertzelPower(x, tap.rate, f) + 1e-20);
  return { ok: true, rate: tap.rate, samples: n, callbacks: tap.callbacks, ctxState: tap.ctx.state, rmsDb: 10 * Math.log10(sq / n + 1e-20), db };
}

function snapshot() {
  return JSON.parse(JSON.stringify(state));
}

window.confab = { start, stop, send, measure, snapshot, state };

const hash = location.hash.slice(1);
if (hash) {
  const json = JSON.parse(atob(hash.replace(/-/g, '+').replace(/_/g, '/')));
  start(json).catch((e) => {
    state.phase = 'failed';
    state.error = String((e && e.stack) || e);
    ev('startFailed', { error: state.error });
  });
}

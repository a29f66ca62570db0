// Confab's meeting web app. The server creates (or reuses) the meeting and an
// attendee through POST /demo/join; everything after that is the stock
// amazon-chime-sdk-js speaking to Confab as it would to Chime: audio with
// device selection and mute, up to 16 camera tiles, content share, a roster
// with speaking indicators, data-message chat and leave.
//
// Built by `make demo` (npm + esbuild) into ../dist/app.js, which the confab
// binary embeds. window.confabDemo exposes the state for the browser test.
import {
  AllHighestVideoBandwidthPolicy,
  ConsoleLogger,
  DefaultDeviceController,
  DefaultMeetingSession,
  LogLevel,
  MeetingSessionConfiguration,
  MeetingSessionStatusCode,
} from 'amazon-chime-sdk-js';

const MAX_TILES = 16; // Chime's and Confab's cap on remote videos shown
const CHAT_TOPIC = 'chat';
const SPEAKING = 0.15; // SDK volume (0–1) above which an attendee counts as speaking

const $ = (id) => document.getElementById(id);

const state = {
  phase: 'form', // form | joining | joined | left | failed
  meetingName: '',
  self: null, // attendee id
  roster: new Map(), // attendeeId -> {name, muted, volume, speaking, el}
  tiles: new Map(), // tileId -> {el, video, attendeeId, content, local}
  chat: [], // {from, text, self}
  error: '',
};
// The SDK's log level: WARN, or ?log=debug|info|warn|error in the page's
// address for troubleshooting (read once: joining rewrites the address).
const LOG_LEVEL = (() => {
  const asked = (new URLSearchParams(location.search).get('log') || '').toUpperCase();
  return typeof LogLevel[asked] === 'number' ? LogLevel[asked] : LogLevel.WARN;
})();
let session = null;
let av = null;
let cameraOn = false;
let sharing = false;

window.confabDemo = { state, session: () => session };

// Display name from ExternalUserId "<name>#<suffix>" (the suffix keeps two
// people of the same name apart).
function displayName(externalUserId) {
  if (!externalUserId) return '?';
  const i = externalUserId.lastIndexOf('#');
  return i > 0 ? externalUserId.slice(0, i) : externalUserId;
}

function show(phase) {
  state.phase = phase;
  $('join-view').hidden = phase === 'joined' || phase === 'joining';
  $('meeting-view').hidden = !(phase === 'joined' || phase === 'joining');
  document.body.dataset.phase = phase;
}

function fail(msg) {
  state.error = msg;
  $('error').textContent = msg;
  $('error').hidden = !msg;
}

async function init() {
  const q = new URLSearchParams(location.search);
  $('meeting').value = q.get('m') || '';
  $('name').value = localStorage.getItem('confab-demo-name') || '';
  try {
    const cfg = await (await fetch('demo/config')).json();
    $('passcode-row').hidden = !cfg.passcode;
  } catch (e) {
    fail(`cannot reach the server: ${e}`);
  }
  $('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    join().catch((err) => {
      fail(String(err.message || err));
      show('form');
    });
  });
  $('mute').addEventListener('click', toggleMute);
  $('camera').addEventListener('click', () => toggleCamera().catch((e) => fail(`camera: ${e.message || e}`)));
  $('share').addEventListener('click', () => toggleShare().catch((e) => fail(`content share: ${e.message || e}`)));
  $('leave').addEventListener('click', leave);
  $('copy-link').addEventListener('click', copyLink);
  $('mic-select').addEventListener('change', (e) => av && av.startAudioInput(e.target.value));
  $('camera-select').addEventListener('change', async (e) => {
    if (av && cameraOn) await av.startVideoInput(e.target.value);
  });
  $('chat-form').addEventListener('submit', (e) => {
    e.preventDefault();
    sendChat();
  });
  show('form');
}

async function join() {
  fail('');
  const meeting = $('meeting').value.trim();
  const name = $('name').value.trim();
  if (!meeting || !name) throw new Error('enter a meeting name and your name');
  localStorage.setItem('confab-demo-name', name);
  show('joining');
  const res = await fetch('demo/join', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ meeting, name, passcode: $('passcode').value }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message || `join failed: HTTP ${res.status}`);
  state.meetingName = meeting;
  history.replaceState(null, '', `?m=${encodeURIComponent(meeting)}`);
  $('meeting-title').textContent = meeting;
  await start(body.Meeting, body.Attendee);
}

async function start(meeting, attendee) {
  const logger = new ConsoleLogger('confab-demo', LOG_LEVEL);
  const devices = new DefaultDeviceController(logger);
  const config = new MeetingSessionConfiguration({ Meeting: meeting }, { Attendee: attendee });
  config.enableSimulcastForUnifiedPlanChromiumBasedBrowsers = true;
  // Confab's SFU fits each forwarded video to the subscriber's bandwidth
  // (REMB and loss, pausing with PAUSE/RESUME when even the lowest layer
  // does not fit), so the page asks for every video's top layer. The SDK's
  // default for simulcast (VideoPriorityBasedPolicy, client-side probing)
  // waits on Chrome's receive-side estimate and held new videos and
  // content shares back for 10–30 s.
  config.videoDownlinkBandwidthPolicy = new AllHighestVideoBandwidthPolicy(attendee.AttendeeId);
  session = new DefaultMeetingSession(config, logger, devices);
  av = session.audioVideo;
  state.self = attendee.AttendeeId;

  const mics = await av.listAudioInputDevices();
  fillSelect($('mic-select'), mics, 'microphone');
  await av.startAudioInput(mics.length ? mics[0].deviceId : null);
  fillSelect($('camera-select'), await av.listVideoInputDevices(), 'camera');
  await av.bindAudioElement($('audio'));

  av.addObserver({
    audioVideoDidStart() {
      show('joined');
    },
    audioVideoDidStop(status) {
      const code = status.statusCode();
      const why = MeetingSessionStatusCode[code];
      reset();
      if (code === MeetingSessionStatusCode.Left) {
        show('left');
      } else {
        fail(`the meeting session ended: ${why}`);
        show(code === MeetingSessionStatusCode.MeetingEnded ? 'left' : 'failed');
      }
    },
    videoTileDidUpdate(tile) {
      placeTile(tile);
    },
    videoTileWasRemoved(tileId) {
      removeTile(tileId);
    },
  });
  av.addContentShareObserver({
    contentShareDidStart() {
      sharing = true;
      $('share').textContent = 'Stop sharing';
    },
    contentShareDidStop() {
      sharing = false;
      $('share').textContent = 'Share screen';
    },
  });
  av.realtimeSubscribeToAttendeeIdPresence(onPresence);
  av.realtimeSubscribeToReceiveDataMessage(CHAT_TOPIC, (msg) => {
    addChat(displayName(msg.senderExternalUserId), msg.text(), msg.senderAttendeeId === state.self);
  });
  av.realtimeSubscribeToMuteAndUnmuteLocalAudio((muted) => {
    $('mute').textContent = muted ? 'Unmute' : 'Mute';
    $('mute').setAttribute('aria-pressed', String(muted));
  });
  av.start();
}

function fillSelect(sel, devices, what) {
  sel.replaceChildren();
  devices.forEach((d, i) => {
    const o = document.createElement('option');
    o.value = d.deviceId;
    o.textContent = d.label || `${what} ${i + 1}`;
    sel.append(o);
  });
  sel.disabled = devices.length === 0;
}

function onPresence(attendeeId, present, externalUserId) {
  // A content share is "<attendee>#content": it shows as a tile, not a person.
  if (attendeeId.endsWith('#content')) return;
  const r = state.roster.get(attendeeId);
  if (!present) {
    if (r) {
      r.el.remove();
      state.roster.delete(attendeeId);
      av.realtimeUnsubscribeFromVolumeIndicator(attendeeId);
    }
    return;
  }
  if (r) return;
  const el = document.createElement('li');
  el.dataset.attendee = attendeeId;
  const name = displayName(externalUserId);
  el.innerHTML = '<span class="dot"></span><span class="who"></span><span class="mic"></span>';
  el.querySelector('.who').textContent = attendeeId === state.self ? `${name} (you)` : name;
  $('roster').append(el);
  const entry = { name, muted: false, volume: 0, speaking: false, el };
  state.roster.set(attendeeId, entry);
  av.realtimeSubscribeToVolumeIndicator(attendeeId, (id, volume, muted) => {
    if (muted !== null) entry.muted = muted;
    if (volume !== null) entry.volume = volume;
    entry.speaking = !entry.muted && entry.volume > SPEAKING;
    el.classList.toggle('speaking', entry.speaking);
    el.classList.toggle('muted', entry.muted);
  });
}

function placeTile(tile) {
  if (!tile.boundAttendeeId || (!tile.localTile && !tile.boundVideoStream && !tile.isContent)) return;
  let t = state.tiles.get(tile.tileId);
  if (!t) {
    const remote = [...state.tiles.values()].filter((x) => !x.local && !x.content).length;
    if (!tile.localTile && !tile.isContent && remote >= MAX_TILES) return;
    const el = document.createElement('div');
    el.className = 'tile';
    const video = document.createElement('video');
    video.autoplay = true;
    video.muted = true;
    video.playsInline = true;
    const label = document.createElement('span');
    label.className = 'label';
    el.append(video, label);
    $(tile.isContent ? 'content' : 'tiles').append(el);
    t = { el, video, label, attendeeId: tile.boundAttendeeId, content: tile.isContent, local: tile.localTile };
    state.tiles.set(tile.tileId, t);
  }
  const owner = tile.boundAttendeeId.replace(/#content$/, '');
  const who = state.roster.get(owner);
  t.label.textContent = `${who ? who.name : displayName(tile.boundExternalUserId)}${tile.isContent ? ' (screen)' : ''}${tile.localTile ? ' (you)' : ''}`;
  t.el.dataset.attendee = tile.boundAttendeeId;
  t.el.classList.toggle('paused', !!tile.paused);
  av.bindVideoElement(tile.tileId, t.video);
}

function removeTile(tileId) {
  const t = state.tiles.get(tileId);
  if (!t) return;
  t.el.remove();
  state.tiles.delete(tileId);
}

function toggleMute() {
  if (!av) return;
  if (av.realtimeIsLocalAudioMuted()) av.realtimeUnmuteLocalAudio();
  else av.realtimeMuteLocalAudio();
}

async function toggleCamera() {
  if (!av) return;
  if (cameraOn) {
    av.stopLocalVideoTile();
    await av.stopVideoInput();
    cameraOn = false;
  } else {
    const sel = $('camera-select');
    if (!sel.value) throw new Error('no camera');
    await av.startVideoInput(sel.value);
    av.startLocalVideoTile();
    cameraOn = true;
  }
  $('camera').textContent = cameraOn ? 'Stop camera' : 'Start camera';
  $('camera').setAttribute('aria-pressed', String(cameraOn));
}

async function toggleShare() {
  if (!av) return;
  if (sharing) av.stopContentShare();
  else await av.startContentShareFromScreenCapture();
}

function sendChat() {
  const input = $('chat-input');
  const text = input.value.trim();
  if (!text || !av) return;
  av.realtimeSendDataMessage(CHAT_TOPIC, text, 300000);
  addChat(displayName(session.configuration.credentials.externalUserId), text, true);
  input.value = '';
}

function addChat(from, text, self) {
  state.chat.push({ from, text, self });
  const li = document.createElement('li');
  li.className = self ? 'self' : '';
  const b = document.createElement('b');
  b.textContent = `${from}: `;
  li.append(b, document.createTextNode(text));
  $('chat-log').append(li);
  li.scrollIntoView({ block: 'end' });
}

async function copyLink() {
  const link = `${location.origin}${location.pathname}?m=${encodeURIComponent(state.meetingName)}`;
  try {
    await navigator.clipboard.writeText(link);
    $('copy-link').textContent = 'Link copied';
  } catch {
    prompt('Share this link', link);
  }
}

function leave() {
  if (av) av.stop(); // audioVideoDidStop(Left) resets the page
}

function reset() {
  if (av) {
    av.stopLocalVideoTile();
    av.stopVideoInput().catch(() => {});
    av.stopAudioInput().catch(() => {});
  }
  for (const id of state.tiles.keys()) removeTile(id);
  state.roster.clear();
  $('roster').replaceChildren();
  $('chat-log').replaceChildren();
  state.chat = [];
  cameraOn = false;
  sharing = false;
  $('camera').textContent = 'Start camera';
  $('share').textContent = 'Share screen';
  session = null;
  av = null;
}

init();

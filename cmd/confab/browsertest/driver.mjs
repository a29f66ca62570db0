// Real-browser end-to-end test of Confab with the UNMODIFIED amazon-chime-sdk-js.
//
//   node cmd/confab/browsertest/driver.mjs
//
// Env:
//   CONFAB_ENDPOINT           http://127.0.0.1:PORT of a running `confab serve` (required)
//   CONFAB_ACCESS_KEY_ID, CONFAB_SECRET_ACCESS_KEY   control-plane credentials (required)
//   CONFAB_BROWSER_STAGE      "full" (default), "cluster" (audio in one meeting per region of
//                             CONFAB_BROWSER_REGIONS, each on the node placement picks) or
//                             "signaling" (what works before the SFU lands)
//   CONFAB_BROWSER_REGIONS    cluster stage: comma-separated MediaRegions, one meeting each
//   phone stage ("phone"): one page joins CONFAB_MEETING as CONFAB_ATTENDEE (the JSON the API
//                             returned) while a SIP caller, attendee CONFAB_PHONE_ATTENDEE_ID, talks at
//                             CONFAB_PHONE_FREQ Hz; the page writes CONFAB_SIGNAL_DIR/heard once it hears
//                             the caller (the test then mutes it) and /muted once the mute is heard (the
//                             test then hangs up)
//   CONFAB_CHROMIUM           default /usr/lib/chromium/chromium
//   CONFAB_BROWSER_VERBOSE=1  print every page console line (default: signaling-relevant ones)
//   CONFAB_BROWSER_TURN=0     the server has TURN off: expect direct host pairs (default: relay pairs)
//   CONFAB_BROWSER_KEEP=1     keep the temp dir (bundle, WAVs, full page logs)
//
// The driver bundles page.js with esbuild (same options as
// `npx esbuild page.js --bundle --format=iife --main-fields=browser,module,main
// --define:global=globalThis`) into a temp dir, writes three 48 kHz mono
// 16-bit tone WAVs (440/660/880 Hz), serves the page on http://127.0.0.1,
// creates a meeting and three attendees with @aws-sdk/client-chime-sdk-meetings,
// launches one Chromium per attendee (fresh user-data-dir, fake microphone =
// its WAV) and asserts. It prints one JSON report line prefixed "REPORT " and
// exits 0 only if every check passed.
import { ChimeSDKMeetingsClient, CreateAttendeeCommand, CreateMeetingCommand, DeleteMeetingCommand, UpdateAttendeeCapabilitiesCommand } from '@aws-sdk/client-chime-sdk-meetings';
import * as esbuild from 'esbuild';
import { toneWav, sleep, until as untilCommon } from './common.mjs';
import { chromium } from 'playwright-core';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const stage = process.env.CONFAB_BROWSER_STAGE || 'full';
const endpoint = process.env.CONFAB_ENDPOINT;
const chromePath = process.env.CONFAB_CHROMIUM || '/usr/lib/chromium/chromium';
const verbose = process.env.CONFAB_BROWSER_VERBOSE === '1';
const expectTurn = process.env.CONFAB_BROWSER_TURN !== '0'; // the server hands out TURN credentials
const t0 = Date.now();
const since = () => ((Date.now() - t0) / 1000).toFixed(2) + 's';
const log = (...a) => console.log(`[driver ${since()}]`, ...a);

const TONES = [
  { name: 'alice', freq: 440 },
  { name: 'bob', freq: 660 },
  { name: 'carol', freq: 880 },
];
const OFF_FREQ = 550; // a frequency no one sends: the noise floor of the mix
const HEAR_MARGIN_DB = 20; // another attendee's tone must stand this far above the floor
const OWN_ATTENUATION_DB = 20; // own tone must be at least this much weaker than the others

const regions = (process.env.CONFAB_BROWSER_REGIONS || 'us-east-1').split(',').filter(Boolean);
if (!['full', 'signaling', 'cluster', 'phone'].includes(stage)) fail(`unknown CONFAB_BROWSER_STAGE ${stage}`);
if (!endpoint) fail('CONFAB_ENDPOINT is not set');
if (!fs.existsSync(chromePath)) fail(`${chromePath} not found: run \`make test-deps\``);

const checks = []; // {name, ok, detail}
function check(name, ok, detail) {
  checks.push({ name, ok: !!ok, ...(detail === undefined ? {} : { detail }) });
  log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail === undefined ? '' : ' ' + JSON.stringify(detail)}`);
  return !!ok;
}
function fail(msg) {
  console.error(`driver: ${msg}`);
  process.exit(2);
}
const until = (what, fn, timeoutMs, stepMs = 200) => untilCommon(what, fn, timeoutMs, stepMs, log);

// Top-level protobuf field 2 (SdkSignalFrame.type) of a 0x05-prefixed frame.
const FRAME_TYPES = { 1: 'JOIN', 2: 'JOIN_ACK', 3: 'SUBSCRIBE', 4: 'SUBSCRIBE_ACK', 5: 'INDEX', 7: 'PAUSE', 8: 'RESUME', 9: 'LEAVE', 10: 'LEAVE_ACK', 13: 'BITRATES', 16: 'AUDIO_CONTROL', 17: 'AUDIO_METADATA', 18: 'AUDIO_STREAM_ID_INFO', 19: 'PING_PONG', 20: 'AUDIO_STATUS', 21: 'CLIENT_METRIC', 22: 'DATA_MESSAGE', 24: 'REMOTE_VIDEO_UPDATE', 34: 'NOTIFICATION', 43: 'MEETING_SESSION_TIMING' };
function frameType(payload) {
  if (typeof payload === 'string') return `text:${payload.slice(0, 40)}`;
  const b = Buffer.from(payload);
  if (b.length === 0) return 'empty';
  let i = 1;
  const varint = () => {
    let v = 0, s = 0, c;
    do { c = b[i++]; v += (c & 0x7f) * 2 ** s; s += 7; } while (c & 0x80 && i < b.length);
    return v;
  };
  try {
    while (i < b.length) {
      const key = varint(), field = Math.floor(key / 8), wt = key & 7;
      if (wt === 0) { const v = varint(); if (field === 2) return FRAME_TYPES[v] || `type${v}`; }
      else if (wt === 2) i += varint();
      else if (wt === 1) i += 8;
      else if (wt === 5) i += 4;
      else return 'undecodable';
    }
  } catch (_) {}
  return 'untyped';
}

// Console lines worth showing by default: the signaling frames the SDK
// sends/receives (minus periodic noise), its warnings/errors and a few
// milestones. CONFAB_BROWSER_VERBOSE=1 prints everything; CONFAB_BROWSER_KEEP=1
// keeps the full per-page logs (<name>.console.log in the temp dir).
function interesting(line) {
  if (verbose) return true;
  if (/(sending|received): /.test(line)) return !/"type":"(PING_PONG|CLIENT_METRIC|AUDIO_METADATA|MEETING_SESSION_TIMING)"/.test(line);
  if (/\[(WARN|ERROR)\]/.test(line)) return true;
  return /opening connection to|got subscribe ack|Start failed|audio\/red set as preferred|attendeePresenceReceived|transitioning from|got leave ack|audioVideoDidStart|audioVideoDidStop/.test(line);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'confab-browsertest-'));
const contexts = [];
let server;
let report = { stage, endpoint };
const chime = new ChimeSDKMeetingsClient({
  region: 'us-east-1',
  endpoint,
  credentials: { accessKeyId: process.env.CONFAB_ACCESS_KEY_ID || '', secretAccessKey: process.env.CONFAB_SECRET_ACCESS_KEY || '' },
  maxAttempts: 1,
});
let meetingId;

async function main() {
  // 1. Bundle the page and write the WAVs.
  const b0 = Date.now();
  await esbuild.build({
    entryPoints: [path.join(here, 'page.js')],
    bundle: true,
    format: 'iife',
    mainFields: ['browser', 'module', 'main'],
    define: { global: 'globalThis' },
    outfile: path.join(tmp, 'bundle.js'),
    logLevel: 'warning',
  });
  fs.copyFileSync(path.join(here, 'index.html'), path.join(tmp, 'index.html'));
  for (const t of TONES) fs.writeFileSync(path.join(tmp, `${t.name}.wav`), toneWav(t.freq));
  log(`bundled page in ${Date.now() - b0} ms into ${tmp}`);

  // 2. Serve it on 127.0.0.1.
  server = http.createServer((req, res) => {
    const p = new URL(req.url, 'http://x').pathname;
    const f = { '/': 'index.html', '/index.html': 'index.html', '/bundle.js': 'bundle.js' }[p];
    if (!f) { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'Content-Type': f.endsWith('.js') ? 'text/javascript' : 'text/html', 'Cache-Control': 'no-store' });
    fs.createReadStream(path.join(tmp, f)).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const pageOrigin = `http://127.0.0.1:${server.address().port}`;

  if (stage === 'cluster') {
    await clusterStage(pageOrigin);
    return;
  }
  if (stage === 'phone') {
    await phoneStage(pageOrigin);
    return;
  }

  // 3. Meeting and attendees through the stock AWS SDK.
  const cm = await chime.send(new CreateMeetingCommand({ ClientRequestToken: randomUUID(), MediaRegion: 'us-east-1', ExternalMeetingId: `browsertest-${Date.now()}` }));
  const meeting = cm.Meeting;
  meetingId = meeting.MeetingId;
  const attendees = [];
  for (const t of TONES) {
    const ca = await chime.send(new CreateAttendeeCommand({ MeetingId: meetingId, ExternalUserId: t.name }));
    attendees.push({ ...t, attendee: ca.Attendee });
  }
  log(`meeting ${meetingId} SignalingUrl ${meeting.MediaPlacement.SignalingUrl}; attendees ${attendees.map((a) => `${a.name}=${a.attendee.AttendeeId}`).join(' ')}`);

  // 4. One Chromium per attendee.
  const l0 = Date.now();
  const peers = await Promise.all(attendees.map((a) => launch(a, meeting, pageOrigin)));
  log(`launched ${peers.length} Chromium in ${Date.now() - l0} ms`);

  if (stage === 'signaling') await signalingStage(peers, meeting);
  else await fullStage(peers);

  await memory(peers);
  // 5. Stop every session and end the meeting.
  const stops = await Promise.all(peers.map((p) => p.page.evaluate(() => window.confab.stop()).catch((e) => ({ error: String(e) }))));
  await chime.send(new DeleteMeetingCommand({ MeetingId: meetingId }));
  meetingId = null;
  // Full stage: a clean leave is MeetingSessionStatusCode.Left. In the
  // signaling stage the SDK is inside its reconnect loop (each 503 makes it
  // retry with SignalingInternalServerError/TaskFailed), and stop() then
  // reports that last status: accept it, but the observer must fire.
  const clean = stage === 'full' ? ['Left'] : ['Left', 'OK', 'SignalingInternalServerError', 'TaskFailed'];
  peers.forEach((p, i) => check(`${p.name}: stop() ends with audioVideoDidStop ${clean.join('|')}`, stops[i] && clean.includes(stops[i].name), stops[i]));

  await sleep(500); // let late frames/logs arrive for the report
  report.peers = await Promise.all(peers.map(async (p) => {
    const s = await p.page.evaluate(() => window.confab.snapshot()).catch((e) => ({ error: String(e) }));
    return {
      name: p.name, attendeeId: p.attendeeId, phase: s.phase, starts: s.starts, stops: s.stops, presence: s.presence,
      volumes: s.volumes, dataMessages: s.dataMessages, error: s.error,
      websockets: p.websockets.map((w) => ({ url: w.url, closed: w.closed, sent: summarize(w.sent), received: summarize(w.received) })),
      pageErrors: p.pageErrors, consoleLines: p.lines.length,
    };
  }));
}

function summarize(types) {
  const out = {};
  for (const t of types) out[t] = (out[t] || 0) + 1;
  return out;
}

async function memory(peers) {
  // PSS of every process of each Chromium (found by its user-data-dir):
  // the cost of one real client.
  const pss = (pid) => { try { return Number(/Pss:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]); } catch { return 0; } };
  const procs = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map((pid) => {
    try { return { pid, cmd: fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') }; } catch { return null; }
  }).filter(Boolean);
  report.memoryMB = Object.fromEntries(peers.map((p) => {
    const mine = procs.filter((q) => q.cmd.includes(p.userDataDir) || q.cmd.includes(`--user-data-dir=${p.userDataDir}`));
    // renderer/utility children do not carry --user-data-dir; add children of the browser process
    const pids = new Set(mine.map((q) => q.pid));
    for (let grew = true; grew;) {
      grew = false;
      for (const q of procs) {
        if (pids.has(q.pid)) continue;
        try {
          const ppid = /PPid:\s+(\d+)/.exec(fs.readFileSync(`/proc/${q.pid}/status`, 'utf8'))[1];
          if (pids.has(ppid)) { pids.add(q.pid); grew = true; }
        } catch {}
      }
    }
    return [p.name, { processes: pids.size, pssMB: Math.round([...pids].reduce((s, q) => s + pss(q), 0) / 1024) }];
  }));
  log(`memory ${JSON.stringify(report.memoryMB)}`);
}

async function launch(a, meeting, origin) {
  const userDataDir = fs.mkdtempSync(path.join(tmp, `profile-${a.name}-`));
  const wav = path.join(tmp, `${a.wav || a.name}.wav`);
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromePath,
    headless: true,
    args: [
      '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-audio-capture=${wav}`, '--autoplay-policy=no-user-gesture-required',
    ],
  });
  contexts.push(context);
  const page = context.pages()[0] || (await context.newPage());
  const peer = { userDataDir, name: a.name, freq: a.freq, attendeeId: a.attendee.AttendeeId, joinToken: a.attendee.JoinToken, context, page, lines: [], pageErrors: [], websockets: [], wsCtor: null };
  const logFile = fs.createWriteStream(path.join(tmp, `${a.name}.console.log`));
  page.on('console', (m) => {
    const line = `${since()} ${m.type()} ${m.text()}`;
    peer.lines.push(line);
    logFile.write(line + '\n');
    if (interesting(m.text())) console.log(`[${a.name}] ${line.length > 600 ? line.slice(0, 600) + '…' : line}`);
  });
  page.on('pageerror', (e) => { peer.pageErrors.push(String(e)); console.log(`[${a.name}] pageerror ${e}`); });
  page.on('websocket', (ws) => {
    const w = { url: ws.url(), sent: [], received: [], closed: false };
    peer.websockets.push(w);
    ws.on('framesent', (f) => w.sent.push(frameType(f.payload)));
    ws.on('framereceived', (f) => w.received.push(frameType(f.payload)));
    ws.on('close', () => { w.closed = true; });
  });
  // Observe (not change) what the SDK asks of WebSocket: the subprotocols it
  // offers and the one the server accepted.
  await page.addInitScript(() => {
    const Orig = window.WebSocket;
    window.__confabWS = [];
    window.WebSocket = class extends Orig {
      constructor(url, protocols) {
        super(url, protocols);
        const rec = { url: String(url), protocols: [].concat(protocols || []), accepted: null, closeCode: null };
        window.__confabWS.push(rec);
        this.addEventListener('open', () => { rec.accepted = this.protocol; });
        this.addEventListener('close', (e) => { rec.closeCode = e.code; rec.closeReason = e.reason; });
      }
    };
  });
  const payload = { meeting: { Meeting: meeting }, attendee: { Attendee: a.attendee }, options: { logLevel: 'DEBUG', video: stage === 'full' } };
  const hash = Buffer.from(JSON.stringify(payload)).toString('base64url');
  await page.goto(`${origin}/index.html#${hash}`);
  return peer;
}

const recv = (p, type) => p.lines.filter((l) => l.includes(`received: {`) && l.includes(`"type":"${type}"`));
const sent = (p, type) => p.lines.filter((l) => l.includes(`sending: {`) && l.includes(`"type":"${type}"`));
const snap = (p) => p.page.evaluate(() => window.confab.snapshot());

async function checkWebSocket(p, meeting) {
  const recs = await p.page.evaluate(() => window.__confabWS);
  const ws = recs[0];
  check(`${p.name}: SDK opened the signaling WebSocket`, ws, recs);
  if (!ws) return;
  const u = new URL(ws.url);
  const base = meeting.MediaPlacement.SignalingUrl;
  check(`${p.name}: WebSocket URL is SignalingUrl + SDK query`, ws.url.startsWith(base + '?') && u.searchParams.get('X-Chime-Control-Protocol-Version') === '3', ws.url);
  check(`${p.name}: subprotocols offered are [_aws_wt_session, JoinToken]`, ws.protocols.length === 2 && ws.protocols[0] === '_aws_wt_session' && ws.protocols[1] === p.joinToken, ws.protocols.map((x) => (x.length > 24 ? x.slice(0, 24) + '…' : x)));
  check(`${p.name}: server accepted subprotocol _aws_wt_session`, ws.accepted === '_aws_wt_session', ws.accepted);
}

async function signalingStage(peers, meeting) {
  for (const p of peers) {
    await until(`${p.name} JOIN_ACK/INDEX`, () => recv(p, 'INDEX').length > 0, 20000);
    await checkWebSocket(p, meeting);
    check(`${p.name}: SDK sent JOIN (logger)`, sent(p, 'JOIN').length > 0);
    check(`${p.name}: SDK received JOIN_ACK before INDEX (logger)`, recv(p, 'JOIN_ACK').length > 0 && p.lines.findIndex((l) => l.includes('"type":"JOIN_ACK"')) < p.lines.findIndex((l) => l.includes('received: {') && l.includes('"type":"INDEX"')), recv(p, 'JOIN_ACK')[0]?.slice(0, 300));
    check(`${p.name}: SDK received INDEX (logger)`, recv(p, 'INDEX').length > 0, recv(p, 'INDEX')[0]?.slice(0, 300));
    const ws = p.websockets[0];
    check(`${p.name}: binary frames are 0x05+SdkSignalFrame (wire)`, ws && ws.received.includes('JOIN_ACK') && ws.received.includes('INDEX') && !ws.received.some((t) => t.startsWith('text:')), ws && summarize(ws.received));
  }
  // Presence rides AUDIO_STREAM_ID_INFO, which is independent of media: each
  // page should see all three (including itself) while it is joined.
  for (const p of peers) {
    const seen = await until(`${p.name} presence of all three`, async () => {
      const s = await snap(p);
      return peers.every((q) => s.events.some((e) => e.kind === 'presence' && e.attendeeId === q.attendeeId && e.present)) && s;
    }, 20000);
    const s = seen || (await snap(p));
    const who = peers.filter((q) => s.events.some((e) => e.kind === 'presence' && e.attendeeId === q.attendeeId && e.present)).map((q) => q.name);
    check(`${p.name}: presence reported all three attendees including self (at least once)`, who.length === 3, who);
  }
  // SUBSCRIBE is answered with error 503 until the SFU lands.
  for (const p of peers) {
    const got = await until(`${p.name} SUBSCRIBE_ACK`, () => recv(p, 'SUBSCRIBE_ACK').length > 0, 20000);
    check(`${p.name}: SDK reached SUBSCRIBE (sent it)`, sent(p, 'SUBSCRIBE').length > 0 || p.lines.some((l) => l.includes('sending subscribe:')));
    const ack = recv(p, 'SUBSCRIBE_ACK')[0] || '';
    check(`${p.name}: SUBSCRIBE_ACK carries error status 503 (media not yet available)`, got && /"error":\{"status":503/.test(ack), ack.slice(0, 300));
  }
}

// clusterStage creates one meeting per region through CONFAB_ENDPOINT (one
// node of a cluster), checks that placement put them on different nodes
// (their SignalingUrl hosts differ), joins three pages to each and runs
// the audio checks per meeting: every page hears the other two of its own
// meeting and not itself (nor the other meeting: its tones are the same
// three, so a leak between meetings would also fail the mix-minus check).
async function clusterStage(origin) {
  const groups = [];
  for (const [i, region] of regions.entries()) {
    const cm = await chime.send(new CreateMeetingCommand({ ClientRequestToken: randomUUID(), MediaRegion: region, ExternalMeetingId: `browsertest-${region}-${Date.now()}` }));
    const attendees = [];
    for (const t of TONES) {
      const ca = await chime.send(new CreateAttendeeCommand({ MeetingId: cm.Meeting.MeetingId, ExternalUserId: `${t.name}${i}` }));
      attendees.push({ ...t, wav: t.name, name: `${t.name}${i}`, attendee: ca.Attendee });
    }
    log(`meeting ${cm.Meeting.MeetingId} in ${region}: SignalingUrl ${cm.Meeting.MediaPlacement.SignalingUrl}`);
    groups.push({ region, meeting: cm.Meeting, attendees });
  }
  const hosts = groups.map((g) => new URL(g.meeting.MediaPlacement.SignalingUrl).host);
  check(`the ${regions.length} meetings are placed on ${regions.length} different nodes`, new Set(hosts).size === regions.length, hosts);
  const all = await Promise.all(groups.map(async (g) => ({ ...g, peers: await Promise.all(g.attendees.map((a) => launch(a, g.meeting, origin))) })));
  await Promise.all(all.map((g) => audioStage(g.peers)));
  const stops = await Promise.all(all.flatMap((g) => g.peers).map((p) => p.page.evaluate(() => window.confab.stop()).catch((e) => ({ error: String(e) }))));
  all.flatMap((g) => g.peers).forEach((p, i) => check(`${p.name}: stop() ends with audioVideoDidStop Left`, stops[i] && stops[i].name === 'Left', stops[i]));
  for (const g of all) await chime.send(new DeleteMeetingCommand({ MeetingId: g.meeting.MeetingId }));
}

// phoneStage: a stock-SDK page in a meeting a SIP caller joined (through a
// SIP media application's JoinChimeMeeting): the roster shows the caller,
// the page hears its tone; then (the test mutes it) the tone drops by more
// than 30 dB; then (the test hangs up) the caller leaves the roster.
async function phoneStage(origin) {
  const meeting = JSON.parse(process.env.CONFAB_MEETING);
  const attendee = JSON.parse(process.env.CONFAB_ATTENDEE);
  const phoneId = process.env.CONFAB_PHONE_ATTENDEE_ID;
  const phoneFreq = Number(process.env.CONFAB_PHONE_FREQ);
  const signal = (name) => fs.writeFileSync(path.join(process.env.CONFAB_SIGNAL_DIR, name), '');
  const t = TONES[0];
  const p = await launch({ ...t, wav: t.name, name: 'web', attendee }, meeting, origin);
  const started = await until('web audioVideoDidStart', async () => (await snap(p)).starts > 0, 30000);
  check('web: audioVideoDidStart', started);
  const inRoster = await until('the caller in the roster', async () => (await snap(p)).presence[phoneId]?.present, 20000);
  check('web: the roster shows the SIP caller', !!inRoster, phoneId);
  const freqs = [phoneFreq, t.freq, OFF_FREQ];
  let m;
  const heard = await until('the caller heard', async () => {
    m = await p.page.evaluate(([f]) => window.confab.measure(f, 1000), [freqs]);
    return m.ok && m.db[phoneFreq] - m.db[OFF_FREQ] >= HEAR_MARGIN_DB;
  }, 20000, 300);
  check(`web: hears the caller's ${phoneFreq} Hz (>= ${HEAR_MARGIN_DB} dB over the floor)`, !!heard, m && m.db);
  const before = m && m.ok ? m.db[phoneFreq] : 0;
  signal('heard');
  const muted = await until('the caller muted', async () => {
    m = await p.page.evaluate(([f]) => window.confab.measure(f, 1000), [freqs]);
    return m.ok && before - m.db[phoneFreq] > 30;
  }, 20000, 300);
  check(`web: the caller's tone drops by more than 30 dB once muted (ModifyChimeMeetingAttendees)`, !!muted, { before: +before.toFixed(1), after: m && m.ok ? +m.db[phoneFreq].toFixed(1) : null });
  signal('muted');
  const gone = await until('the caller gone from the roster', async () => !(await snap(p)).presence[phoneId]?.present, 20000);
  check('web: the caller leaves the roster after Hangup', !!gone);
  const stop = await p.page.evaluate(() => window.confab.stop()).catch((e) => ({ error: String(e) }));
  check('web: stop() ends with audioVideoDidStop Left', stop && stop.name === 'Left', stop);
}

async function fullStage(peers) {
  if (!(await audioStage(peers))) return;
  await dataAndVideoStage(peers);
}

// audioStage: all three reach audioVideoDidStart, see each other's
// presence, use the TURN relay when offered, hear each other and not
// themselves (mix-minus), and see volume indicators. It reports whether
// every session started.
async function audioStage(peers) {
  // All three reach audioVideoDidStart (waited for in parallel). If any does
  // not, media checks cannot mean anything: fail them without waiting.
  const started = await Promise.all(peers.map((p) => until(`${p.name} audioVideoDidStart`, async () => { const s = await snap(p); return s.starts > 0; }, 30000)));
  for (const [i, p] of peers.entries()) check(`${p.name}: audioVideoDidStart`, started[i], started[i] ? undefined : (await snap(p)).stops.slice(-3));
  const allStarted = started.every(Boolean);
  // Presence: all three including self, on each page.
  for (const p of peers) {
    const s = await until(`${p.name} presence`, async () => { const s = await snap(p); return peers.every((q) => s.presence[q.attendeeId]?.present) && s; }, 15000);
    const cur = s || (await snap(p));
    check(`${p.name}: presence shows all three including self`, !!s, Object.fromEntries(Object.entries(cur.presence).map(([k, v]) => [peers.find((q) => q.attendeeId === k)?.name || k, v.present])));
  }
  if (!allStarted) {
    check('media checks (mix-minus spectrum, volume indicators, data messages)', false, 'not run: not every session reached audioVideoDidStart');
    return false;
  }
  // TURN: when JOIN_ACK carried credentials the SDK forces relay-only, so
  // the selected candidate pair must be a relay one with media on it.
  for (const p of peers) {
    const withTurn = recv(p, 'JOIN_ACK').some((l) => l.includes('"turnCredentials"'));
    // Media may not have arrived yet at audioVideoDidStart: wait for it.
    let pair;
    await until(`${p.name} media on the selected pair`, async () => {
      pair = await p.page.evaluate(() => window.confab.selectedPair()).catch((e) => ({ error: String(e) }));
      return pair && pair.bytesReceived > 0;
    }, 10000, 250);
    if (expectTurn) check(`${p.name}: JOIN_ACK carried TURN credentials and media flows through the relay`, withTurn && pair && pair.local === 'relay' && pair.bytesReceived > 0, pair);
    else check(`${p.name}: no TURN credentials, direct host pair`, !withTurn && pair && pair.local === 'host', pair);
  }
  // Mixed audio: every attendee hears both others, and itself >= 20 dB weaker.
  const freqs = [...TONES.map((t) => t.freq), OFF_FREQ];
  await sleep(3000); // let jitter buffers and the mix settle, fill the ring
  report.spectra = report.spectra || {};
  for (const p of peers) {
    let m;
    await until(`${p.name} spectrum`, async () => {
      m = await p.page.evaluate(([f]) => window.confab.measure(f, 2000), [freqs]);
      if (!m.ok) return false;
      // Both conditions on one window: a tone that is still ramping up in
      // the mix makes the weakest other too weak for the mix-minus margin.
      const others = TONES.filter((t) => t.freq !== p.freq);
      const weakest = Math.min(...others.map((t) => m.db[t.freq]));
      return others.every((t) => m.db[t.freq] - m.db[OFF_FREQ] >= HEAR_MARGIN_DB) && weakest - m.db[p.freq] >= OWN_ATTENUATION_DB && m;
    }, 10000, 500);
    report.spectra[p.name] = m;
    const others = TONES.filter((t) => t.freq !== p.freq);
    const detail = m && m.ok ? Object.fromEntries(Object.entries(m.db).map(([k, v]) => [k, +v.toFixed(1)])) : m;
    const hears = !!(m && m.ok) && others.every((t) => m.db[t.freq] - m.db[OFF_FREQ] >= HEAR_MARGIN_DB);
    check(`${p.name}: hears ${others.map((t) => t.freq).join(' and ')} Hz (>= ${HEAR_MARGIN_DB} dB over ${OFF_FREQ} Hz floor)`, hears, detail);
    if (m && m.ok) {
      const weakest = Math.min(...others.map((t) => m.db[t.freq]));
      check(`${p.name}: own ${p.freq} Hz is >= ${OWN_ATTENUATION_DB} dB below the others (mix-minus)`, weakest - m.db[p.freq] >= OWN_ATTENUATION_DB, { own: +m.db[p.freq].toFixed(1), weakestOther: +weakest.toFixed(1) });
    } else {
      check(`${p.name}: own ${p.freq} Hz is >= ${OWN_ATTENUATION_DB} dB below the others (mix-minus)`, false, 'no spectrum');
    }
  }
  // Volume indicators fire for the talkers (everyone talks).
  for (const p of peers) {
    const s = await snap(p);
    const talking = peers.filter((q) => q !== p).map((q) => ({ name: q.name, v: s.volumes[q.attendeeId] }));
    check(`${p.name}: volume indicators fired (volume > 0) for both other talkers`, talking.every((x) => x.v && x.v.nonZero > 0), talking);
  }
  return true;
}

async function dataAndVideoStage(peers) {
  // Data message A -> B, C; not echoed to A.
  const [A, B, C] = peers;
  const text = `hello-from-${A.name}-${Date.now()}`;
  await A.page.evaluate(([t]) => window.confab.send('confab-test', t), [text]);
  for (const p of [B, C]) {
    const s = await until(`${p.name} data message`, async () => { const s = await snap(p); return s.dataMessages.some((d) => d.text === text) && s; }, 5000);
    const d = s && s.dataMessages.find((d) => d.text === text);
    check(`${p.name}: received A's data message with sender stamped`, d && d.senderAttendeeId === A.attendeeId && d.senderExternalUserId === A.name && !d.throttled, d);
  }
  await sleep(500);
  const sa = await snap(A);
  check(`${A.name}: own data message not echoed`, !sa.dataMessages.some((d) => d.text === text), sa.dataMessages);
  await videoStage(peers);
}

const stats = (p) => p.page.evaluate(() => window.confab.videoStats());
const wireCount = (p, type) => p.websockets.reduce((n, w) => n + w.sent.filter((t) => t === type).length, 0);

// Remote tiles of p that decode: frames advance between two looks.
async function decodingTiles(p, ms = 1500) {
  const a = await stats(p);
  await sleep(ms);
  const b = await stats(p);
  return Object.entries(b).filter(([id, t]) => a[id] && t.frames > a[id].frames && t.width > 0).map(([id, t]) => ({ tileId: id, ...t, fps: ((t.frames - a[id].frames) * 1000) / ms }));
}

async function videoStage(peers) {
  // 1. Every attendee starts its fake camera (RID simulcast, SDK policy).
  await Promise.all(peers.map((p) => p.page.evaluate(() => window.confab.startVideo())));
  // 2. Each sees two remote camera tiles, bound to the other two attendees, decoding.
  report.video = {};
  for (const p of peers) {
    const others = peers.filter((q) => q !== p).map((q) => q.attendeeId).sort();
    let tiles = [];
    const ok = await until(`${p.name} two decoding remote tiles`, async () => {
      tiles = (await decodingTiles(p, 1000)).filter((t) => !t.isContent);
      const ids = tiles.map((t) => t.attendeeId).sort();
      return ids.length === 2 && ids[0] === others[0] && ids[1] === others[1];
    }, 40000, 500);
    report.video[p.name] = tiles;
    check(`${p.name}: two remote video tiles bound to the other attendees, decoding frames`, ok, tiles.map((t) => ({ who: peers.find((q) => q.attendeeId === t.attendeeId)?.name || t.attendeeId, w: t.width, h: t.height, fps: +t.fps.toFixed(1), streamId: t.streamId })));
  }
  // 3. A switches its remote videos from the highest to the lowest layer
  //    (its own downlink policy): the SDK sends REMOTE_VIDEO_UPDATE, no new
  //    SUBSCRIBE, and the same tiles keep decoding, the switched ones
  //    smaller. Chromium enables a publisher's top layer only when its
  //    bandwidth estimate and CPU allow, so this waits until at least one
  //    remote video arrives at its top layer (≥ 320 wide).
  const [A, B, C] = peers;
  report.uplink = Object.fromEntries(await Promise.all(peers.map(async (p) => [p.name, await p.page.evaluate(() => window.confab.uplinkStats()).catch((e) => String(e))])));
  log(`uplink ${JSON.stringify(report.uplink)}`);
  let high = [];
  const gotHigh = await until(`${A.name} a high layer`, async () => {
    high = await decodingTiles(A, 1000);
    return high.length === 2 && high.some((t) => t.width >= 320);
  }, 40000, 500);
  check(`${A.name}: receives a remote video at its top simulcast layer`, gotHigh, high.map((t) => [t.width, t.height]));
  const subsBefore = await A.page.evaluate(() => window.confab.subscriptions());
  const subscribes = wireCount(A, 'SUBSCRIBE');
  await A.page.evaluate(() => window.confab.preferLayer('low'));
  let low = [];
  const switched = await until(`${A.name} lower layers`, async () => {
    low = await decodingTiles(A, 1000);
    return low.length === 2 && high.filter((h) => h.width >= 320).every((h) => { const t = low.find((x) => x.tileId === h.tileId); return t && t.width < h.width; });
  }, 30000, 500);
  const subsAfter = await A.page.evaluate(() => window.confab.subscriptions());
  const rvu = wireCount(A, 'REMOTE_VIDEO_UPDATE');
  report.layerSwitch = { high: high.map((t) => [t.width, t.height]), low: low.map((t) => [t.width, t.height]), subsBefore, subsAfter, remoteVideoUpdates: rvu };
  check(`${A.name}: layer switch high -> low sent REMOTE_VIDEO_UPDATE`, rvu > 0, { rvu, subsBefore, subsAfter });
  check(`${A.name}: layer switch kept the same tiles decoding, the switched ones smaller`, gotHigh && switched, report.layerSwitch);
  check(`${A.name}: layer switch needed no new SUBSCRIBE`, wireCount(A, 'SUBSCRIBE') === subscribes, { before: subscribes, after: wireCount(A, 'SUBSCRIBE') });
  // 4. B shares content (a canvas stream): A and C get a content tile bound to B#content.
  await B.page.evaluate(() => window.confab.startContent());
  for (const p of [A, C]) {
    let tiles = [];
    const ok = await until(`${p.name} content tile`, async () => {
      tiles = (await decodingTiles(p, 1000)).filter((t) => t.isContent);
      return tiles.length === 1 && tiles[0].attendeeId === `${B.attendeeId}#content`;
    }, 30000, 500);
    check(`${p.name}: content share of ${B.name} shows as a decoding content tile`, ok, tiles);
  }
  await B.page.evaluate(() => window.confab.stopContent());
  await capabilitiesStage(peers);
}

// 5. UpdateAttendeeCapabilities is enforced by the media plane on live
//    sessions: C set to Audio Receive leaves A's and B's mix; C set to Video
//    Receive leaves their tiles; SendReceive brings both back, with no
//    action on C's page.
async function capabilitiesStage(peers) {
  const [A, B, C] = peers;
  const setCaps = (audio, video, content) => chime.send(new UpdateAttendeeCapabilitiesCommand({
    MeetingId: meetingId, AttendeeId: C.attendeeId, Capabilities: { Audio: audio, Video: video, Content: content },
  }));
  const freqs = [C.freq, OFF_FREQ];
  const overFloor = async (p) => {
    const m = await p.page.evaluate(([f]) => window.confab.measure(f, 400), [freqs]);
    return m.ok ? m.db[C.freq] - m.db[OFF_FREQ] : NaN;
  };
  const tileOfC = async (p) => (await decodingTiles(p, 700)).filter((t) => !t.isContent && t.attendeeId === C.attendeeId);
  report.capabilities = {};

  let t = Date.now();
  await setCaps('Receive', 'SendReceive', 'SendReceive');
  for (const p of [A, B]) {
    let db;
    const gone = await until(`${p.name} to stop hearing ${C.name}`, async () => { db = await overFloor(p); return db < HEAR_MARGIN_DB / 2; }, 5000, 100);
    report.capabilities[`${p.name}AudioGoneMs`] = Date.now() - t;
    check(`${p.name}: stops hearing ${C.name} after UpdateAttendeeCapabilities(Audio=Receive)`, gone, { overFloorDb: +db.toFixed(1), ms: Date.now() - t });
  }

  t = Date.now();
  await setCaps('SendReceive', 'Receive', 'Receive');
  for (const p of [A, B]) {
    let tiles = [];
    const gone = await until(`${p.name} to lose ${C.name}'s tile`, async () => { tiles = await tileOfC(p); return tiles.length === 0; }, 8000, 100);
    check(`${p.name}: no decoding tile of ${C.name} after UpdateAttendeeCapabilities(Video=Receive)`, gone, { tiles, ms: Date.now() - t });
    let db;
    const back = await until(`${p.name} to hear ${C.name} again`, async () => { db = await overFloor(p); return db >= HEAR_MARGIN_DB; }, 5000, 100);
    check(`${p.name}: hears ${C.name} again after Audio=SendReceive`, back, { overFloorDb: +db.toFixed(1) });
  }

  // Back on SendReceive the camera is republished under new stream ids. A
  // page whose downlink estimate the fresh source does not fit may be
  // server-PAUSEd on it (loss-gated layer fitting) for a while, so the
  // check is that the republished camera reaches at least one page; each
  // page's outcome is reported.
  t = Date.now();
  await setCaps('SendReceive', 'SendReceive', 'SendReceive');
  const seenAgain = {};
  const back = await until(`a page to see ${C.name}'s tile again`, async () => {
    for (const p of [A, B]) {
      if (!seenAgain[p.name] && (await tileOfC(p)).length === 1) seenAgain[p.name] = Date.now() - t;
    }
    return Object.keys(seenAgain).length > 0;
  }, 30000, 300);
  report.capabilities.videoBackMs = seenAgain;
  check(`${C.name}'s camera decodes again on another page after Video=SendReceive`, back, { seenAgainMs: seenAgain });
}

let exitCode = 1;
try {
  await main();
  exitCode = checks.length > 0 && checks.every((c) => c.ok) ? 0 : 1;
} catch (e) {
  check('driver ran to completion', false, String((e && e.stack) || e));
} finally {
  if (meetingId) await chime.send(new DeleteMeetingCommand({ MeetingId: meetingId })).catch(() => {});
  await Promise.all(contexts.map((c) => c.close().catch(() => {})));
  if (server) server.close();
  report.checks = checks;
  report.failed = checks.filter((c) => !c.ok).map((c) => c.name);
  report.wallSeconds = (Date.now() - t0) / 1000;
  console.log('REPORT ' + JSON.stringify(report, null, 2));
  if (process.env.CONFAB_BROWSER_KEEP === '1') log(`kept ${tmp}`);
  else fs.rmSync(tmp, { recursive: true, force: true });
  process.exit(exitCode);
}

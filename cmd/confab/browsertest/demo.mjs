// Drives Confab's own meeting web app (served by `confab serve` at /) the way
// people use it: two headless Chromium pages open the page, type a meeting
// name and a name, press Join, start their cameras, and then:
//   - each roster lists both people;
//   - each hears the other's tone and not its own (Goertzel on the received
//     stream; each fake microphone plays its own WAV tone);
//   - each shows a decoding video tile of the other;
//   - each roster shows the other speaking, and a mute on one page shows on
//     the other;
//   - a screen share from one page shows as a content tile on the other;
//   - a chat line typed on one page appears on the other;
//   - Leave on one page takes it out of the other's roster.
// A screenshot of a joined page is written to CONFAB_DEMO_SCREENSHOT if set.
//
// Environment: CONFAB_ENDPOINT (the server's http://127.0.0.1:port),
// CONFAB_CHROMIUM (default /usr/lib/chromium/chromium), CONFAB_DEMO_LOG
// (the SDK's log level in the pages, e.g. info, every line printed). Exit status 0 when
// every check passed, 1 otherwise, 2 on a setup error.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import { toneWav, until as untilCommon } from './common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const endpoint = process.env.CONFAB_ENDPOINT;
const chromePath = process.env.CONFAB_CHROMIUM || '/usr/lib/chromium/chromium';
const screenshot = process.env.CONFAB_DEMO_SCREENSHOT || '';
const sdkLog = process.env.CONFAB_DEMO_LOG || '';
const PEOPLE = [
  { name: 'Ada', freq: 440 },
  { name: 'Grace', freq: 660 },
];
const OFF_FREQ = 550; // nobody sends it: the noise floor
const HEAR_MARGIN_DB = 20;
const MEETING = `demo-test-${process.pid}`;

const t0 = Date.now();
const log = (m) => console.log(`${((Date.now() - t0) / 1000).toFixed(1)}s ${m}`);
function fail(msg) {
  console.error(`demo driver: ${msg}`);
  process.exit(2);
}
const checks = [];
function check(name, ok, detail) {
  checks.push({ name, ok: !!ok, detail });
  log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail === undefined ? '' : ' ' + JSON.stringify(detail)}`);
  return !!ok;
}
const until = (what, fn, timeoutMs, stepMs = 250) => untilCommon(what, fn, timeoutMs, stepMs, log);

if (!endpoint) fail('CONFAB_ENDPOINT is not set');
if (!fs.existsSync(chromePath)) fail(`${chromePath} not found: run \`make test-deps\``);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'confab-demo-'));
const contexts = [];

async function main() {
  // The received-audio tap, injected into the app's pages as window.confabTap.
  const tap = await esbuild.build({
    entryPoints: [path.join(here, 'audiotap.js')], bundle: true, format: 'iife', globalName: 'confabTap', write: false, logLevel: 'warning',
  });
  const tapScript = tap.outputFiles[0].text;
  for (const p of PEOPLE) fs.writeFileSync(path.join(tmp, `${p.name}.wav`), toneWav(p.freq));

  const pages = [];
  for (const p of PEOPLE) pages.push(await open(p, tapScript));

  // Join through the form, one after the other (the second finds the meeting).
  for (const pg of pages) {
    await pg.page.fill('#meeting', MEETING);
    await pg.page.fill('#name', pg.name);
    await pg.page.click('#join');
    const phase = await until(`${pg.name} to join`, () => pg.page.evaluate(() => document.body.dataset.phase === 'joined' && 'joined'), 30000);
    check(`${pg.name} joined through the form`, phase === 'joined', await pg.page.textContent('#error'));
  }
  const url = await pages[1].page.evaluate(() => location.search);
  check('the page carries a shareable link', url === `?m=${encodeURIComponent(MEETING)}`, url);

  const rosters = await until('both rosters to list both people', async () => {
    const r = await Promise.all(pages.map((pg) => pg.page.$$eval('#roster li .who', (els) => els.map((e) => e.textContent))));
    return r.every((names) => names.length === 2) && r;
  }, 20000);
  check('each roster lists both people', rosters, rosters);

  // Cameras on; each page shows a decoding tile of the other.
  for (const pg of pages) await pg.page.click('#camera');
  for (const pg of pages) {
    const other = pages.find((o) => o !== pg);
    const tile = await until(`${pg.name} to decode ${other.name}'s tile`, () => pg.page.evaluate(() => {
      const s = window.confabDemo.state;
      for (const t of s.tiles.values()) {
        if (!t.local && !t.content && t.video.videoWidth > 0 && t.video.currentTime > 0) return { w: t.video.videoWidth, h: t.video.videoHeight, label: t.label.textContent };
      }
      return null;
    }), 45000);
    check(`${pg.name} sees ${other.name}'s camera`, tile && tile.label.startsWith(other.name), tile);
  }

  // Audio: the other's tone, not one's own.
  for (const pg of pages) {
    const other = pages.find((o) => o !== pg);
    const freqs = [pg.freq, other.freq, OFF_FREQ];
    // Both on one window, retried: while the other's tone ramps up in the
    // mix it is too weak to stand the margin over one's own.
    let last;
    await until(`${pg.name} to hear ${other.name} and not itself`, async () => {
      last = await pg.page.evaluate(({ freqs }) => window.__tap.measure(freqs, 1000), { freqs });
      return last.ok && last.db[other.freq] - last.db[OFF_FREQ] >= HEAR_MARGIN_DB && last.db[pg.freq] <= last.db[other.freq] - HEAR_MARGIN_DB;
    }, 30000, 500);
    check(`${pg.name} hears ${other.name}`, last.ok && last.db[other.freq] - last.db[OFF_FREQ] >= HEAR_MARGIN_DB, last.db);
    check(`${pg.name} does not hear itself`, last.ok && last.db[pg.freq] <= last.db[other.freq] - HEAR_MARGIN_DB, last.db);
  }

  // Speaking indicators, then mute: the other page shows it.
  for (const pg of pages) {
    const other = pages.find((o) => o !== pg);
    const speaking = await until(`${pg.name} to show ${other.name} speaking`, () => pg.page.evaluate((n) =>
      [...window.confabDemo.state.roster.values()].some((r) => r.name === n && r.speaking), other.name), 15000);
    check(`${pg.name}'s roster shows ${other.name} speaking`, speaking);
  }
  await pages[0].page.click('#mute');
  const muted = await until(`${pages[1].name} to show ${pages[0].name} muted`, () => pages[1].page.evaluate((n) =>
    [...document.querySelectorAll('#roster li.muted .who')].some((e) => e.textContent === n), pages[0].name), 15000);
  check(`${pages[0].name}'s mute shows on ${pages[1].name}'s roster`, muted);
  await pages[0].page.click('#mute');

  // Content share: Ada shares her screen (her tab); Grace shows it.
  await pages[0].page.click('#share');
  const shared = await until(`${pages[1].name} to show ${pages[0].name}'s screen`, () => pages[1].page.evaluate(() => {
    for (const t of window.confabDemo.state.tiles.values()) {
      if (t.content && t.video.videoWidth > 0) return { w: t.video.videoWidth, h: t.video.videoHeight, label: t.label.textContent };
    }
    return null;
  }), 30000);
  check(`${pages[1].name} shows ${pages[0].name}'s screen share`, shared && shared.label.includes('(screen)'), shared);
  await pages[0].page.click('#share');

  // Chat.
  const line = `hello from ${pages[0].name} ${process.pid}`;
  await pages[0].page.fill('#chat-input', line);
  await pages[0].page.press('#chat-input', 'Enter');
  const got = await until('the chat line to arrive', () => pages[1].page.evaluate((l) => window.confabDemo.state.chat.some((c) => c.text === l && !c.self), line), 15000);
  check(`a chat line from ${pages[0].name} reaches ${pages[1].name}`, got, line);

  if (screenshot) {
    await pages[1].page.screenshot({ path: screenshot });
    log(`screenshot ${screenshot}`);
  }

  // Leave.
  await pages[0].page.click('#leave');
  const left = await until(`${pages[0].name} to leave`, () => pages[0].page.evaluate(() => document.body.dataset.phase === 'left'), 15000);
  check(`${pages[0].name} left`, left);
  const alone = await until(`${pages[1].name}'s roster to drop ${pages[0].name}`, () => pages[1].page.$$eval('#roster li', (els) => els.length === 1), 20000);
  check(`${pages[1].name}'s roster drops ${pages[0].name}`, alone);
  await pages[1].page.click('#leave');

  for (const pg of pages) check(`${pg.name}: no page errors`, pg.errors.length === 0, pg.errors);
}

async function open(person, tapScript) {
  const dir = fs.mkdtempSync(path.join(tmp, `profile-${person.name}-`));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: chromePath,
    headless: true,
    viewport: { width: 1100, height: 700 },
    args: [
      '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-audio-capture=${path.join(tmp, `${person.name}.wav`)}`, '--autoplay-policy=no-user-gesture-required',
      // Share screen: getDisplayMedia picks this very tab, no picker.
      '--auto-select-tab-capture-source-by-title=Confab meeting', '--auto-accept-this-tab-capture',
    ],
  });
  contexts.push(context);
  const page = context.pages()[0] || (await context.newPage());
  const pg = { ...person, page, errors: [] };
  page.on('pageerror', (e) => { pg.errors.push(String(e)); log(`[${person.name}] pageerror ${e}`); });
  page.on('response', (r) => { if (r.status() >= 400) log(`[${person.name}] HTTP ${r.status()} ${r.request().method()} ${r.url()}`); });
  page.on('console', (m) => { if (sdkLog || m.type() === 'error' || m.type() === 'warning') log(`[${person.name}] ${m.type()} ${m.text().slice(0, 300)}`); });
  await page.addInitScript(`${tapScript}\nwindow.__tap = new confabTap.AudioTap(() => document.getElementById('audio'));`);
  const res = await page.goto(`${endpoint}/${sdkLog ? `?log=${sdkLog}` : ''}`);
  if (!res || !res.ok()) fail(`GET ${endpoint}/: ${res && res.status()}`);
  const built = await page.evaluate(async () => (await fetch('demo/app.js', { method: 'HEAD' })).ok);
  if (!built) fail('the server was built without the meeting app (demo/dist/app.js): run `make demo` first');
  return pg;
}

let code = 0;
try {
  await main();
  code = checks.every((c) => c.ok) ? 0 : 1;
} catch (e) {
  console.error(e);
  code = 1;
} finally {
  for (const c of contexts) await c.close().catch(() => {});
  fs.rmSync(tmp, { recursive: true, force: true });
}
log(`${checks.filter((c) => c.ok).length}/${checks.length} checks passed`);
process.exit(code);

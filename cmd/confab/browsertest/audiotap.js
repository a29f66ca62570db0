// Received-audio tap for the browser tests: the SDK sets an <audio>
// element's srcObject to the remote (mixed) stream; a
// MediaStreamAudioSourceNode feeds a ScriptProcessor that keeps the last
// RING_SECONDS of samples, and measure() runs Goertzel on the newest window.
// page.js (the SDK test page) imports it; demo.mjs bundles it into the demo
// app's pages as window.confabTap.
const RING_SECONDS = 5;

export function goertzelPower(x, rate, f) {
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

export class AudioTap {
  // element() returns the <audio> element; onTap(info) is told when a new
  // stream is tapped.
  constructor(element, onTap = () => {}) {
    this.element = element;
    this.onTap = onTap;
    this.tap = null; // {stream, ctx, source, proc, ring, pos, filled, rate, callbacks}
  }

  // ensure taps the element's current stream; false while it has none.
  ensure() {
    const el = this.element();
    const stream = el && el.srcObject;
    if (!stream || stream.getAudioTracks().length === 0) return false;
    let tap = this.tap;
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
    this.tap = t;
    this.onTap({ rate: ctx.sampleRate, tracks: stream.getAudioTracks().map((tr) => tr.label || tr.id) });
    return true;
  }

  // measure(freqs, windowMs) -> {ok, rate, samples, rmsDb, db: {f: dB}}; dB
  // are 10*log10 of the normalized Goertzel power (full-scale sine ~ -6 dB).
  measure(freqs, windowMs = 1000) {
    this.ensure();
    const tap = this.tap;
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
}

// What the browser drivers (driver.mjs, demo.mjs) share: the fake
// microphones' tones and polling.

// 48 kHz mono 16-bit PCM WAV, seconds long, sine at freq, -12 dBFS.
export function toneWav(freq, seconds = 10, rate = 48000) {
  const n = seconds * rate;
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + n * 2, 4);
  buf.write('WAVE', 8);
  buf.write('fmt ', 12);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(n * 2, 40);
  const amp = 0.25 * 32767;
  for (let i = 0; i < n; i++) buf.writeInt16LE(Math.round(amp * Math.sin((2 * Math.PI * freq * i) / rate)), 44 + i * 2);
  return buf;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// until polls fn every stepMs until it returns something truthy (returned)
// or timeoutMs passes (the last value is returned; onTimeout is told).
export async function until(what, fn, timeoutMs, stepMs = 200, onTimeout = () => {}) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await sleep(stepMs);
  }
  onTimeout(`timed out after ${timeoutMs} ms waiting for ${what}`);
  return last;
}

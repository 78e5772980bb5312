// WAV in the browser: reading a streamed WAV (a header whose length may be unknown, then 16-bit
// PCM arriving in pieces of any size) and writing one for downloads.

/** Reads a WAV stream piece by piece: push() bytes, get Float32 samples as soon as they exist. */
export class WavStreamReader {
  constructor() {
    this.header = null; // { sampleRate, channels, bits }
    this.pending = new Uint8Array(0);
  }

  /** Adds bytes; returns the new mono samples (channels averaged), possibly empty. */
  push(bytes) {
    this.pending = concat(this.pending, bytes);
    if (!this.header && !this.readHeader()) return new Float32Array(0);
    const frame = this.header.channels * (this.header.bits / 8);
    const usable = this.pending.length - (this.pending.length % frame);
    if (usable === 0) return new Float32Array(0);
    const out = decodePCM(this.pending.subarray(0, usable), this.header);
    this.pending = this.pending.slice(usable);
    return out;
  }

  /** Parses RIFF chunks up to `data`; false until enough bytes arrived. */
  readHeader() {
    const b = this.pending;
    if (b.length < 12) return false;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (tag(b, 0) !== 'RIFF' || tag(b, 8) !== 'WAVE') throw new Error('the answer is not a WAV stream');
    let offset = 12;
    let fmt = null;
    while (offset + 8 <= b.length) {
      const id = tag(b, offset);
      const size = view.getUint32(offset + 4, true);
      if (id === 'data') {
        if (!fmt) throw new Error('WAV stream without a fmt chunk');
        this.header = fmt;
        this.pending = b.slice(offset + 8);
        return true;
      }
      if (offset + 8 + size > b.length) return false;
      if (id === 'fmt ') {
        const format = view.getUint16(offset + 8, true);
        const channels = view.getUint16(offset + 10, true);
        const sampleRate = view.getUint32(offset + 12, true);
        const bits = view.getUint16(offset + 22, true);
        if (!((format === 1 && bits === 16) || (format === 3 && bits === 32) || format === 0xfffe)) {
          throw new Error(`unsupported WAV encoding (format ${format}, ${bits} bits)`);
        }
        fmt = { sampleRate, channels, bits, float: format === 3 || (format === 0xfffe && bits === 32) };
      }
      offset += 8 + size + (size & 1);
    }
    return false;
  }
}

function tag(b, at) { return String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]); }

function concat(a, b) {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function decodePCM(bytes, { channels, bits, float }) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const step = bits / 8;
  const frames = bytes.length / (step * channels);
  const out = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) {
      const at = (i * channels + c) * step;
      sum += float ? view.getFloat32(at, true) : view.getInt16(at, true) / 32768;
    }
    out[i] = sum / channels;
  }
  return out;
}

/** Joins Float32Array pieces. */
export function joinSamples(pieces) {
  const total = pieces.reduce((n, p) => n + p.length, 0);
  const out = new Float32Array(total);
  let at = 0;
  for (const p of pieces) { out.set(p, at); at += p.length; }
  return out;
}

/** A 16-bit mono WAV file of `samples`, tagged as AI-generated speech like the CLI's output. */
export function encodeWav(samples, sampleRate) {
  const info = listInfo({
    ICMT: 'AI-generated speech (synthesised with swift-gpt-sovits, a GPT-SoVITS implementation)',
    ISFT: 'swift-gpt-sovits',
  });
  const dataBytes = samples.length * 2;
  const buffer = new ArrayBuffer(44 + info.length + dataBytes);
  const view = new DataView(buffer);
  const bytes = new Uint8Array(buffer);
  const put = (at, s) => { for (let i = 0; i < s.length; i++) bytes[at + i] = s.charCodeAt(i); };
  put(0, 'RIFF');
  view.setUint32(4, 36 + info.length + dataBytes, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  bytes.set(info, 36);
  const d = 36 + info.length;
  put(d, 'data');
  view.setUint32(d + 4, dataBytes, true);
  for (let i = 0; i < samples.length; i++) {
    // The server's conversion: scale by 32768, truncate, clamp.
    const v = Math.max(-32768, Math.min(32767, Math.trunc(samples[i] * 32768)));
    view.setInt16(d + 8 + 2 * i, v, true);
  }
  return new Blob([buffer], { type: 'audio/wav' });
}

/** Raw 16-bit little-endian PCM of `samples` (the `raw` download). */
export function encodeRaw(samples) {
  const out = new DataView(new ArrayBuffer(samples.length * 2));
  for (let i = 0; i < samples.length; i++) out.setInt16(2 * i, Math.max(-32768, Math.min(32767, Math.trunc(samples[i] * 32768))), true);
  return new Blob([out.buffer], { type: 'application/octet-stream' });
}

function listInfo(entries) {
  const parts = [];
  for (const [id, text] of Object.entries(entries)) {
    const value = new TextEncoder().encode(text + '\0');
    const padded = value.length + (value.length & 1);
    const chunk = new Uint8Array(8 + padded);
    for (let i = 0; i < 4; i++) chunk[i] = id.charCodeAt(i);
    new DataView(chunk.buffer).setUint32(4, value.length, true);
    chunk.set(value, 8);
    parts.push(chunk);
  }
  const body = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(12 + body);
  out.set([0x4c, 0x49, 0x53, 0x54], 0); // LIST
  new DataView(out.buffer).setUint32(4, 4 + body, true);
  out.set([0x49, 0x4e, 0x46, 0x4f], 8); // INFO
  let at = 12;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

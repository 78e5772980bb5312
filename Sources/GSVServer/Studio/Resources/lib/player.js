// Streamed playback: plays audio pieces through Web Audio as they arrive, one after another
// without gaps, and says when sound actually started.
import { WavStreamReader, joinSamples } from './wav.js';

let sharedContext = null;

/** The page's one AudioContext (created, or resumed, inside a user gesture). */
export function audioContext() {
  if (!sharedContext) sharedContext = new AudioContext();
  if (sharedContext.state === 'suspended') sharedContext.resume();
  return sharedContext;
}

/** Schedules pieces back to back; `onStart` fires when the first piece becomes audible. */
export class StreamPlayer {
  constructor({ onStart, onEnd } = {}) {
    this.ctx = audioContext();
    this.onStart = onStart;
    this.onEnd = onEnd;
    this.nextTime = 0;
    this.startTime = null;
    this.sources = [];
    this.stopped = false;
    this.lead = 0.02; // seconds kept between scheduling a late piece and playing it
  }

  /** Queues `samples` (mono Float32Array at `sampleRate`) after what is already queued. */
  push(samples, sampleRate) {
    if (this.stopped || samples.length === 0) return;
    const buffer = this.ctx.createBuffer(1, samples.length, sampleRate);
    buffer.copyToChannel(samples, 0);
    const source = this.ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(this.ctx.destination);
    const now = this.ctx.currentTime;
    if (this.startTime === null) {
      // The first piece plays at once; later ones follow it back to back.
      this.nextTime = now;
      this.startTime = now;
      source.start(0);
      this.onStart?.();
    } else {
      if (this.nextTime < now + this.lead) this.nextTime = now + this.lead; // an underrun: the next piece came late
      source.start(this.nextTime);
    }
    this.nextTime += buffer.duration;
    this.sources.push(source);
    source.onended = () => {
      this.sources = this.sources.filter((s) => s !== source);
      if (this.sources.length === 0 && this.finished && !this.stopped) this.onEnd?.();
    };
  }

  /** No more pieces will come (onEnd fires when the last one has played). */
  finish() {
    this.finished = true;
    if (this.sources.length === 0 && !this.stopped) this.onEnd?.();
  }

  /** Seconds played so far (0 before the start). */
  position() {
    if (this.startTime === null) return 0;
    return Math.max(0, Math.min(this.ctx.currentTime, this.nextTime) - this.startTime);
  }

  /** Silences everything queued. */
  stop() {
    this.stopped = true;
    for (const s of this.sources) { try { s.stop(); } catch { /* not started */ } }
    this.sources = [];
  }
}

/**
 * POSTs a synthesis request to /tts and plays the streamed WAV answer while it arrives.
 * Calls back: onChunk(samples, sampleRate, allSoFar) per piece, onPlay(timings, player) when sound starts.
 * Resolves to { samples, sampleRate, timings } when the answer is complete. `signal` aborts it
 * (the server then stops synthesising).
 */
export async function synthesizeAndPlay(request, { api, signal, onChunk, onPlay, onFirstChunk, play = true }) {
  const timings = { started: performance.now(), firstChunk: null, playing: null, finished: null };
  const response = await api('/tts', { method: 'POST', json: request, signal });
  const reader = new WavStreamReader();
  const player = play ? new StreamPlayer({ onStart: () => { timings.playing = performance.now(); onPlay?.(timings, player); } }) : null;
  const pieces = [];
  const onAbort = () => player?.stop();
  signal?.addEventListener('abort', onAbort);
  try {
    const stream = response.body.getReader();
    for (;;) {
      const { done, value } = await stream.read();
      if (done) break;
      const samples = reader.push(value);
      if (samples.length === 0) continue;
      if (timings.firstChunk === null) { timings.firstChunk = performance.now(); onFirstChunk?.(timings); }
      pieces.push(samples);
      player?.push(samples, reader.header.sampleRate);
      onChunk?.(samples, reader.header.sampleRate, pieces);
    }
  } catch (e) {
    player?.stop();
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  timings.finished = performance.now();
  player?.finish();
  if (!reader.header) throw new Error('empty answer');
  return { samples: joinSamples(pieces), sampleRate: reader.header.sampleRate, timings, player };
}

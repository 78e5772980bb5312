// Recording a reference clip from the microphone as 16-bit WAV (no codec, no server-side
// conversion needed). The samples are taken with an AudioWorklet (recorder-worklet.js).
import { audioContext } from './player.js';
import { encodeWav, joinSamples } from './wav.js';

/** One recording: start(), then stop() resolves to { blob, seconds }. */
export class Recorder {
  async start() {
    if (!navigator.mediaDevices?.getUserMedia) throw new Error('no microphone access in this browser (it needs https or localhost)');
    this.stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false } });
    this.ctx = audioContext();
    await this.ctx.audioWorklet.addModule('/studio/lib/recorder-worklet.js');
    this.source = this.ctx.createMediaStreamSource(this.stream);
    this.node = new AudioWorkletNode(this.ctx, 'gsv-recorder', { numberOfInputs: 1, numberOfOutputs: 0 });
    this.pieces = [];
    this.node.port.onmessage = (e) => this.pieces.push(e.data);
    this.source.connect(this.node);
    this.startedAt = performance.now();
  }

  /** Seconds recorded so far. */
  elapsed() { return this.startedAt ? (performance.now() - this.startedAt) / 1000 : 0; }

  async stop() {
    this.source?.disconnect();
    this.node?.port.close();
    for (const track of this.stream?.getTracks() || []) track.stop();
    const samples = joinSamples(this.pieces);
    return { blob: encodeWav(samples, this.ctx.sampleRate), seconds: samples.length / this.ctx.sampleRate };
  }
}

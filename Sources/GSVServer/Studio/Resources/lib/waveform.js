// A waveform on a canvas: min/max per pixel column, a playhead, click or arrow keys to seek.

export class Waveform {
  constructor(canvas, { onSeek } = {}) {
    this.canvas = canvas;
    this.samples = new Float32Array(0);
    this.sampleRate = 32000;
    this.expected = 0; // seconds the axis spans while audio is still arriving
    this.position = 0;
    this.onSeek = onSeek;
    canvas.addEventListener('click', (e) => {
      const rect = canvas.getBoundingClientRect();
      this.seekTo(((e.clientX - rect.left) / rect.width) * this.duration());
    });
    canvas.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowRight') { this.seekTo(this.position + 1); e.preventDefault(); }
      if (e.key === 'ArrowLeft') { this.seekTo(this.position - 1); e.preventDefault(); }
    });
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  duration() { return Math.max(this.samples.length / this.sampleRate, this.expected); }

  seekTo(seconds) {
    const d = this.samples.length / this.sampleRate;
    if (!d || !this.onSeek) return;
    this.onSeek(Math.max(0, Math.min(d, seconds)));
  }

  /** Shows `samples` (all of them so far). */
  set(samples, sampleRate) {
    this.samples = samples;
    this.sampleRate = sampleRate;
    this.draw();
  }

  /** Moves the playhead (seconds). */
  setPosition(seconds) {
    this.position = seconds;
    this.draw();
  }

  draw() {
    const c = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(c.clientWidth * ratio));
    const height = Math.max(1, Math.round(c.clientHeight * ratio));
    if (c.width !== width) c.width = width;
    if (c.height !== height) c.height = height;
    const g = c.getContext('2d');
    const style = getComputedStyle(c);
    const accent = style.getPropertyValue('--accent').trim() || '#2557d6';
    const muted = style.getPropertyValue('--muted').trim() || '#888';
    g.clearRect(0, 0, width, height);
    const mid = height / 2;
    g.fillStyle = muted;
    g.fillRect(0, mid, width, 1);
    const n = this.samples.length;
    if (n === 0) return;
    const total = this.duration() * this.sampleRate;
    const perColumn = total / width;
    g.fillStyle = accent;
    for (let x = 0; x < width; x++) {
      const from = Math.floor(x * perColumn);
      if (from >= n) break;
      const to = Math.min(n, Math.max(from + 1, Math.floor((x + 1) * perColumn)));
      let lo = 1, hi = -1;
      for (let i = from; i < to; i++) { const v = this.samples[i]; if (v < lo) lo = v; if (v > hi) hi = v; }
      const top = mid - hi * mid * 0.95, bottom = mid - lo * mid * 0.95;
      g.fillRect(x, top, 1, Math.max(1, bottom - top));
    }
    if (this.position > 0) {
      const x = (this.position / this.duration()) * width;
      g.fillStyle = style.getPropertyValue('--danger').trim() || '#c00';
      g.fillRect(Math.min(width - 2, x), 0, 2 * ratio, height);
    }
  }
}

// A reference-clip picker: choose a file or record one, check that it is 3–10 s long (the
// official limit), upload it, and preview it. Used by the Speak page and the role editor.
import { Recorder } from './recorder.js';

/** Shortest and longest reference accepted (seconds), as the official inference checks. */
export const REFERENCE_MIN_SECONDS = 3;
export const REFERENCE_MAX_SECONDS = 10;

/** Seconds of audio in `blob`, or null when the browser cannot decode it (the server decides then). */
export async function clipSeconds(blob) {
  try {
    // An offline context decodes without asking to play sound.
    const buffer = await new OfflineAudioContext(1, 1, 44100).decodeAudioData(await blob.arrayBuffer());
    return buffer.duration;
  } catch {
    return null;
  }
}

/** Uploads a clip; resolves to the server's { path, name, seconds, sample_rate }. `check`: enforce 3–10 s. */
export async function uploadClip(studio, blob, name, { check = true } = {}) {
  const q = new URLSearchParams({ name, check: check ? '1' : '0' });
  return studio.apiJSON(`/studio/api/references?${q}`, { method: 'POST', body: blob, headers: { 'Content-Type': 'application/octet-stream' } });
}

export class ReferencePicker {
  /**
   * @param root element to fill
   * @param studio the studio helpers
   * @param prefix id prefix for the controls (e.g. "ref" gives #ref-file, #ref-record, #ref-msg)
   * @param onChange called with the uploaded clip ({ path, name, seconds }) or null
   */
  constructor(root, studio, { prefix, onChange }) {
    this.studio = studio;
    this.prefix = prefix;
    this.onChange = onChange;
    this.value = null;
    this.recorder = null;
    const { el, t } = studio;
    this.file = el('input', { type: 'file', id: `${prefix}-file`, accept: 'audio/*,video/*,.wav,.flac,.mp3,.ogg,.m4a,.webm' });
    this.record = el('button', { type: 'button', class: 'btn', id: `${prefix}-record`, dataset: { i18n: 'ref.record' } }, t('ref.record'));
    this.clock = el('span', { class: 'muted', id: `${prefix}-clock`, 'aria-live': 'off' });
    this.msg = el('p', { class: 'msg', id: `${prefix}-msg`, role: 'status' });
    this.audio = el('audio', { controls: true, id: `${prefix}-audio`, preload: 'metadata', hidden: true });
    root.append(
      el('div', { class: 'row' }, this.file, this.record, this.clock),
      this.msg,
      this.audio,
    );
    this.file.addEventListener('change', () => { if (this.file.files[0]) this.accept(this.file.files[0], this.file.files[0].name); });
    this.record.addEventListener('click', () => this.toggleRecording());
  }

  /** Shows an existing clip (editing a role): `url` to play, the string `key` to say; value stays null. */
  showExisting(url, key) {
    this.value = null;
    this.file.value = '';
    this.audio.src = url;
    this.audio.hidden = false;
    this.studio.say(this.msg, 'info', key);
  }

  /** Forgets the clip. */
  clear() {
    this.value = null;
    this.file.value = '';
    this.audio.removeAttribute('src');
    this.audio.hidden = true;
    this.studio.say(this.msg, 'info', null);
  }

  async toggleRecording() {
    const { t } = this.studio;
    if (this.recorder) {
      const recorder = this.recorder;
      this.recorder = null;
      clearInterval(this.timer);
      this.record.classList.remove('recording');
      this.record.textContent = t('ref.record');
      this.record.dataset.i18n = 'ref.record';
      this.clock.textContent = '';
      const { blob } = await recorder.stop();
      await this.accept(blob, `recording-${Date.now()}.wav`);
      return;
    }
    try {
      this.recorder = new Recorder();
      await this.recorder.start();
    } catch (e) {
      this.recorder = null;
      this.studio.say(this.msg, 'error', 'ref.micError', { error: e.message || String(e) });
      return;
    }
    this.record.classList.add('recording');
    this.record.textContent = t('ref.stop');
    this.record.dataset.i18n = 'ref.stop';
    this.timer = setInterval(() => {
      const s = this.recorder?.elapsed() || 0;
      this.clock.textContent = `${s.toFixed(1)} s`;
      if (s >= REFERENCE_MAX_SECONDS) this.toggleRecording();
    }, 100);
  }

  /** Checks the clip's length here, then uploads it (the server checks again). */
  async accept(blob, name) {
    const { t, fmt } = this.studio;
    this.value = null;
    this.onChange?.(null);
    this.audio.src = URL.createObjectURL(blob);
    this.audio.hidden = false;
    const seconds = await clipSeconds(blob);
    if (seconds !== null && (seconds < REFERENCE_MIN_SECONDS || seconds > REFERENCE_MAX_SECONDS)) {
      this.studio.say(this.msg, 'error', seconds < REFERENCE_MIN_SECONDS ? 'ref.tooShort' : 'ref.tooLong', { seconds: seconds.toFixed(2) });
      return;
    }
    this.studio.say(this.msg, 'info', 'ref.uploading');
    try {
      const clip = await uploadClip(this.studio, blob, name);
      this.value = clip;
      this.studio.say(this.msg, 'ok', 'ref.ok', { seconds: fmt.seconds(clip.seconds), name: clip.name });
      this.onChange?.(clip);
    } catch (e) {
      this.studio.say(this.msg, 'error', { text: e.message });
    }
  }
}

// The Speak page: voice (model pair + reference, or a role), text, every official inference
// option, streamed playback, waveform, downloads and the session's history. Synthesis goes
// through the api_v2 route POST /tts (streamed WAV); model switches through /set_*_weights.
import { synthesizeAndPlay, audioContext } from '../lib/player.js';
import { ReferencePicker, uploadClip } from '../lib/reference.js';
import { Waveform } from '../lib/waveform.js';
import { encodeWav, encodeRaw, joinSamples } from '../lib/wav.js';

/**
 * The request options with the official api_v2 defaults (GPT_SoVITS api_v2.py / TTS.run), in the
 * order the official WebUI shows them. `versions`: only those model versions use the option.
 */
export const OPTIONS = [
  { field: 'text_split_method', type: 'select', values: ['cut0', 'cut1', 'cut2', 'cut3', 'cut4', 'cut5'], def: 'cut5' },
  { field: 'batch_size', type: 'range', min: 1, max: 200, step: 1, def: 1 },
  { field: 'fragment_interval', type: 'range', min: 0.01, max: 1, step: 0.01, def: 0.3 },
  { field: 'speed_factor', type: 'range', min: 0.6, max: 1.65, step: 0.05, def: 1 },
  { field: 'top_k', type: 'range', min: 1, max: 100, step: 1, def: 15 },
  { field: 'top_p', type: 'range', min: 0, max: 1, step: 0.05, def: 1 },
  { field: 'temperature', type: 'range', min: 0, max: 1, step: 0.05, def: 1 },
  { field: 'repetition_penalty', type: 'range', min: 0, max: 2, step: 0.05, def: 1.35 },
  { field: 'seed', type: 'seed', def: -1 },
  { field: 'streaming_mode', type: 'select', values: [0, 1, 2, 3], def: 1 },
  { field: 'min_chunk_length', type: 'range', min: 4, max: 100, step: 1, def: 16 },
  { field: 'overlap_length', type: 'range', min: 0, max: 10, step: 1, def: 2 },
  { field: 'parallel_infer', type: 'check', def: true },
  { field: 'split_bucket', type: 'check', def: true },
  { field: 'batch_threshold', type: 'range', min: 0, max: 1, step: 0.05, def: 0.75 },
  { field: 'sample_steps', type: 'radio', values: [4, 8, 16, 32, 64, 128], def: 32, versions: ['v3', 'v4'] },
  { field: 'super_sampling', type: 'check', def: false, versions: ['v3'] },
];

/** Download formats: wav and raw are made here, the others by the server's ffmpeg. */
export const FORMATS = ['wav', 'flac', 'mp3', 'ogg', 'opus', 'aac', 'raw'];

const LANGUAGES_FALLBACK = ['all_zh', 'en', 'zh', 'auto'];

let studio, t, el;
let root;
let info = null;
let models = null;
let roles = [];
let mode = 'pair';
let mainRef = null;
const auxClips = [];
let abort = null;
let waveform;
let current = null; // the result shown in the output card
const history = [];
let nextHistoryID = 1;

function $(sel) { return root.querySelector(sel); }

const page = {
  async mount(section, s) {
    studio = s; t = s.t; el = s.el; root = section;
    section.append(studio.html(TEMPLATE));
    buildOptions();
    mainRef = new ReferencePicker($('#ref-picker'), studio, { prefix: 'ref', onChange: () => updateSpeakButton() });
    waveform = new Waveform($('#waveform'), { onSeek: (sec) => { const a = $('#result-audio'); if (a.src) { a.currentTime = sec; } } });
    wire();
    await Promise.all([loadInfo(), loadModels(), loadRoles()]);
    setMode('pair');
  },
  show() { loadRoles(); },
  relabel() { refreshLabels(); },
  /** Opens role `name` in role mode (from the Voices page). */
  useRole(name) {
    setMode('role');
    $('#role-select').value = name;
    roleChanged();
  },
};
export default page;

const TEMPLATE = `
<h1 id="title-speak" data-i18n="speak.title">Speak</h1>
<p class="lead" data-i18n="speak.lead"></p>
<div class="grid-2">
  <div class="stack">
    <section class="card" aria-labelledby="voice-title">
      <h2 id="voice-title"><span data-i18n="speak.voice">Voice</span> <span class="badge" id="version-badge"></span></h2>
      <div class="segmented" role="group" data-i18n-label="speak.voiceSource">
        <button type="button" id="mode-pair" aria-pressed="true" data-i18n="speak.modePair"></button>
        <button type="button" id="mode-role" aria-pressed="false" data-i18n="speak.modeRole"></button>
      </div>
      <div id="pair-panel">
        <h3 data-i18n="speak.models"></h3>
        <div class="fields-2">
          <div class="field"><label for="gpt-select" data-i18n="speak.gpt"></label><select id="gpt-select"></select></div>
          <div class="field"><label for="sovits-select" data-i18n="speak.sovits"></label><select id="sovits-select"></select></div>
        </div>
        <div class="field">
          <label for="weights-file" data-i18n="speak.uploadWeights"></label>
          <div class="row"><input type="file" id="weights-file" accept=".ckpt,.pth">
            <button type="button" class="btn small" id="models-refresh" data-i18n="speak.refresh"></button></div>
          <span class="hint" data-i18n="speak.uploadWeights.hint"></span>
        </div>
        <p class="msg" id="model-msg" role="status"></p>
        <h3 data-i18n="speak.reference"></h3>
        <div class="field">
          <span class="label" data-i18n="speak.mainRef"></span>
          <div id="ref-picker"></div>
          <span class="hint" data-i18n="speak.mainRef.hint"></span>
        </div>
        <div class="field">
          <label for="prompt-text" data-i18n="speak.promptText"></label>
          <textarea id="prompt-text" rows="2"></textarea>
          <span class="hint" data-i18n="speak.promptText.hint"></span>
        </div>
        <div class="fields-2">
          <div class="field"><label for="prompt-lang" data-i18n="speak.promptLang"></label><select id="prompt-lang"></select></div>
          <div class="field">
            <label class="check"><input type="checkbox" id="ref-free"><span><span data-i18n="speak.refFree"></span>
              <span class="hint" data-i18n="speak.refFree.hint"></span></span></label>
          </div>
        </div>
        <div class="field">
          <label for="aux-files" data-i18n="speak.aux"></label>
          <input type="file" id="aux-files" multiple accept="audio/*,.wav,.flac,.mp3,.ogg">
          <span class="hint" data-i18n="speak.aux.hint"></span>
          <ul class="file-list" id="aux-list"></ul>
        </div>
      </div>
      <div id="role-panel" hidden>
        <div class="fields-2">
          <div class="field"><label for="role-select" data-i18n="speak.role"></label><select id="role-select"></select></div>
          <div class="field"><label for="emotion-select" data-i18n="speak.emotion"></label><select id="emotion-select"></select>
            <span class="hint" data-i18n="speak.emotion.hint"></span></div>
        </div>
        <p class="msg info" id="role-summary"></p>
      </div>
    </section>
    <section class="card" aria-labelledby="text-title">
      <h2 id="text-title" data-i18n="speak.text"></h2>
      <div class="field">
        <label for="text" class="visually-hidden" data-i18n="speak.text"></label>
        <textarea id="text" class="big" data-i18n-placeholder="speak.text.placeholder"></textarea>
        <div class="row"><span class="hint" data-i18n="speak.text.hint"></span><span class="spacer"></span><span class="hint" id="text-count"></span></div>
      </div>
      <div class="field"><label for="text-lang" data-i18n="speak.textLang"></label><select id="text-lang"></select>
        <span class="hint" data-i18n="speak.textLang.hint"></span></div>
    </section>
  </div>
  <div class="stack">
    <section class="card" aria-labelledby="output-title">
      <h2 id="output-title" data-i18n="speak.output"></h2>
      <div class="row">
        <button type="button" class="btn primary big" id="speak" data-i18n="speak.speak"></button>
        <button type="button" class="btn" id="stop" disabled data-i18n="speak.stop"></button>
        <span class="hint" data-i18n="speak.keys"></span>
      </div>
      <p class="msg" id="speak-msg" role="status"></p>
      <div class="stats" id="stats" aria-live="polite"></div>
      <canvas class="waveform" id="waveform" tabindex="0" data-i18n-label="speak.waveform"></canvas>
      <audio id="result-audio" controls hidden></audio>
      <div class="row">
        <label for="download-format" data-i18n="speak.format"></label>
        <select id="download-format"></select>
        <button type="button" class="btn" id="download" disabled data-i18n="speak.download"></button>
      </div>
    </section>
    <details class="card" id="settings" open>
      <summary data-i18n="speak.settings"></summary>
      <div id="options"></div>
      <div class="row end"><button type="button" class="btn small" id="reset-options" data-i18n="speak.resetOptions"></button></div>
    </details>
    <section class="card" aria-labelledby="history-title">
      <h2 id="history-title" data-i18n="speak.history"></h2>
      <p class="hint" id="history-empty" data-i18n="speak.history.empty"></p>
      <ul class="history" id="history"></ul>
    </section>
  </div>
</div>`;

// ---- Options ----

function buildOptions() {
  const box = $('#options');
  for (const o of OPTIONS) {
    const id = `opt-${o.field}`;
    const field = el('div', { class: 'field', dataset: { field: o.field } });
    const hint = el('span', { class: 'hint', id: `${id}-hint`, dataset: { i18n: `opt.${o.field}.hint` } });
    if (o.type === 'check') {
      field.append(el('label', { class: 'check' }, el('input', { type: 'checkbox', id }),
        el('span', {}, el('span', { dataset: { i18n: `opt.${o.field}` } }), hint)));
    } else {
      if (o.type === 'radio') field.append(el('span', { class: 'label', id: `${id}-label`, dataset: { i18n: `opt.${o.field}` } }));
      else field.append(el('label', { for: id, dataset: { i18n: `opt.${o.field}` } }));
      if (o.type === 'range') {
        const range = el('input', { type: 'range', id: `${id}-range`, min: o.min, max: o.max, step: o.step, 'aria-hidden': 'true', tabindex: '-1' });
        const number = el('input', { type: 'number', id, min: o.min, max: o.max, step: o.step });
        range.addEventListener('input', () => { number.value = range.value; });
        number.addEventListener('input', () => { range.value = number.value; });
        field.append(el('div', { class: 'slider' }, range, number));
      } else if (o.type === 'select') {
        field.append(el('select', { id }, o.values.map((v) => el('option', { value: v, dataset: { i18n: `opt.${o.field}.${v}` } }))));
      } else if (o.type === 'radio') {
        field.append(el('div', { class: 'radios', role: 'radiogroup', id, 'aria-labelledby': `${id}-label` }, o.values.map((v) =>
          el('label', {}, el('input', { type: 'radio', name: id, value: v }), String(v)))));
      } else if (o.type === 'seed') {
        const keep = el('label', { class: 'check' }, el('input', { type: 'checkbox', id: 'opt-keep-random' }), el('span', { dataset: { i18n: 'opt.keep_random' } }));
        field.append(el('div', { class: 'row' }, el('input', { type: 'number', id, step: 1, min: -1, max: 4294967295, class: 'seed' }), keep));
      }
      field.append(hint);
      field.querySelector(`#${id}`)?.setAttribute('aria-describedby', `${id}-hint`);
    }
    box.append(field);
  }
  resetOptions();
}

function resetOptions() {
  for (const o of OPTIONS) setOption(o, o.def);
  $('#opt-keep-random').checked = true;
  updateOptionAvailability();
}

function setOption(o, value) {
  const id = `opt-${o.field}`;
  if (o.type === 'check') $(`#${id}`).checked = !!value;
  else if (o.type === 'radio') { for (const r of root.querySelectorAll(`input[name="${id}"]`)) r.checked = String(r.value) === String(value); }
  else {
    $(`#${id}`).value = value;
    const range = $(`#${id}-range`);
    if (range) range.value = value;
  }
}

function readOption(o) {
  const id = `opt-${o.field}`;
  if (o.type === 'check') return $(`#${id}`).checked;
  if (o.type === 'radio') return Number(root.querySelector(`input[name="${id}"]:checked`)?.value ?? o.def);
  const v = $(`#${id}`).value;
  if (o.type === 'select') return typeof o.def === 'number' ? Number(v) : v;
  const n = Number(v);
  return Number.isFinite(n) && v !== '' ? n : o.def;
}

/** Options that the loaded model version does not use are disabled, with the reason in the hint. */
function updateOptionAvailability() {
  const version = info?.version;
  for (const o of OPTIONS) {
    if (!o.versions) continue;
    const on = !!version && o.versions.includes(version);
    for (const input of root.querySelectorAll(`[data-field="${o.field}"] input`)) input.disabled = !on;
  }
  const streaming = readOption(OPTIONS.find((o) => o.field === 'streaming_mode'));
  for (const f of ['min_chunk_length', 'overlap_length']) {
    for (const input of root.querySelectorAll(`[data-field="${f}"] input`)) input.disabled = streaming < 2;
  }
}

function collectOptions() {
  const out = {};
  for (const o of OPTIONS) {
    if (o.versions && !(info && o.versions.includes(info.version))) continue;
    out[o.field] = readOption(o);
  }
  if ($('#opt-keep-random').checked || out.seed < 0) {
    // Drawn here so the history can replay the exact seed (the official WebUI does the same).
    out.seed = Math.floor(Math.random() * 4294967296);
    $('#opt-seed').value = -1;
  }
  return out;
}

// ---- Data ----

async function loadInfo() {
  info = await studio.apiJSON('/studio/api/info');
  $('#version-badge').textContent = info.version;
  for (const id of ['#text-lang', '#prompt-lang']) {
    const select = $(id);
    const previous = select.value;
    const codes = info.languages?.length ? info.languages : LANGUAGES_FALLBACK;
    select.replaceChildren(...codes.map((c) => el('option', { value: c, dataset: { i18n: `lang.${c}` } }, t(`lang.${c}`))));
    select.value = codes.includes(previous) ? previous : (codes.includes('all_zh') ? 'all_zh' : codes[0]);
  }
  $('#download-format').replaceChildren(...FORMATS.filter((f) => f === 'wav' || f === 'raw' || info.ffmpeg)
    .map((f) => el('option', { value: f }, f.toUpperCase())));
  updateOptionAvailability();
  updateCount();
}

async function loadModels() {
  models = await studio.apiJSON('/studio/api/models');
  fillModelSelect($('#gpt-select'), models.gpt, models.current.gpt);
  fillModelSelect($('#sovits-select'), models.sovits, models.current.sovits);
}

function fillModelSelect(select, list, currentPath) {
  const options = list.map((m) => el('option', { value: m.path, title: m.path }, `${m.name}${m.version ? ` · ${m.version}` : ''}${m.origin ? ` (${t(`origin.${m.origin}`)})` : ''}`));
  if (currentPath && !list.some((m) => m.path === currentPath)) {
    options.unshift(el('option', { value: currentPath, title: currentPath }, currentPath.split('/').pop()));
  }
  if (!currentPath) options.unshift(el('option', { value: '' }, t('speak.builtIn')));
  select.replaceChildren(...options);
  select.value = currentPath || '';
  select.disabled = !currentPath;
}

async function loadRoles() {
  try {
    const answer = await studio.apiJSON('/studio/api/roles');
    roles = answer.roles;
  } catch (e) {
    roles = [];
  }
  const select = $('#role-select');
  const previous = select.value;
  select.replaceChildren(...roles.filter((r) => !r.error).map((r) => el('option', { value: r.name }, r.name)));
  if (roles.some((r) => r.name === previous)) select.value = previous;
  $('#mode-role').disabled = roles.filter((r) => !r.error).length === 0;
  roleChanged();
}

function roleChanged() {
  const role = roles.find((r) => r.name === $('#role-select').value);
  const select = $('#emotion-select');
  const chosen = select.value;
  const options = [el('option', { value: '', dataset: { i18n: role?.classifier ? 'speak.emotion.auto' : 'speak.emotion.default' } },
    t(role?.classifier ? 'speak.emotion.auto' : 'speak.emotion.default'))];
  for (const e of role?.emotions || []) options.push(el('option', { value: e.label }, e.label));
  select.replaceChildren(...options);
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
  $('#role-summary').textContent = role ? t('speak.roleSummary', {
    text: role.ref.text, lang: role.ref.lang, emotions: role.emotions.length,
    weights: role.gpt || role.sovits ? t('speak.roleOwnWeights') : t('speak.roleServerWeights'),
  }) : '';
  updateSpeakButton();
}

// ---- Wiring ----

function wire() {
  $('#mode-pair').addEventListener('click', () => setMode('pair'));
  $('#mode-role').addEventListener('click', () => setMode('role'));
  $('#role-select').addEventListener('change', roleChanged);
  $('#gpt-select').addEventListener('change', () => switchWeights('gpt', $('#gpt-select').value));
  $('#sovits-select').addEventListener('change', () => switchWeights('sovits', $('#sovits-select').value));
  $('#models-refresh').addEventListener('click', () => loadModels().catch((e) => studio.notify(e.message, 'error')));
  $('#weights-file').addEventListener('change', uploadWeights);
  $('#aux-files').addEventListener('change', addAux);
  $('#text').addEventListener('input', updateCount);
  $('#text').addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); speak(); } });
  root.addEventListener('keydown', (e) => { if (e.key === 'Escape' && abort) { e.preventDefault(); stop(); } });
  $('#speak').addEventListener('click', speak);
  $('#stop').addEventListener('click', stop);
  $('#download').addEventListener('click', () => current && download(current));
  $('#reset-options').addEventListener('click', resetOptions);
  $('#opt-streaming_mode').addEventListener('change', updateOptionAvailability);
  $('#ref-free').addEventListener('change', () => { $('#prompt-text').disabled = $('#ref-free').checked; });
  const audio = $('#result-audio');
  audio.addEventListener('play', () => current?.player?.stop());
  audio.addEventListener('timeupdate', () => waveform.setPosition(audio.currentTime));
}

function setMode(next) {
  mode = next;
  $('#mode-pair').setAttribute('aria-pressed', String(next === 'pair'));
  $('#mode-role').setAttribute('aria-pressed', String(next === 'role'));
  $('#pair-panel').hidden = next !== 'pair';
  $('#role-panel').hidden = next !== 'role';
  updateSpeakButton();
}

function updateCount() {
  const n = [...$('#text').value].length;
  const limit = info?.max_text ?? 0;
  const counter = $('#text-count');
  counter.textContent = limit ? `${n} / ${limit}` : String(n);
  counter.className = `hint${limit && n > limit ? ' msg error' : ''}`;
  updateSpeakButton();
}

function updateSpeakButton() {
  const button = $('#speak');
  if (!button) return;
  button.disabled = !!abort;
}

function refreshLabels() {
  for (const id of ['#text-lang', '#prompt-lang']) for (const o of $(id).options) o.textContent = t(`lang.${o.value}`);
  if (models) { fillModelSelect($('#gpt-select'), models.gpt, models.current.gpt); fillModelSelect($('#sovits-select'), models.sovits, models.current.sovits); }
  roleChanged();
  renderStats();
  renderHistory();
  updateCount();
}

async function switchWeights(kind, path) {
  if (!path) return;
  const msg = $('#model-msg');
  studio.say(msg, 'info', 'speak.loadingModel');
  $('#speak').disabled = true;
  try {
    await studio.api(`/set_${kind === 'gpt' ? 'gpt' : 'sovits'}_weights?weights_path=${encodeURIComponent(path)}`);
    studio.say(msg, 'ok', 'speak.modelLoaded', { name: path.split('/').pop() });
    await Promise.all([loadInfo(), loadModels()]);
  } catch (e) {
    studio.say(msg, 'error', { text: e.message });
    await loadModels().catch(() => {});
  } finally {
    updateSpeakButton();
  }
}

async function uploadWeights() {
  const file = $('#weights-file').files[0];
  if (!file) return;
  const msg = $('#model-msg');
  studio.say(msg, 'info', 'speak.uploadingWeights', { name: file.name });
  try {
    const answer = await studio.apiJSON(`/studio/api/weights?name=${encodeURIComponent(file.name)}`, {
      method: 'POST', body: file, headers: { 'Content-Type': 'application/octet-stream' },
    });
    await loadModels();
    $('#weights-file').value = '';
    await switchWeights(answer.kind, answer.path);
  } catch (e) {
    studio.say(msg, 'error', { text: e.message });
  }
}

async function addAux() {
  const input = $('#aux-files');
  for (const file of input.files) {
    try {
      const clip = await uploadClip(studio, file, file.name, { check: false });
      auxClips.push(clip);
    } catch (e) {
      studio.notify(`${file.name}: ${e.message}`, 'error');
    }
  }
  input.value = '';
  renderAux();
}

function renderAux() {
  $('#aux-list').replaceChildren(...auxClips.map((clip, i) => el('li', {},
    el('span', {}, `${clip.name} · ${studio.fmt.seconds(clip.seconds)}`),
    el('button', { type: 'button', class: 'btn small', onclick: () => { auxClips.splice(i, 1); renderAux(); } }, t('common.remove')))));
}

// ---- Synthesis ----

function buildRequest() {
  const text = $('#text').value;
  if (!text.trim()) throw new Error(t('speak.needText'));
  const request = { text, text_lang: $('#text-lang').value, media_type: 'wav', ...collectOptions() };
  let voice;
  if (mode === 'role') {
    const role = $('#role-select').value;
    if (!role) throw new Error(t('speak.needRole'));
    request.role = role;
    const emotion = $('#emotion-select').value;
    if (emotion) request.emotion = emotion;
    voice = emotion ? `${role} · ${emotion}` : role;
  } else {
    if (!mainRef.value && !info?.default_voice) throw new Error(t('speak.needRef'));
    if (mainRef.value) {
      request.ref_audio_path = mainRef.value.path;
      request.prompt_text = $('#ref-free').checked ? '' : $('#prompt-text').value;
      request.prompt_lang = $('#prompt-lang').value;
      request.aux_ref_audio_paths = auxClips.map((c) => c.path);
      voice = mainRef.value.name;
    } else {
      voice = t('speak.defaultVoice');
    }
  }
  return { request, voice };
}

async function speak() {
  if (abort) return;
  const msg = $('#speak-msg');
  let built;
  try {
    built = buildRequest();
  } catch (e) {
    studio.say(msg, 'error', { text: e.message });
    return;
  }
  audioContext(); // inside the click: lets the page play sound
  current?.player?.stop();
  const audio = $('#result-audio');
  audio.pause();
  audio.hidden = true;
  abort = new AbortController();
  $('#speak').disabled = true;
  $('#stop').disabled = false;
  $('#download').disabled = true;
  studio.say(msg, 'info', 'speak.working');
  const debug = { started: performance.now(), firstChunk: null, playing: null, finished: null, error: null };
  window.studioDebug.lastSynthesis = debug;
  const result = { id: nextHistoryID++, request: built.request, voice: built.voice, time: new Date(), timings: debug };
  current = result;
  renderStats();
  let raf = 0;
  try {
    let pendingDraw = false;
    const done = await synthesizeAndPlay(built.request, {
      api: studio.api,
      signal: abort.signal,
      onFirstChunk: (tm) => { debug.firstChunk = tm.firstChunk; studio.say(msg, 'info', 'speak.streaming'); renderStats(); },
      onPlay: (tm, player) => {
        debug.playing = tm.playing;
        result.player = player;
        player.onEnd = () => { cancelAnimationFrame(raf); waveform.setPosition(0); };
        const tick = () => { if (result.player) waveform.setPosition(result.player.position()); raf = requestAnimationFrame(tick); };
        raf = requestAnimationFrame(tick);
      },
      onChunk: (samples, rate, pieces) => {
        if (pendingDraw) return;
        pendingDraw = true;
        requestAnimationFrame(() => { pendingDraw = false; waveform.set(joinSamples(pieces), rate); });
      },
    });
    debug.finished = done.timings.finished;
    result.player = done.player;
    result.samples = done.samples;
    result.sampleRate = done.sampleRate;
    result.seconds = done.samples.length / done.sampleRate;
    result.blob = encodeWav(done.samples, done.sampleRate);
    result.url = URL.createObjectURL(result.blob);
    waveform.set(done.samples, done.sampleRate);
    audio.src = result.url;
    audio.hidden = false;
    $('#download').disabled = false;
    studio.say(msg, 'ok', 'speak.done');
    history.unshift(result);
    if (history.length > 50) URL.revokeObjectURL(history.pop().url);
    renderHistory();
  } catch (e) {
    cancelAnimationFrame(raf);
    debug.error = e.name === 'AbortError' ? 'aborted' : e.message;
    if (e.name === 'AbortError') studio.say(msg, 'info', 'speak.stopped'); else studio.say(msg, 'error', { text: e.message });
    current = history[0] || null;
  } finally {
    abort = null;
    $('#stop').disabled = true;
    updateSpeakButton();
    renderStats();
  }
}

function stop() {
  abort?.abort();
  current?.player?.stop();
}

function renderStats() {
  const box = $('#stats');
  const r = current;
  if (!r) { box.replaceChildren(); return; }
  const tm = r.timings;
  const parts = [];
  const stat = (key, value) => parts.push(el('span', {}, `${t(key)} `, el('b', {}, value)));
  if (tm.firstChunk) stat('stats.firstChunk', studio.fmt.ms(tm.firstChunk - tm.started));
  if (tm.finished) stat('stats.total', studio.fmt.ms(tm.finished - tm.started));
  if (r.seconds) stat('stats.audio', studio.fmt.seconds(r.seconds));
  if (r.seconds && tm.finished) stat('stats.rtf', ((tm.finished - tm.started) / 1000 / r.seconds).toFixed(3));
  if (r.request) stat('stats.seed', String(r.request.seed));
  box.replaceChildren(...parts);
}

function renderHistory() {
  const list = $('#history');
  $('#history-empty').hidden = history.length > 0;
  list.replaceChildren(...history.map((r) => {
    const settings = `${r.request.text_split_method} · top_k ${r.request.top_k} · top_p ${r.request.top_p} · T ${r.request.temperature} · ${t('opt.speed_factor')} ${r.request.speed_factor} · seed ${r.request.seed}`;
    return el('li', { class: r === current ? 'current' : '', dataset: { id: String(r.id) } },
      el('div', { class: 'text', title: r.request.text }, r.request.text),
      el('div', { class: 'meta' }, `${r.time.toLocaleTimeString()} · ${r.voice} · ${studio.fmt.seconds(r.seconds)} · ${settings}`),
      el('div', { class: 'row' },
        el('button', { type: 'button', class: 'btn small history-play', onclick: () => replay(r) }, t('history.play')),
        el('button', { type: 'button', class: 'btn small history-reuse', onclick: () => reuse(r) }, t('history.reuse')),
        el('button', { type: 'button', class: 'btn small history-download', onclick: () => download(r) }, t('history.download'))));
  }));
}

function replay(r) {
  current?.player?.stop();
  current = r;
  const audio = $('#result-audio');
  audio.src = r.url;
  audio.hidden = false;
  waveform.set(r.samples, r.sampleRate);
  $('#download').disabled = false;
  renderStats();
  renderHistory();
  audio.play().catch(() => {});
}

/** Puts a history entry's text and settings back into the form (its exact seed included). */
function reuse(r) {
  $('#text').value = r.request.text;
  if ([...$('#text-lang').options].some((o) => o.value === r.request.text_lang)) $('#text-lang').value = r.request.text_lang;
  for (const o of OPTIONS) if (r.request[o.field] !== undefined) setOption(o, r.request[o.field]);
  $('#opt-keep-random').checked = false;
  updateOptionAvailability();
  updateCount();
  studio.notify(t('history.reused'), 'ok');
}

async function download(r) {
  const format = $('#download-format').value;
  const stamp = r.time.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  let blob;
  try {
    if (format === 'wav') blob = r.blob;
    else if (format === 'raw') blob = encodeRaw(r.samples);
    else blob = await (await studio.api(`/studio/api/encode?format=${format}`, { method: 'POST', body: r.blob, headers: { 'Content-Type': 'audio/wav' } })).blob();
  } catch (e) {
    studio.notify(e.message, 'error');
    return;
  }
  const a = el('a', { href: URL.createObjectURL(blob), download: `gpt-sovits-${stamp}.${format === 'raw' ? 'pcm' : format}` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  window.studioDebug.lastDownload = { format, bytes: blob.size, type: blob.type };
}

// The Voices page: the server's role folders (role/<name>/config.json) as cards; listen to each
// reference, try each emotion (POST /tts with role + emotion), create and edit roles.
import { synthesizeAndPlay, audioContext } from '../lib/player.js';
import { ReferencePicker } from '../lib/reference.js';

let studio, t, el, root;
let roles = [];
let labels = [];
let enabled = true;
let models = null;
let trying = null;
let editing = null; // name of the role being edited, or null for a new one
let mainPicker;
const emotionPickers = new Map();

function $(sel) { return root.querySelector(sel); }

const page = {
  async mount(section, s) {
    studio = s; t = s.t; el = s.el; root = section;
    section.append(studio.html(TEMPLATE));
    $('#role-new').addEventListener('click', () => openEditor(null));
    $('#roles-refresh').addEventListener('click', () => load());
    $('#role-editor-form').addEventListener('submit', (e) => { e.preventDefault(); save(); });
    $('#role-cancel').addEventListener('click', () => $('#role-editor').close());
    $('#try-text').value = t('voices.tryText.default');
    await load();
  },
  show() { load(); },
  relabel() { render(); },
};
export default page;

const TEMPLATE = `
<h1 id="title-voices" data-i18n="voices.title"></h1>
<p class="lead" data-i18n="voices.lead"></p>
<div class="card">
  <div class="row">
    <button type="button" class="btn primary" id="role-new" data-i18n="voices.new"></button>
    <button type="button" class="btn" id="roles-refresh" data-i18n="speak.refresh"></button>
    <span class="spacer"></span>
  </div>
  <div class="field">
    <label for="try-text" data-i18n="voices.tryText"></label>
    <input type="text" id="try-text">
    <span class="hint" data-i18n="voices.tryText.hint"></span>
  </div>
  <p class="msg" id="voices-msg" role="status"></p>
</div>
<p></p>
<div class="cards" id="role-cards"></div>
<dialog id="role-editor" aria-labelledby="role-editor-title">
  <form id="role-editor-form" method="dialog">
    <h2 id="role-editor-title"></h2>
    <div class="field">
      <label for="role-name" data-i18n="voices.name"></label>
      <input type="text" id="role-name" required maxlength="100" autocomplete="off">
      <span class="hint" data-i18n="voices.name.hint"></span>
    </div>
    <div class="field">
      <span class="label" data-i18n="voices.defaultRef"></span>
      <div id="role-ref-picker"></div>
    </div>
    <div class="fields-2">
      <div class="field"><label for="role-ref-text" data-i18n="speak.promptText"></label><input type="text" id="role-ref-text"></div>
      <div class="field"><label for="role-ref-lang" data-i18n="speak.promptLang"></label><select id="role-ref-lang"></select></div>
    </div>
    <div class="fields-2">
      <div class="field"><label for="role-gpt" data-i18n="voices.gpt"></label><select id="role-gpt"></select></div>
      <div class="field"><label for="role-sovits" data-i18n="voices.sovits"></label><select id="role-sovits"></select></div>
    </div>
    <h3 data-i18n="voices.emotions"></h3>
    <p class="hint" data-i18n="voices.emotions.hint"></p>
    <div id="role-emotions"></div>
    <p class="msg" id="role-editor-msg" role="alert"></p>
    <div class="row end">
      <button type="button" class="btn" id="role-cancel" data-i18n="common.cancel"></button>
      <button type="submit" class="btn primary" id="role-save" data-i18n="common.save"></button>
    </div>
  </form>
</dialog>`;

async function load() {
  try {
    const answer = await studio.apiJSON('/studio/api/roles');
    roles = answer.roles;
    labels = answer.emotion_labels;
    enabled = answer.enabled;
  } catch (e) {
    studio.say($('#voices-msg'), 'error', { text: e.message });
    return;
  }
  render();
}

function audioURL(role, emotion) {
  const q = emotion ? `?emotion=${encodeURIComponent(emotion)}` : '';
  return `/studio/api/roles/${encodeURIComponent(role)}/clip${q}`;
}

function render() {
  $('#role-new').disabled = !enabled;
  const msg = $('#voices-msg');
  if (!enabled) studio.say(msg, 'info', 'voices.disabled');
  else if (roles.length === 0) studio.say(msg, 'info', 'voices.none');
  else if (!trying && msg.dataset.i18n !== 'voices.tried') studio.say(msg, 'info', null);
  $('#role-cards').replaceChildren(...roles.map(card));
}

function card(role) {
  const head = el('h2', {}, role.name);
  if (role.error) {
    return el('article', { class: 'card role-card', dataset: { role: role.name } }, head,
      el('p', { class: 'msg error' }, role.error),
      el('div', { class: 'row' }, el('button', { type: 'button', class: 'btn small role-edit', onclick: () => openEditor(role) }, t('voices.edit'))));
  }
  const weights = role.gpt || role.sovits
    ? [role.gpt && `GPT ${role.gpt.split('/').pop()}`, role.sovits && `SoVITS ${role.sovits.split('/').pop()}`].filter(Boolean).join(' · ')
    : t('voices.serverWeights');
  const chips = role.emotions.map((e) => el('span', { class: 'chip', dataset: { emotion: e.label } },
    el('span', { title: e.text }, e.label),
    el('button', { type: 'button', class: 'btn small listen', 'aria-label': t('voices.listenTo', { name: e.label }), onclick: () => listen(audioURL(role.name, e.label)) }, '▶'),
    el('button', { type: 'button', class: 'btn small try-emotion', dataset: { emotion: e.label }, onclick: () => tryVoice(role.name, e.label) }, t('voices.try'))));
  return el('article', { class: 'card role-card', dataset: { role: role.name } },
    head,
    el('dl', { class: 'kv' },
      el('dt', {}, t('voices.defaultRef')), el('dd', {}, `${role.ref.text} (${role.ref.lang})`),
      el('dt', {}, t('voices.weights')), el('dd', {}, weights),
      el('dt', {}, t('voices.classifier')), el('dd', {}, role.classifier ? t('common.yes') : t('common.no'))),
    el('div', { class: 'row' },
      el('button', { type: 'button', class: 'btn small listen', onclick: () => listen(audioURL(role.name)) }, t('voices.listen')),
      el('button', { type: 'button', class: 'btn small try-default', onclick: () => tryVoice(role.name, null) }, t('voices.try')),
      el('button', { type: 'button', class: 'btn small role-use', onclick: () => useOnSpeak(role.name) }, t('voices.use')),
      el('button', { type: 'button', class: 'btn small role-edit', onclick: () => openEditor(role) }, t('voices.edit'))),
    role.emotions.length ? el('h3', {}, t('voices.emotions')) : null,
    el('div', { class: 'chips' }, chips));
}

let listening = null;
function listen(url) {
  listening?.pause();
  listening = new Audio(url);
  listening.play().catch((e) => studio.notify(e.message, 'error'));
}

async function tryVoice(role, emotion) {
  trying?.abort();
  audioContext();
  const text = $('#try-text').value.trim() || t('voices.tryText.default');
  const msg = $('#voices-msg');
  studio.say(msg, 'info', 'voices.trying', { name: emotion ? `${role} · ${emotion}` : role });
  const controller = new AbortController();
  trying = controller;
  const debug = { role, emotion, started: performance.now(), playing: null, finished: null, error: null };
  window.studioDebug.lastTry = debug;
  try {
    const request = { text, role, media_type: 'wav', streaming_mode: 1 };
    if (emotion) request.emotion = emotion;
    const done = await synthesizeAndPlay(request, { api: studio.api, signal: controller.signal, onPlay: (tm) => { debug.playing = tm.playing; } });
    debug.finished = done.timings.finished;
    debug.seconds = done.samples.length / done.sampleRate;
    studio.say(msg, 'ok', 'voices.tried', { name: emotion ? `${role} · ${emotion}` : role, seconds: studio.fmt.seconds(debug.seconds) });
  } catch (e) {
    debug.error = e.message;
    if (e.name !== 'AbortError') studio.say(msg, 'error', { text: e.message });
  } finally {
    if (trying === controller) trying = null;
  }
}

async function useOnSpeak(name) {
  studio.go('speak');
  // The Speak page may still be loading: wait until it is there.
  for (let i = 0; i < 100 && !studio.page('speak'); i++) await new Promise((r) => setTimeout(r, 50));
  studio.page('speak')?.useRole(name);
}

// ---- Editor ----

async function openEditor(role) {
  editing = role ? role.name : null;
  const dialog = $('#role-editor');
  $('#role-editor-title').textContent = role ? t('voices.editTitle', { name: role.name }) : t('voices.newTitle');
  studio.say($('#role-editor-msg'), 'error', null);
  const name = $('#role-name');
  name.value = role ? role.name : '';
  name.readOnly = !!role;
  $('#role-ref-text').value = role?.ref?.text || '';
  try {
    if (!models) models = await studio.apiJSON('/studio/api/models');
    const info = await studio.apiJSON('/studio/api/info');
    $('#role-ref-lang').replaceChildren(...info.languages.map((c) => el('option', { value: c }, t(`lang.${c}`))));
  } catch (e) {
    studio.say($('#role-editor-msg'), 'error', { text: e.message });
  }
  $('#role-ref-lang').value = role?.ref?.lang || 'zh';
  fillWeights($('#role-gpt'), models?.gpt || [], role?.gpt);
  fillWeights($('#role-sovits'), models?.sovits || [], role?.sovits);
  const box = $('#role-ref-picker');
  box.replaceChildren();
  mainPicker = new ReferencePicker(box, studio, { prefix: 'role-ref' });
  if (role && !role.error) mainPicker.showExisting(audioURL(role.name), 'voices.keepClip');
  buildEmotionRows(role);
  dialog.showModal();
  (role ? $('#role-ref-text') : name).focus();
}

function fillWeights(select, list, currentPath) {
  const options = [el('option', { value: '' }, t('voices.serverWeights'))];
  for (const m of list) options.push(el('option', { value: m.path, title: m.path }, `${m.name}${m.version ? ` · ${m.version}` : ''}`));
  if (currentPath && !list.some((m) => m.path === currentPath)) options.push(el('option', { value: currentPath }, currentPath.split('/').pop()));
  select.replaceChildren(...options);
  select.value = currentPath || '';
}

function buildEmotionRows(role) {
  const box = $('#role-emotions');
  box.replaceChildren();
  emotionPickers.clear();
  for (const label of labels) {
    const existing = role?.emotions?.find((e) => e.label === label);
    const pickerBox = el('div');
    const text = el('input', { type: 'text', id: `emotion-text-${label}`, value: existing?.text || '' });
    const remove = existing ? el('label', { class: 'check' }, el('input', { type: 'checkbox', id: `emotion-remove-${label}` }), t('common.remove')) : null;
    const details = el('details', { class: 'emotion-row', dataset: { emotion: label }, open: !!existing },
      el('summary', {}, existing ? `${label} ✓` : label),
      pickerBox,
      el('div', { class: 'field' }, el('label', { for: `emotion-text-${label}` }, t('voices.emotionText')), text),
      remove);
    box.append(details);
    const picker = new ReferencePicker(pickerBox, studio, { prefix: `emotion-${label}` });
    if (existing) picker.showExisting(audioURL(role.name, label), 'voices.keepClip');
    emotionPickers.set(label, { picker, text, remove: remove?.querySelector('input'), existing: !!existing });
  }
}

async function save() {
  const msg = $('#role-editor-msg');
  const name = $('#role-name').value.trim();
  const body = {
    ref_text: $('#role-ref-text').value,
    ref_lang: $('#role-ref-lang').value,
    gpt: $('#role-gpt').value || null,
    sovits: $('#role-sovits').value || null,
    emotions: [],
  };
  if (mainPicker.value) body.ref_upload = mainPicker.value.path;
  else if (!editing) { studio.say(msg, 'error', 'voices.needRef'); return; }
  for (const [label, row] of emotionPickers) {
    if (row.remove?.checked) continue;
    const text = row.text.value.trim();
    if (row.picker.value) {
      if (!text) { studio.say(msg, 'error', 'voices.needEmotionText', { name: label }); return; }
      body.emotions.push({ label, text, upload: row.picker.value.path });
    } else if (row.existing) {
      body.emotions.push({ label, text });
    }
  }
  $('#role-save').disabled = true;
  try {
    if (editing) await studio.apiJSON(`/studio/api/roles/${encodeURIComponent(editing)}`, { method: 'PUT', json: body });
    else await studio.apiJSON('/studio/api/roles', { method: 'POST', json: { name, ...body } });
    $('#role-editor').close();
    studio.notify(t('voices.saved', { name: editing || name }), 'ok');
    await load();
  } catch (e) {
    studio.say(msg, 'error', { text: e.message });
  } finally {
    $('#role-save').disabled = false;
  }
}

// The Review page: proofreading a `.list` (wav_path|speaker|language|text) before formatting it
// for training, as the official subfix tool does: play each clip, fix its text and language,
// delete, merge or split rows, undo and redo, save. Every change goes to the server
// (/prepare/review/api/…), which keeps the rows and the history and writes the file atomically
// (the previous one kept as <list>.bak); this page only shows the state the server answers.

let studio, t, el, root;
/** The last state answered by the server. */
let state = null;
/** Row ids ticked for merge/delete. */
const selected = new Set();
/** A change is in flight (buttons are disabled meanwhile). */
let busy = false;

const API = '/prepare/review/api';
const LANGUAGES = ['ZH', 'EN', 'JA', 'KO', 'YUE'];

function $(sel) { return root.querySelector(sel); }

const page = {
  async mount(section, s) {
    studio = s; t = s.t; el = s.el; root = section;
    studio.addStrings(STRINGS);
    section.append(studio.html(TEMPLATE));
    $('#review-undo').addEventListener('click', () => change('undo'));
    $('#review-redo').addEventListener('click', () => change('redo'));
    $('#review-reload').addEventListener('click', reload);
    $('#review-save').addEventListener('click', () => save(false));
    $('#review-save-force').addEventListener('click', () => save(true));
    $('#review-delete').addEventListener('click', removeSelected);
    $('#review-merge').addEventListener('click', mergeSelected);
    $('#review-filter').addEventListener('input', render);
    section.addEventListener('keydown', (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 's') { e.preventDefault(); save(false); }
    });
    window.addEventListener('beforeunload', (e) => { if (state && state.dirty) e.preventDefault(); });
    await load();
  },
  show() { if (state && !state.dirty) load(); },
  relabel() { render(); },
};
export default page;

const TEMPLATE = `
<h1 id="title-review" data-i18n="review.title"></h1>
<p class="lead"><span data-i18n="review.lead"></span> <span class="mono" id="review-file"></span></p>
<section class="card" aria-labelledby="review-tools-title">
  <h2 id="review-tools-title"><span data-i18n="review.rows"></span> <span class="badge" id="review-count"></span>
    <span class="badge warn" id="review-dirty" data-i18n="review.unsaved" hidden></span><span class="spacer"></span></h2>
  <div class="row">
    <button type="button" class="btn" id="review-undo" data-i18n="review.undo"></button>
    <button type="button" class="btn" id="review-redo" data-i18n="review.redo"></button>
    <button type="button" class="btn" id="review-merge" data-i18n="review.merge"></button>
    <button type="button" class="btn danger" id="review-delete" data-i18n="review.delete"></button>
    <span class="spacer"></span>
    <button type="button" class="btn" id="review-reload" data-i18n="review.reload"></button>
    <button type="button" class="btn danger" id="review-save-force" data-i18n="review.saveForce" hidden></button>
    <button type="button" class="btn primary" id="review-save" data-i18n="review.save"></button>
  </div>
  <p></p>
  <input type="text" class="review-filter" id="review-filter" data-i18n-placeholder="review.filter" data-i18n-label="review.filter">
  <p class="hint" data-i18n="review.hint"></p>
  <p class="msg" id="review-msg" role="status"></p>
  <ul class="file-list" id="review-problems" hidden></ul>
</section>
<p></p>
<div class="table-wrap"><table class="table review-table" id="review-table">
  <thead><tr>
    <th><span class="visually-hidden" data-i18n="review.col.select"></span></th><th class="num">#</th>
    <th data-i18n="review.col.audio"></th><th data-i18n="review.col.text"></th><th data-i18n="review.col.language"></th>
    <th data-i18n="review.col.speaker"></th><th class="num" data-i18n="review.col.seconds"></th><th data-i18n="review.col.split"></th>
  </tr></thead>
  <tbody></tbody>
</table></div>`;

const STRINGS = {
  en: {
    'review.title': 'Review transcripts',
    'review.lead': 'Listen to each clip and correct its text before formatting it for training. Changes are kept on the server; Save writes the list file (the previous one stays as .bak).',
    'review.rows': 'Rows',
    'review.unsaved': 'unsaved changes',
    'review.undo': 'Undo',
    'review.redo': 'Redo',
    'review.merge': 'Merge selected',
    'review.delete': 'Delete selected',
    'review.reload': 'Reload from disk',
    'review.save': 'Save',
    'review.saveForce': 'Overwrite anyway',
    'review.filter': 'Filter by text or file',
    'review.hint': 'Edits apply when a field loses focus. Ctrl+S saves. Merge joins the ticked rows (in list order) with 0.3 s of silence; Split cuts a clip at the given second into two new files.',
    'review.col.select': 'Select',
    'review.col.audio': 'Audio',
    'review.col.text': 'Text',
    'review.col.language': 'Language',
    'review.col.speaker': 'Speaker',
    'review.col.seconds': 'Length',
    'review.col.split': 'Split at (s)',
    'review.split': 'Split',
    'review.missingAudio': 'audio file missing',
    'review.saved': 'Saved {file}.',
    'review.reloaded': 'Reloaded from disk.',
    'review.nothingSelected': 'Tick at least one row first.',
    'review.mergeNeedsTwo': 'Tick at least two rows to merge.',
    'review.confirmDelete': 'Delete {count} row(s) from the list? (Their audio files stay on disk; Undo brings the rows back.)',
    'review.confirmReload': 'Drop the unsaved changes and read the file again?',
    'review.conflict': 'The file changed on disk since it was loaded. Reload it, or overwrite it with these rows.',
    'review.problems': 'Lines that are not rows (kept as they are when saving):',
  },
  zh: {
    'review.title': '校对标注',
    'review.lead': '逐条试听并修正文本，然后再格式化为训练集。修改保存在服务器上；点击“保存”写入列表文件（旧文件保留为 .bak）。',
    'review.rows': '条目',
    'review.unsaved': '有未保存的修改',
    'review.undo': '撤销',
    'review.redo': '重做',
    'review.merge': '合并所选',
    'review.delete': '删除所选',
    'review.reload': '从磁盘重新读取',
    'review.save': '保存',
    'review.saveForce': '仍然覆盖',
    'review.filter': '按文本或文件名筛选',
    'review.hint': '输入框失去焦点时生效。Ctrl+S 保存。“合并”按列表顺序拼接所选条目（间隔 0.3 秒静音）；“切分”在指定秒数处把音频切成两个新文件。',
    'review.col.select': '选择',
    'review.col.audio': '音频',
    'review.col.text': '文本',
    'review.col.language': '语言',
    'review.col.speaker': '说话人',
    'review.col.seconds': '时长',
    'review.col.split': '切分位置（秒）',
    'review.split': '切分',
    'review.missingAudio': '音频文件不存在',
    'review.saved': '已保存 {file}。',
    'review.reloaded': '已从磁盘重新读取。',
    'review.nothingSelected': '请先勾选至少一条。',
    'review.mergeNeedsTwo': '合并需要勾选至少两条。',
    'review.confirmDelete': '从列表中删除 {count} 条？（音频文件保留在磁盘上；可用“撤销”恢复。）',
    'review.confirmReload': '放弃未保存的修改并重新读取文件？',
    'review.conflict': '文件在载入后已被修改。请重新读取，或用当前内容覆盖。',
    'review.problems': '不是条目的行（保存时原样保留）：',
  },
};

async function load() {
  try {
    setState(await studio.apiJSON(`${API}/state`));
  } catch (e) {
    studio.say($('#review-msg'), 'error', { text: e.message });
  }
}

/** POSTs a change and shows the state the server answers (or its error). */
async function change(action, body = {}) {
  if (busy) return null;
  busy = true;
  updateTools();
  try {
    const next = await studio.apiJSON(`${API}/${action}`, { method: 'POST', json: body });
    setState(next);
    return next;
  } catch (e) {
    studio.say($('#review-msg'), 'error', { text: e.message });
    if (e.status === 409) $('#review-save-force').hidden = false;
    return null;
  } finally {
    busy = false;
    updateTools();
  }
}

async function save(force) {
  const next = await change('save', force ? { force: true } : {});
  if (next) {
    $('#review-save-force').hidden = true;
    studio.say($('#review-msg'), 'ok', 'review.saved', { file: next.listPath.split('/').pop() });
  } else if (!$('#review-save-force').hidden) {
    studio.say($('#review-msg'), 'error', 'review.conflict');
  }
}

async function reload() {
  if (state && state.dirty && !window.confirm(t('review.confirmReload'))) return;
  if (await change('reload')) {
    $('#review-save-force').hidden = true;
    studio.say($('#review-msg'), 'ok', 'review.reloaded');
  }
}

async function removeSelected() {
  const ids = visibleSelection();
  if (!ids.length) { studio.say($('#review-msg'), 'error', 'review.nothingSelected'); return; }
  if (!window.confirm(t('review.confirmDelete', { count: ids.length }))) return;
  if (await change('delete', { ids })) selected.clear();
}

async function mergeSelected() {
  const ids = visibleSelection();
  if (ids.length < 2) { studio.say($('#review-msg'), 'error', 'review.mergeNeedsTwo'); return; }
  if (await change('merge', { ids })) selected.clear();
}

/** The ticked ids that still exist, in list order. */
function visibleSelection() {
  return state ? state.rows.filter((r) => selected.has(r.id)).map((r) => r.id) : [];
}

function setState(next) {
  state = next;
  for (const id of [...selected]) if (!state.rows.some((r) => r.id === id)) selected.delete(id);
  render();
}

function updateTools() {
  const has = !!state;
  $('#review-undo').disabled = busy || !has || !state.canUndo;
  $('#review-redo').disabled = busy || !has || !state.canRedo;
  $('#review-save').disabled = busy || !has;
  $('#review-reload').disabled = busy || !has;
  $('#review-merge').disabled = busy || !has;
  $('#review-delete').disabled = busy || !has;
}

function render() {
  updateTools();
  if (!state) return;
  $('#review-file').textContent = state.listPath;
  $('#review-count').textContent = String(state.rows.length);
  $('#review-dirty').hidden = !state.dirty;
  const problems = $('#review-problems');
  problems.hidden = state.problems.length === 0;
  problems.replaceChildren(...(state.problems.length ? [el('li', {}, t('review.problems'))] : []),
    ...state.problems.map((p) => el('li', { class: 'mono' }, p)));
  const filter = $('#review-filter').value.trim().toLowerCase();
  const rows = [];
  state.rows.forEach((r, i) => {
    if (filter && !r.text.toLowerCase().includes(filter) && !r.wavPath.toLowerCase().includes(filter)) return;
    rows.push(renderRow(r, i));
  });
  $('#review-table tbody').replaceChildren(...rows);
}

function renderRow(r, index) {
  const languages = LANGUAGES.includes(r.language) ? LANGUAGES : [r.language, ...LANGUAGES];
  const text = el('textarea', { class: 'review-text', rows: 2, 'aria-label': `${t('review.col.text')} ${index + 1}` });
  text.value = r.text;
  text.addEventListener('change', () => { if (text.value !== r.text) change('edit', { id: r.id, text: text.value }); });
  const language = el('select', { class: 'review-lang', 'aria-label': `${t('review.col.language')} ${index + 1}` },
    ...languages.map((l) => el('option', { value: l, selected: l === r.language }, l)));
  language.addEventListener('change', () => change('edit', { id: r.id, language: language.value }));
  const tick = el('input', { type: 'checkbox', class: 'review-select', checked: selected.has(r.id), 'aria-label': `${t('review.col.select')} ${index + 1}` });
  tick.addEventListener('change', () => { if (tick.checked) selected.add(r.id); else selected.delete(r.id); });
  const at = el('input', { type: 'number', class: 'review-split-at', min: 0, step: 0.01,
    value: r.seconds ? (r.seconds / 2).toFixed(2) : '', 'aria-label': `${t('review.col.split')} ${index + 1}` });
  const split = el('button', { type: 'button', class: 'btn small review-split', disabled: !r.audioExists }, t('review.split'));
  split.addEventListener('click', () => change('split', { id: r.id, at: Number(at.value) }));
  const audio = r.audioExists
    ? el('audio', { controls: true, preload: 'none', src: `${API}/audio/${r.id}?v=${encodeURIComponent(r.wavPath)}` })
    : el('span', { class: 'badge error' }, t('review.missingAudio'));
  return el('tr', { dataset: { id: String(r.id) } },
    el('td', {}, tick),
    el('td', { class: 'num' }, String(index + 1)),
    el('td', {}, audio, el('div', { class: 'hint mono', title: r.wavPath }, r.wavPath.split(/[\\/]/).pop())),
    el('td', {}, text),
    el('td', {}, language),
    el('td', { class: 'mono' }, r.speaker),
    el('td', { class: 'num' }, r.seconds != null ? studio.fmt.seconds(r.seconds) : '—'),
    el('td', {}, el('div', { class: 'row' }, at, split)));
}

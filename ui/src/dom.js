// A tiny element builder: h('div', {class: 'x', onclick: f}, 'text', child, [children]).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// Links use the hash router; ids may contain '/' and ':' (ARNs), so they are encoded.
export const link = {
  incident: (id) => '#/incident/' + encodeURIComponent(id),
  entity: (id) => '#/entity/' + encodeURIComponent(id),
  breach: (id) => '#/breach/' + encodeURIComponent(id),
  breaches: (q) => '#/breaches' + (q ? '?' + new URLSearchParams(q) : ''),
};

export function scoreClass(score) {
  if (score >= 90) return 'sev crit';
  if (score >= 75) return 'sev high';
  if (score >= 50) return 'sev med';
  return 'sev low';
}

export function score(s) {
  return h('span', { class: scoreClass(s || 0), title: 'score' }, String(s ?? 0));
}

export function fmtTime(t) {
  if (!t) return '—';
  const d = new Date(t);
  if (isNaN(d)) return t;
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(/Z$/, ' UTC');
}

export function entityLink(e) {
  if (!e) return '—';
  if (typeof e === 'string') return h('a', { href: link.entity(e) }, e);
  const label = e.name && e.name !== e.id ? `${e.name} (${e.id})` : e.id;
  return h('a', { href: link.entity(e.id), class: 'ent ' + (e.type || '') }, label);
}

export function table(headers, rows, empty = 'Nothing here yet.') {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h('table', {}, h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, rows.map((r) => (r instanceof Node ? r : h('tr', {}, r.map((c) => h('td', {}, c)))))));
}

export function card(title, ...body) {
  return h('section', { class: 'card' }, h('h2', {}, title), ...body);
}

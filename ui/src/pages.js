// The console's pages. Each takes the #app element and the route's arguments, fetches what
// it shows from the API and renders it; links go through the hash router in main.js.
import { api, ApiError } from './api.js';
import { h, clear, link, score, fmtTime, entityLink, table, card } from './dom.js';
import { timelineChart, activityChart, countsChart, talkGraph } from './charts.js';

// ---- shared pieces ----

function toast(text, kind = 'ok') {
  const t = h('div', { class: 'toast ' + kind, role: 'status' }, text);
  document.body.append(t);
  setTimeout(() => t.remove(), 4000);
}

function isOpen(inc) {
  const s = (inc.state || 'open').toLowerCase();
  return s !== 'closed' && s !== 'resolved';
}

function actionTarget(a) {
  const t = a.target || {};
  if (typeof t === 'string') return t;
  return a.description || [t.device, t.peer && '→ ' + t.peer + (t.port ? ':' + t.port : ''), t.identity].filter(Boolean).join(' ');
}

function actionButtons(a, after) {
  const doIt = async (op) => {
    try {
      const res = await api.post(`actions/${encodeURIComponent(a.id)}/${op}`);
      toast(`Action ${a.id} is now ${res.state}`);
      after();
    } catch (e) {
      toast(`Could not ${op} ${a.id}: ${e.message}`, 'err');
    }
  };
  const out = [];
  if (a.state === 'pending') out.push(h('button', { class: 'approve', 'data-action': a.id, onclick: () => doIt('approve') }, 'Approve'));
  if (['pending', 'active', 'observed'].includes(a.state))
    out.push(h('button', { class: 'cancel', 'data-action': a.id, onclick: () => doIt('cancel') }, 'Cancel'));
  return h('span', { class: 'buttons' }, out);
}

function actionsTable(actions, after) {
  return table(
    ['Action', 'Target', 'Mode', 'State', 'Expires', 'Why', ''],
    actions.map((a) => [
      h('code', {}, a.kind || '?'),
      actionTarget(a),
      a.mode || '',
      h('span', { class: 'state ' + (a.state || ''), 'data-state': a.state }, a.state || ''),
      fmtTime(a.expires),
      (a.reason && a.reason.text) || '',
      actionButtons(a, after),
    ]),
    'No actions.',
  );
}

function breachRow(b) {
  const tr = h('tr', { class: 'click' + (b.weak ? ' weak' : ''), 'data-breach': b.id, onclick: () => (location.hash = link.breach(b.id)) },
    h('td', {}, fmtTime(b.time)),
    h('td', {}, score(b.score), b.weak ? h('span', { class: 'tag' }, 'weak') : ''),
    h('td', {}, h('a', { href: link.breach(b.id) }, b.model)),
    h('td', {}, entityLink(b.entity)),
    h('td', {}, b.peer ? entityLink(b.peer) : ''),
    h('td', { class: 'reason' }, (b.reasons || [])[0] || ''));
  return tr;
}

function breachTable(list, empty = 'No breaches.') {
  return table(['Time', 'Score', 'Model', 'Entity', 'Peer', 'Why'], list.map(breachRow), empty);
}

function kv(pairs) {
  return h('dl', { class: 'kv' }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function tacticChips(list) {
  return h('div', { class: 'chips' }, (list || []).map((t) => h('span', { class: 'chip' }, t)));
}

// ---- pages ----

export async function overview(app, ctx) {
  const [incs, acts, status, recent] = await Promise.all([
    api.get('incidents', { limit: 200 }),
    api.get('actions', { limit: 200 }),
    api.get('status'),
    api.get('breaches', { limit: 25 }),
  ]);
  const open = incs.items.filter(isOpen).sort((a, b) => (b.score || 0) - (a.score || 0));
  const pending = acts.items.filter((a) => a.state === 'pending');
  const feed = h('ul', { class: 'feed', id: 'feed' });
  const addFeed = (b, live) => {
    const li = h('li', { class: (live ? 'new ' : '') + (b.weak ? 'weak' : '') },
      score(b.score), ' ', h('a', { href: link.breach(b.id) }, b.model), ' on ', entityLink(b.entity), h('span', { class: 'muted' }, ' ' + fmtTime(b.time)));
    feed.prepend(li);
    while (feed.children.length > 50) feed.lastChild.remove();
  };
  [...recent.items].sort((a, b) => (a.time < b.time ? -1 : 1)).forEach((b) => addFeed(b, false));
  ctx.onStream = (type, rec) => {
    if (type === 'breach') addFeed(rec, true);
  };

  const incTable = table(
    ['Score', 'Incident', 'Entities', 'Tactics', 'Last activity'],
    open.map((i) =>
      h('tr', { class: 'click', 'data-incident': i.id, onclick: () => (location.hash = link.incident(i.id)) },
        h('td', {}, score(i.score)),
        h('td', {}, h('a', { href: link.incident(i.id) }, i.title || i.id)),
        h('td', {}, (i.entities || []).slice(0, 3).map((e) => [entityLink(e), ' '])),
        h('td', {}, tacticChips(i.tactics)),
        h('td', {}, fmtTime(i.end)))),
    'No open incidents.');

  const ingest = status.ingest || {};
  const scalars = Object.entries(ingest).filter(([, v]) => v === null || typeof v !== 'object');
  const inputs = Array.isArray(ingest.inputs) ? ingest.inputs : [];
  const health = [
    kv([['Version', status.version], ['Up for', `${status.uptime_seconds}s`], ['Stream clients', status.stream?.clients]]),
    scalars.length ? kv(scalars.map(([k, v]) => [k.replace(/_/g, ' '), String(v)])) : h('p', { class: 'empty' }, 'No ingest counters yet.'),
    inputs.length ? table(['Input', 'Format'], inputs.map((x) => [x.path || x.input || '', x.format || ''])) : '',
    status.rejects?.length
      ? [h('h3', {}, 'Rejected records'), table(['Input', 'Format', 'Code', 'Count', 'First at', 'First reason'],
          status.rejects.map((r) => [r.input, r.format, r.code, r.count, `line ${r.first_line}`, r.first_reason]))]
      : h('p', { class: 'muted' }, 'No rejected records.'),
  ];

  clear(app).append(
    h('h1', {}, 'Overview'),
    h('div', { class: 'grid' },
      card(`Open incidents (${open.length})`, incTable),
      card(`Actions awaiting approval (${pending.length})`, actionsTable(pending, () => ctx.reload()))),
    h('div', { class: 'grid' },
      card('Live breach feed', feed),
      card('Ingest health', health)),
  );
}

export async function incident(app, ctx, id) {
  const inc = await api.get('incidents/' + encodeURIComponent(id));
  const records = inc.breach_records || [];
  const mitre = [...new Set(records.flatMap((b) => b.mitre || []))];
  const timeline = (inc.timeline || []).map((t) => [fmtTime(t.time), t.text, t.breach ? h('a', { href: link.breach(t.breach) }, t.breach) : '']);
  clear(app).append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Overview'), ' › incident'),
    h('h1', {}, score(inc.score), ' ', inc.title || inc.id),
    h('div', { class: 'grid' },
      card('Summary', h('p', { class: 'summary' }, inc.summary || ''),
        kv([['Id', inc.id], ['Start', fmtTime(inc.start)], ['End', fmtTime(inc.end)], ['State', inc.state]]),
        h('h3', {}, 'Entities'), h('p', {}, (inc.entities || []).map((e) => [entityLink(e), ' ']))),
      card('ATT&CK', h('h3', {}, 'Stages (tactics)'), tacticChips(inc.tactics),
        h('h3', {}, 'Techniques'), tacticChips(mitre))),
    card('Timeline: breaches and weak signals across entities', timelineChart(records, Math.min(1100, window.innerWidth - 80)),
      table(['Time', 'What happened', 'Breach'], timeline, 'No timeline entries.')),
    card('Actions', actionsTable(inc.actions || [], () => ctx.reload())),
    card(`Breaches (${records.length})`, breachTable(records)),
  );
}

export async function entity(app, ctx, id) {
  const e = await api.get('devices/' + encodeURIComponent(id));
  const facts = e.facts || {};
  const os = [facts.os || facts.os_platform || facts.OSPlatform, facts.os_version || facts.OSVersion].filter(Boolean).join(' ');
  const vulns = Array.isArray(e.vulnerabilities) ? e.vulnerabilities : [];
  const breaches = e.breaches || [];
  const activity = await api.get(`devices/${encodeURIComponent(id)}/activity`).catch(() => ({ items: [] }));
  const evBox = h('div', { id: 'events' });
  const page = 50;
  const state = { offset: 0, kind: '', q: '', peer: '' };
  const loadEvents = async () => {
    const r = await api.get(`devices/${encodeURIComponent(id)}/events`, { limit: page, offset: state.offset, kind: state.kind, q: state.q, peer: state.peer });
    const other = (x) => (x.entity && x.entity !== id ? x.entity : x.peer);
    clear(evBox).append(
      table(['Time', 'Kind', 'Peer', 'Event', 'Source', 'Breach'], r.items.map((x) => [fmtTime(x.time), x.kind,
        other(x) ? h('a', { href: link.entity(other(x)) }, other(x)) : '', x.summary,
        h('span', { class: 'muted' }, `${x.input || 'input'}:${x.line || x.offset}`),
        x.breach ? h('a', { href: link.breach(x.breach) }, x.model) : '']), 'No events.'),
      h('p', { class: 'pager' }, r.source === 'event-log' ? `events ${state.offset + 1}–${state.offset + r.items.length} ` : `${r.total} events referenced by breaches `,
        h('button', { class: 'newer', disabled: state.offset === 0 ? true : undefined, onclick: () => { state.offset = Math.max(0, state.offset - page); loadEvents(); } }, '‹ newer'),
        h('button', { class: 'older', disabled: r.more ? undefined : true, onclick: () => { state.offset += page; loadEvents(); } }, 'older ›')));
  };
  const filter = h('form', { class: 'filters', onsubmit: (ev) => { ev.preventDefault(); state.kind = ev.target.kind.value; state.q = ev.target.q.value; state.peer = ev.target.peer.value; state.offset = 0; loadEvents(); } },
    h('select', { name: 'kind' }, ['', 'flow', 'http', 'dns', 'tls', 'file', 'ids_alert', 'cloud_api', 'edr_alert', 'process', 'file_activity'].map((k) => h('option', { value: k }, k || 'any kind'))),
    h('input', { name: 'peer', placeholder: 'peer address or id' }),
    h('input', { name: 'q', placeholder: 'text in event' }), h('button', { type: 'submit' }, 'Filter'));
  const chartWidth = Math.min(1100, window.innerWidth - 80);
  const activityCard = (activity.items || []).length
    ? card(`Connection activity over time (events per ${activity.bucket_s >= 3600 ? activity.bucket_s / 3600 + ' h' : activity.bucket_s / 60 + ' min'})`, countsChart(activity, 'events', chartWidth))
    : card('Activity over time (breaches and weak signals)', activityChart(breaches.map((b) => b.time), 'breaches', chartWidth));
  clear(app).append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/devices' }, 'Devices'), ' › ', e.type),
    h('h1', {}, e.name || e.id, ' ', h('span', { class: 'tag' }, e.type), e.role ? h('span', { class: 'tag role' }, e.role) : ''),
    h('div', { class: 'grid' },
      card('Summary', kv([
        ['Id', e.id], ['Role', e.role || 'unknown'], ['Addresses', (e.addresses || []).join(', ')], ['Names', (e.names || []).join(', ')],
        ['Operating system', os], ['First seen', fmtTime(e.first_seen)], ['Last seen', fmtTime(e.last_seen)], ['Events seen', String(e.events ?? 0)],
        ['Tags', (e.tags || []).join(', ')]])),
      card(`Vulnerabilities (${vulns.length})`, table(['CVE', 'Severity', 'Software'], vulns.map((v) => [
        v.cve || v.CveId || v.id || '', v.severity || v.VulnerabilitySeverityLevel || '', [v.software || v.SoftwareName, v.version || v.SoftwareVersion].filter(Boolean).join(' ')]), 'No known vulnerabilities.'))),
    activityCard,
    card('Current actions', actionsTable(e.actions || [], () => ctx.reload())),
    card('Incidents', table(['Score', 'Incident'], (e.incidents || []).map((i) => [score(i.score), h('a', { href: link.incident(i.id) }, i.title || i.id)]), 'In no incident.')),
    card(`Breaches (${breaches.length})`, breachTable(breaches)),
    card('Event log', h('p', { class: 'muted' }, 'Every event of this entity (as actor or peer), newest first, with where its raw record is; events a breach cites link to it.'), filter, evBox),
  );
  await loadEvents();
}

export async function breachLog(app, ctx, params) {
  const models = await api.get('models');
  const q = {
    model: params.get('model') || '', entity: params.get('entity') || '', min_score: params.get('min_score') || '',
    since: params.get('since') || '', until: params.get('until') || '', weak: params.get('weak') || '', offset: Number(params.get('offset') || 0),
  };
  const limit = 50;
  const r = await api.get('breaches', { ...q, limit });
  const go = (patch) => (location.hash = link.breaches(Object.fromEntries(Object.entries({ ...q, ...patch }).filter(([, v]) => v !== '' && v !== 0))));
  const form = h('form', { class: 'filters', id: 'breach-filters', onsubmit: (ev) => {
    ev.preventDefault();
    const f = ev.target;
    go({ model: f.model.value, entity: f.entity.value, min_score: f.min_score.value, since: f.since.value, until: f.until.value, weak: f.weak.checked ? 'true' : '', offset: 0 });
  } },
  h('label', {}, 'Model ', h('select', { name: 'model' }, h('option', { value: '' }, 'any'), models.items.map((m) => h('option', { value: m.name, selected: m.name === q.model ? true : undefined }, m.name)))),
  h('label', {}, 'Min score ', h('input', { name: 'min_score', type: 'number', min: 0, max: 100, value: q.min_score, size: 4 })),
  h('label', {}, 'Entity ', h('input', { name: 'entity', value: q.entity, placeholder: 'id' })),
  h('label', {}, 'Since ', h('input', { name: 'since', value: q.since, placeholder: '2024-01-01T00:00:00Z' })),
  h('label', {}, 'Until ', h('input', { name: 'until', value: q.until, placeholder: 'RFC 3339' })),
  h('label', {}, h('input', { name: 'weak', type: 'checkbox', checked: q.weak === 'true' ? true : undefined }), ' weak signals'),
  h('button', { type: 'submit' }, 'Apply'));
  clear(app).append(
    h('h1', {}, 'Breach log'),
    card('Filters', form),
    card(`Breaches ${q.offset + 1}–${q.offset + r.items.length}`, breachTable(r.items, 'No breaches match.'),
      h('p', { class: 'pager' },
        h('button', { disabled: q.offset === 0 ? true : undefined, onclick: () => go({ offset: Math.max(0, q.offset - limit) }) }, '‹ previous'),
        h('button', { disabled: r.items.length < limit ? true : undefined, onclick: () => go({ offset: q.offset + limit }) }, 'next ›'))),
  );
}

export async function breach(app, ctx, id) {
  const b = await api.get('breaches/' + encodeURIComponent(id));
  clear(app).append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/breaches' }, 'Breach log'), ' › breach'),
    h('h1', {}, score(b.score), ' ', b.model, b.weak ? h('span', { class: 'tag' }, 'weak signal') : ''),
    h('div', { class: 'grid' },
      card('What happened', h('ul', { class: 'reasons' }, (b.reasons || []).map((r) => h('li', {}, r)))),
      card('Details', kv([['Id', b.id], ['Time', fmtTime(b.time)], ['Entity', entityLink(b.entity)], ['Peer', b.peer ? entityLink(b.peer) : ''],
        ['ATT&CK', tacticChips(b.mitre)], ['Suppressed by', b.suppressed_by],
        ['Incidents', (b.incidents || []).map((i) => [h('a', { href: link.incident(i.id) }, i.title || i.id), ' '])]]))),
    card('Triggering events', table(['Time', 'Kind', 'Event', 'Source', 'Uid'], (b.events || []).map((e) => [
      fmtTime(e.time), e.kind, e.summary, h('span', { class: 'muted' }, `${e.input || 'input ' + e.input_index} line ${e.line}, byte ${e.offset}`), e.uid || '']), 'No event references.')),
    b.details && Object.keys(b.details).length ? card('Model facts', h('pre', {}, JSON.stringify(b.details, null, 2))) : '',
  );
}

export async function devices(app, ctx, params) {
  const type = params.get('type') || 'device';
  const r = await api.get(type === 'identity' ? 'identities' : 'devices', { type: type === 'identity' ? undefined : type, limit: 500 });
  clear(app).append(
    h('h1', {}, 'Entities'),
    h('p', { class: 'tabs' }, ['device', 'external', 'identity'].map((t) => h('a', { href: '#/devices?type=' + t, class: t === type ? 'on' : '' }, t))),
    card(`${r.items.length} ${type} entities`, table(['Name', 'Role', 'Addresses', 'First seen', 'Last seen', 'Events'],
      r.items.map((e) => [entityLink(e), e.role || '', (e.addresses || []).join(', '), fmtTime(e.first_seen), fmtTime(e.last_seen), String(e.events ?? 0)]))),
  );
}

export async function map(app) {
  const m = await api.get('map', { limit: 300 });
  const box = h('div', { id: 'graph', class: 'graph' });
  clear(app).append(
    h('h1', {}, 'Map'),
    h('p', { class: 'muted' }, `Who talks to whom: the ${m.edges.length} busiest links of the event log. Devices (blue), external endpoints (grey), identities (purple); size follows activity; red marks entities with breaches and the links a breach names. Click a node for its summary.`),
    box);
  talkGraph(box, m, (id) => (location.hash = link.entity(id)));
}

export async function models(app) {
  const r = await api.get('models');
  clear(app).append(
    h('h1', {}, 'Models'),
    card(`${r.items.length} models`, table(['Model', 'What it looks for', 'Threshold', 'Enabled', 'Breaches', 'Weak signals', 'ATT&CK', 'Parameters'],
      r.items.map((m) => [
        h('a', { href: link.breaches({ model: m.name }) }, m.name), m.description, String(m.threshold), m.enabled ? 'yes' : 'no',
        String(m.breaches), String(m.weak_signals), tacticChips(m.mitre),
        h('span', { class: 'muted' }, (m.params || []).map((p) => `${p.name}=${p.value}`).join(', '))]))),
  );
}

export function loginForm(app, message, onDone) {
  clear(app).append(card('Sign in', h('p', {}, message),
    h('form', { class: 'filters', onsubmit: (ev) => { ev.preventDefault(); onDone(ev.target.token.value.trim()); } },
      h('input', { name: 'token', type: 'password', placeholder: 'API token (vigil token create --role viewer)', size: 60 }),
      h('button', { type: 'submit' }, 'Use token'))));
}

export { ApiError };

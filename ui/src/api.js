// Talks to Vigil's REST API (/api/v1) and live stream. The bearer token is kept in
// localStorage ("vigil.token"); when the server wants one and none works, the page asks.
const BASE = 'api/v1/';

export function token() {
  return localStorage.getItem('vigil.token') || '';
}
export function setToken(t) {
  if (t) localStorage.setItem('vigil.token', t);
  else localStorage.removeItem('vigil.token');
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function request(method, path, params, body) {
  const url = new URL(BASE + path, document.baseURI);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  }
  const headers = { Accept: 'application/json' };
  const t = token();
  if (t) headers.Authorization = 'Bearer ' + t;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, (data && data.error) || res.statusText);
  return data;
}

export const api = {
  get: (path, params) => request('GET', path, params),
  post: (path, body) => request('POST', path, undefined, body || {}),
};

// Opens the SSE stream; calls onEvent(type, record) for breach, incident and action
// events and onState(connected) as the connection comes and goes (EventSource retries).
export function openStream(onEvent, onState) {
  const url = new URL(BASE + 'stream', document.baseURI);
  if (token()) url.searchParams.set('access_token', token());
  const es = new EventSource(url);
  es.onopen = () => onState(true);
  es.onerror = () => onState(false);
  for (const type of ['breach', 'incident', 'action']) {
    es.addEventListener(type, (ev) => {
      try {
        onEvent(type, JSON.parse(ev.data));
      } catch {
        /* a malformed event is skipped */
      }
    });
  }
  return es;
}

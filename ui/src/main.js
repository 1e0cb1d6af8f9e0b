// The console's entry point: a hash router over the pages, the live stream indicator and
// the token prompt.
import './style.css';
import { openStream, setToken } from './api.js';
import * as pages from './pages.js';

const app = document.getElementById('app');
const live = document.getElementById('live');
const ctx = { onStream: null, reload: () => route() };
let stream = null;

function connectStream() {
  if (stream) stream.close();
  stream = openStream(
    (type, rec) => {
      live.classList.add('pulse');
      setTimeout(() => live.classList.remove('pulse'), 600);
      if (ctx.onStream) ctx.onStream(type, rec);
    },
    (up) => {
      live.classList.toggle('off', !up);
      live.title = up ? 'live stream connected' : 'live stream reconnecting';
    },
  );
}

async function route() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?');
  const parts = path.split('/');
  const params = new URLSearchParams(query || '');
  const arg = parts.length > 1 ? decodeURIComponent(parts.slice(1).join('/')) : '';
  ctx.onStream = null;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('on', a.dataset.nav === (parts[0] || 'overview'));
  try {
    switch (parts[0]) {
      case '':
      case 'overview': await pages.overview(app, ctx); break;
      case 'incident': await pages.incident(app, ctx, arg); break;
      case 'entity': await pages.entity(app, ctx, arg); break;
      case 'breach': await pages.breach(app, ctx, arg); break;
      case 'breaches': await pages.breachLog(app, ctx, params); break;
      case 'devices': await pages.devices(app, ctx, params); break;
      case 'map': await pages.map(app, ctx); break;
      case 'models': await pages.models(app, ctx); break;
      default: app.textContent = 'No such page.';
    }
    document.body.dataset.page = parts[0] || 'overview';
    document.body.dataset.ready = '1';
  } catch (e) {
    if (e instanceof pages.ApiError && e.status === 401) {
      pages.loginForm(app, 'This console needs an API token: ' + e.message + '.', (t) => {
        setToken(t);
        connectStream();
        route();
      });
    } else {
      app.textContent = '';
      const p = document.createElement('p');
      p.className = 'error';
      p.textContent = 'Could not load this page: ' + e.message;
      app.append(p);
    }
    document.body.dataset.ready = '1';
  }
}

window.addEventListener('hashchange', () => {
  document.body.dataset.ready = '0';
  route();
});
connectStream();
route();

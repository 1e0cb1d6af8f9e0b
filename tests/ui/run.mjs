// UI test: drives Debian's headless Chromium (playwright-core, no browser download)
// through the console served by the test (tests/server_ui_test.cc starts the server over
// the fixture store and passes its address and a responder token in the environment):
// overview -> top incident -> device -> breach -> approve a pending action, checking what
// each page shows and saving a screenshot of each under $VIGIL_ARTIFACTS.
//
// Exit 0 when every check passed; 1 with the failed check on stderr otherwise.
import { createRequire } from 'node:module';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(new URL('../../ui/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const base = process.env.VIGIL_URL;
const token = process.env.VIGIL_TOKEN;
const out = process.env.VIGIL_ARTIFACTS || 'test-artifacts/ui';
if (!base || !token) {
  console.error('VIGIL_URL and VIGIL_TOKEN must be set');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), 'vigil-ui-'));

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok - ' + what);
}

// A fresh profile each run (playwright passes it as --user-data-dir).
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1400, height: 1000 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
    '--disable-component-update', '--no-first-run', '--disable-sync'],
});
let failed = false;
try {
  const page = browser.pages()[0] || (await browser.newPage());
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const ready = () => page.waitForSelector('body[data-ready="1"]', { timeout: 15000 });
  const shot = (name) => page.screenshot({ path: join(out, name + '.png'), fullPage: true });

  // Without a token the console asks for one.
  await page.goto(base + '/');
  await ready();
  check(await page.locator('input[name="token"]').count() === 1, 'without a token the console asks for one');
  await page.fill('input[name="token"]', token);
  await page.click('button[type="submit"]');
  await page.waitForSelector('tr[data-incident]', { timeout: 15000 });

  // Overview.
  const rows = page.locator('tr[data-incident]');
  check(await rows.count() === 2, 'overview lists the two open incidents');
  const first = await rows.first().getAttribute('data-incident');
  check(first === 'inc-0001', 'the top incident is the highest scored (inc-0001)');
  check((await page.locator('#feed li').count()) >= 3, 'the live breach feed shows recent breaches');
  check(await page.locator('button.approve[data-action="act-0000000000000001"]').count() === 1,
    'the pending action awaits approval on the overview');
  check((await page.textContent('main')).includes('371655'), 'ingest health shows the event counter');
  await page.waitForFunction(() => !document.getElementById('live').classList.contains('off'), null, { timeout: 10000 });
  check(true, 'the live stream is connected');
  await shot('01-overview');

  // Top incident.
  await page.click('tr[data-incident="inc-0001"] a[href^="#/incident/"]');
  await page.waitForSelector('body[data-page="incident"][data-ready="1"]');
  const incText = await page.textContent('main');
  check(incText.includes('ws-alice beaconing to evil.example'), 'incident page shows the title');
  check(incText.includes('two hours later'), 'incident page shows the analyst summary');
  check(incText.includes('Command and Control'), 'incident page shows the ATT&CK stages');
  check(incText.includes('T1078.004'), 'incident page shows the techniques of its breaches');
  await page.waitForSelector('[data-chart="timeline"] canvas', { timeout: 10000 });
  check(true, 'incident page draws the timeline chart');
  check(await page.locator('tr[data-breach]').count() === 4, 'incident page lists its four breaches');
  await shot('02-incident');

  // The device, from the incident's entities.
  await page.click('a[href="#/entity/10.0.0.5"]');
  await page.waitForSelector('body[data-page="entity"][data-ready="1"]');
  const devText = await page.textContent('main');
  check(devText.includes('ws-alice') && devText.includes('workstation'), 'device page shows name and role');
  check(devText.includes('Windows 11'), 'device page shows the OS');
  check(devText.includes('CVE-2024-3094'), 'device page shows its CVEs');
  await page.waitForSelector('[data-chart="activity"] canvas', { timeout: 10000 });
  check(true, 'device page draws the activity chart');
  check(await page.locator('#events tbody tr').count() === 50, 'device page shows the first 50 events of its event log');
  const evText = await page.textContent('#events');
  check(evText.includes('network/new-user-agent-to-internal-server') && evText.includes('conn.log:'),
    'event log rows show their source position and link the breach that cites them');
  await page.click('#events button.older');
  await page.waitForFunction(() => document.querySelectorAll('#events tbody tr').length === 15, null, { timeout: 5000 });
  check(true, 'the event log pages to the older 15 events');
  await page.selectOption('select[name="kind"]', 'dns');
  await page.click('form.filters button[type="submit"]');
  await page.waitForFunction(() => document.querySelectorAll('#events tbody tr').length === 5, null, { timeout: 5000 });
  check((await page.textContent('#events')).includes('updates0.example.com'), 'the event log filter by kind shows the DNS queries');
  await page.selectOption('select[name="kind"]', 'http');
  await page.click('form.filters button[type="submit"]');
  await page.waitForFunction(() => document.querySelector('#events .empty'), null, { timeout: 5000 });
  check(true, 'a kind with no events shows an empty event log');
  await page.selectOption('select[name="kind"]', '');
  await page.click('form.filters button[type="submit"]');
  await page.waitForFunction(() => document.querySelectorAll('#events tbody tr').length === 50, null, { timeout: 5000 });
  await shot('03-device');

  // A breach.
  await page.click('tr[data-breach="b-0000000000000001"] a[href^="#/breach/"]');
  await page.waitForSelector('body[data-page="breach"][data-ready="1"]');
  const brText = await page.textContent('main');
  check(brText.includes('network/beaconing'), 'breach page shows the model');
  check(brText.includes('every 60 s'), 'breach page shows the reasons');
  check(brText.includes('conn.log line'), 'breach page shows the triggering event with its source');
  await shot('04-breach');

  // Breach log with a filter.
  await page.goto(base + '/#/breaches?min_score=80');
  await page.waitForSelector('body[data-page="breaches"][data-ready="1"]');
  check(await page.locator('tr[data-breach]').count() === 2, 'breach log filters by score');
  await shot('05-breach-log');

  // Approve the pending action from the overview.
  await page.goto(base + '/#/');
  await page.waitForSelector('button.approve[data-action="act-0000000000000001"]');
  await page.click('button.approve[data-action="act-0000000000000001"]');
  await page.waitForSelector('.toast', { timeout: 10000 });
  const toast = await page.textContent('.toast');
  check(toast.includes('act-0000000000000001') && toast.includes('active'), 'approving shows the new state');
  await page.waitForFunction(() => !document.querySelector('button.approve[data-action="act-0000000000000001"]'), null, { timeout: 10000 });
  check(true, 'the approved action leaves the approval list');
  const res = await page.evaluate(async (t) => (await fetch('api/v1/actions/act-0000000000000001', { headers: { Authorization: 'Bearer ' + t } })).json(), token);
  check(res.state === 'active' && res.audit.length === 1, 'the store has the action active with an audit record');
  await shot('06-approved');

  // Map and models.
  await page.goto(base + '/#/map');
  await page.waitForSelector('#graph canvas', { timeout: 15000 });
  await page.waitForTimeout(500);
  check((await page.textContent('main')).includes('busiest links'), 'map draws who talks to whom from the event log');
  await shot('07-map');
  await page.goto(base + '/#/models');
  await page.waitForSelector('body[data-page="models"][data-ready="1"]');
  check((await page.textContent('main')).includes('network/beaconing'), 'models page lists the catalogue');
  await shot('08-models');

  check(errors.length === 0, 'no script errors on any page' + (errors.length ? ': ' + errors.join('; ') : ''));
} catch (e) {
  failed = true;
  console.error(e.stack || String(e));
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

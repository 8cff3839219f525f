// The embeddable form in a real browser: Debian's Chromium driven by playwright-core.
//
// Run by `tests/api/embed.rs` (the_form_takes_an_order_in_a_real_browser), which starts the API
// and passes, in the environment:
//   API          the API's origin (http://127.0.0.1:PORT)
//   KEY          a publishable key of the LAO
//   LAO          the LAO's DLA code
//   WINDOW       an open window of the LAO
//   STAFF_TOKEN  a token of the LAO's staff (to set the allowed origins and read the orders)
//   CHROMIUM     the browser (default /usr/bin/chromium)
//   SHOTS        a directory for screenshots (optional)
// Host pages are served here, on two other origins of loopback: one the LAO allows, one it
// does not. Every host page sends a strict Content-Security-Policy (no 'unsafe-inline', no
// 'unsafe-eval'), so the form must work without them. The result is one JSON object on the
// last line of stdout; the Rust test asserts on it.

import http from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const env = (name, fallback) => process.env[name] ?? fallback ?? (() => { throw new Error(`${name} is not set`); })();
const API = env('API'), KEY = env('KEY'), LAO = env('LAO'), WINDOW = env('WINDOW'), STAFF = env('STAFF_TOKEN');
const SHOTS = process.env.SHOTS || '';
const log = (...a) => console.error('[browser]', ...a);

// ---- host pages ---------------------------------------------------------------------------
const esc = s => String(s).replace(/[&<>"]/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
function hostPage(kind, lang, windowId, wrapId) {
  const win = windowId ? ` data-window="${esc(windowId)}"` : '';
  const embed = kind === 'iframe'
    ? `<iframe src="${esc(API)}/embed/form?key=${esc(KEY)}${windowId ? '&window=' + esc(windowId) : ''}&lang=${lang}" title="แบบฟอร์มสั่งจองล่วงหน้า" width="100%" height="900"></iframe>`
    : `<script src="${esc(API)}/embed/khongdee.js" data-key="${esc(KEY)}"${win} data-lang="${lang}" async></script>`;
  return `<!doctype html><html lang="th"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>เทศบาลนครแม่สอด · สั่งจองผลผลิต</title></head>
<body><header><h1>เทศบาลนครแม่สอด</h1><p>ตลาดนัดท้องถิ่นออนไลน์ เครือข่ายของดีบ้านเรา</p></header>
<main>${wrapId ? `<section id="${esc(wrapId)}">${embed}</section>` : embed}</main><footer><p>หน้าเว็บตัวอย่างของ อปท.</p></footer></body></html>`;
}
// What an LAO with a strict policy sends: only the API may supply scripts, styles and data.
const hostPolicy = `default-src 'none'; script-src ${API}; style-src ${API}; connect-src ${API}; img-src ${API} data:; frame-src ${API}; base-uri 'none'; form-action 'none'`;

function serve() {
  return new Promise(resolve => {
    const server = http.createServer((req, res) => {
      const url = new URL(req.url, 'http://host');
      const kind = url.pathname === '/iframe' ? 'iframe' : url.pathname === '/script' ? 'script' : null;
      if (!kind) { res.writeHead(404).end(); return; }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': hostPolicy });
      res.end(hostPage(kind, url.searchParams.get('lang') || 'th', url.searchParams.get('window'), url.searchParams.get('wrap')));
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

async function api(method, path, body) {
  const res = await fetch(API + path, {
    method,
    headers: { authorization: `Bearer ${STAFF}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// ---- browser helpers ----------------------------------------------------------------------
async function axe(page) {
  // Through the DevTools protocol, which the page's CSP does not govern (as an extension would).
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5) }));
}

function watch(page, into) {
  page.on('console', m => { if (m.type() === 'error' || m.type() === 'warning') into.push(m.text()); });
  page.on('pageerror', e => into.push('pageerror: ' + e.message));
}

const overflow = page => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
// Texts that spill out of their box inside the form (under a neighbour) without widening the page.
const spilled = page => page.evaluate(() => {
  const root = document.querySelector('[data-khongdee-form]').shadowRoot;
  return [...root.querySelectorAll('label, p, h2, h3, li, legend, .va')].filter(el => !el.closest('.sr'))
    .filter(el => el.clientWidth > 1 && el.scrollWidth > el.clientWidth + 1) // not the 1 px screen-reader texts
    .map(el => el.tagName + ': ' + el.textContent.trim().slice(0, 40));
});

async function shot(page, name) {
  if (SHOTS) await page.screenshot({ path: `${SHOTS}/${name}`, fullPage: true });
}

// ---- the run ------------------------------------------------------------------------------
const allowedServer = await serve();
const otherServer = await serve();
const ALLOWED = `http://127.0.0.1:${allowedServer.address().port}`;
const OTHER = `http://127.0.0.1:${otherServer.address().port}`;
await api('PATCH', `/v1/laos/${LAO}`, { allowed_origins: [ALLOWED] });
log('allowed', ALLOWED, 'not allowed', OTHER);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--font-render-hinting=none'],
});
const result = { allowed: ALLOWED, other: OTHER };
try {
  // 1. A phone, in Thai, on the LAO's page with the script snippet.
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'th-TH', timezoneId: 'Asia/Bangkok' });
  const page = await phone.newPage();
  const consoleAllowed = [];
  watch(page, consoleAllowed);
  await page.goto(`${ALLOWED}/script?window=${WINDOW}&lang=th`);
  const submit = page.getByRole('button', { name: 'ยืนยันสั่งจอง' });
  await submit.waitFor({ timeout: 15000 });
  result.phone_overflow_px = await overflow(page);
  result.phone_spilled = await spilled(page);
  await shot(page, 'embed-phone-th.png');

  // Two boxes of the first variant, pickup, the buyer; then a double click on "order".
  const more = page.getByRole('button', { name: /^เพิ่มจำนวน/ }).first();
  await more.click();
  await more.click();
  const pickup = page.getByRole('radio', { name: /รับเองที่จุดรับสินค้า/ });
  if (await pickup.count()) await pickup.first().check();
  const point = page.getByRole('radio', { name: /ที่ทำการ/ });
  if (await point.count()) await point.first().check();
  await page.getByLabel('ชื่อ-นามสกุล', { exact: true }).fill('สมหญิง รักดี');
  await page.getByLabel('เบอร์โทรศัพท์', { exact: true }).fill('089 123 4567');
  await shot(page, 'embed-phone-th-filled.png');
  await submit.dblclick();
  const done = page.getByRole('heading', { name: 'สั่งจองสำเร็จ' });
  await done.waitFor({ timeout: 15000 });
  result.order_code = (await page.locator('p.code').first().textContent()).trim();
  const qr = page.getByRole('img', { name: /QR พร้อมเพย์/ });
  await qr.waitFor();
  result.qr_alt = await qr.getAttribute('alt');
  result.qr_width = await qr.evaluate(img => img.naturalWidth);
  result.focus_on_heading = await page.evaluate(() => {
    const host = document.querySelector('[data-khongdee-form]');
    const active = host && host.shadowRoot ? host.shadowRoot.activeElement : document.activeElement;
    return active ? active.tagName + ':' + active.textContent.trim() : null;
  });
  result.saved_link = await page.getByRole('link', { name: /บันทึกหน้านี้/ }).getAttribute('href');
  result.confirmation_overflow_px = await overflow(page);
  await shot(page, 'embed-confirmation-th.png');
  // Taken before axe runs: axe itself applies inline styles, which the host's CSP refuses.
  result.console_allowed = [...consoleAllowed];
  result.axe_confirmation = await axe(page);
  const fresh = await phone.newPage();
  await fresh.goto(`${ALLOWED}/script?window=${WINDOW}&lang=th`);
  await fresh.getByRole('button', { name: 'ยืนยันสั่งจอง' }).waitFor({ timeout: 15000 });
  result.axe_phone = await axe(fresh);

  // The orders of the window, as the LAO's staff see them.
  const orders = await api('GET', `/v1/orders?window_id=${WINDOW}&limit=50`);
  result.orders = orders.items.map(o => ({ code: o.code, channel: o.channel, total_satang: o.total_satang }));

  // The saved page shows the order again, from the secret in the fragment.
  const saved = await phone.newPage();
  await saved.goto(result.saved_link);
  await saved.getByRole('heading', { name: 'คำสั่งจองของท่าน' }).waitFor({ timeout: 15000 });
  result.saved_code = (await saved.locator('p.code').first().textContent()).trim();

  // 2. A desktop, in Thai, the list of the LAO's windows; then the English switch.
  const desk = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'th-TH', timezoneId: 'Asia/Bangkok' });
  const dpage = await desk.newPage();
  await dpage.goto(`${ALLOWED}/script?window=${WINDOW}&lang=th`);
  await dpage.getByRole('button', { name: 'ยืนยันสั่งจอง' }).waitFor({ timeout: 15000 });
  result.axe_desktop = await axe(dpage);
  result.desktop_overflow_px = await overflow(dpage);
  await shot(dpage, 'embed-desktop-th.png');
  // An error only the API finds (this email passes the form's own check) shows next to its
  // field, in Thai, and orders nothing.
  await dpage.getByRole('button', { name: /^เพิ่มจำนวน/ }).first().click();
  const dPickup = dpage.getByRole('radio', { name: /รับเองที่จุดรับสินค้า/ });
  if (await dPickup.count()) await dPickup.first().check();
  await dpage.getByLabel('ชื่อ-นามสกุล', { exact: true }).fill('สมศรี มีสุข');
  await dpage.getByLabel('เบอร์โทรศัพท์', { exact: true }).fill('081 555 0101');
  const email = dpage.getByLabel('อีเมล (ไม่บังคับ)', { exact: true });
  await email.fill('somsri@example..com');
  await dpage.getByRole('button', { name: 'ยืนยันสั่งจอง' }).click();
  await dpage.waitForFunction(() => {
    const root = document.querySelector('[data-khongdee-form]').shadowRoot;
    return [...root.querySelectorAll('input[type=email], input[autocomplete=email]')].some(i => i.getAttribute('aria-invalid') === 'true');
  }, null, { timeout: 15000 });
  result.api_field_error = await email.evaluate(input => {
    const root = input.getRootNode();
    return (input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean)
      .map(id => (root.getElementById(id) || {}).textContent || '').join(' ').trim();
  });
  await dpage.getByRole('button', { name: 'English' }).click();
  await dpage.getByRole('button', { name: 'Place pre-order' }).waitFor({ timeout: 5000 });
  result.english = true;
  result.axe_english = await axe(dpage);

  // 3. The iframe on the LAO's page loads; on another site the browser refuses to show it.
  const fpage = await desk.newPage();
  await fpage.goto(`${ALLOWED}/iframe?window=${WINDOW}&lang=th`);
  const frame = fpage.frameLocator('iframe');
  await frame.getByRole('button', { name: 'ยืนยันสั่งจอง' }).waitFor({ timeout: 15000 });
  result.iframe_allowed = 'shown';

  const blocked = await desk.newPage();
  const blockedConsole = [];
  watch(blocked, blockedConsole);
  await blocked.goto(`${OTHER}/iframe?window=${WINDOW}&lang=th`);
  await blocked.waitForTimeout(1500);
  const inner = blocked.frames().find(f => f !== blocked.mainFrame());
  const innerForm = inner ? await inner.locator('[data-khongdee-form]').count().catch(() => 0) : 0;
  result.iframe_other = innerForm > 0 ? 'shown' : 'refused';
  result.iframe_other_console = blockedConsole.filter(m => /frame-ancestors|Refused to frame/i.test(m));

  // 4. The script on a site the LAO does not allow: the API refuses (CORS), nothing to order.
  const spage = await desk.newPage();
  const otherConsole = [];
  watch(spage, otherConsole);
  await spage.goto(`${OTHER}/script?window=${WINDOW}&lang=th`);
  await spage.getByText('โหลดแบบฟอร์มไม่สำเร็จ').waitFor({ timeout: 15000 });
  result.script_other = (await spage.getByRole('button', { name: 'ยืนยันสั่งจอง' }).count()) ? 'shown' : 'refused';
  result.script_other_console = otherConsole.filter(m => /CORS|Access-Control/i.test(m)).slice(0, 3);
  result.script_other_hint = otherConsole.some(m => m.includes("allowed_origins"));

  // 5. The answer to an order is lost on the way back (the order was made): the form locks
  // what the buyer entered, and sending again gets the same order back, never a second one.
  // The host page also has an element with id="khongdee" (a global of the same name).
  const lost = await phone.newPage();
  let dropped = 0;
  await lost.route('**/v1/embed/*/orders', async route => {
    if (route.request().method() === 'POST' && dropped === 0) {
      dropped += 1;
      await route.fetch(); // reaches the server
      await route.abort('connectionreset');
    } else {
      await route.continue();
    }
  });
  await lost.goto(`${ALLOWED}/script?window=${WINDOW}&lang=th&wrap=khongdee`);
  await lost.getByRole('button', { name: 'ยืนยันสั่งจอง' }).waitFor({ timeout: 15000 });
  await lost.getByRole('button', { name: /^เพิ่มจำนวน/ }).first().click();
  const lostPickup = lost.getByRole('radio', { name: /รับเองที่จุดรับสินค้า/ });
  if (await lostPickup.count()) await lostPickup.first().check();
  await lost.getByLabel('ชื่อ-นามสกุล', { exact: true }).fill('สมชาย ใจดี');
  await lost.getByLabel('เบอร์โทรศัพท์', { exact: true }).fill('๐๘๖ ๑๑๑ ๐๐๐๒');
  await lost.getByRole('button', { name: 'ยืนยันสั่งจอง' }).click();
  const again = lost.getByRole('button', { name: 'ส่งคำสั่งจองอีกครั้ง' });
  await again.waitFor({ timeout: 15000 });
  result.locked_after_loss = await lost.getByLabel('ชื่อ-นามสกุล', { exact: true }).isDisabled();
  await again.click();
  await lost.getByRole('heading', { name: 'สั่งจองสำเร็จ' }).waitFor({ timeout: 15000 });
  result.lost_answer_code = (await lost.locator('p.code').first().textContent()).trim();
  const after = await api('GET', `/v1/orders?window_id=${WINDOW}&limit=50`);
  result.orders_after_loss = after.items.map(o => ({ code: o.code, phone: o.buyer && o.buyer.phone }));
} finally {
  await browser.close();
  allowedServer.close();
  otherServer.close();
}
console.log(JSON.stringify(result));

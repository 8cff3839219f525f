/* khongdee embeddable pre-order form. Plain JS, no dependencies, no eval, no inline
   styles or handlers (works under a strict CSP), no cookies or storage. Mounts every
   [data-khongdee-form] element in its own shadow root. */
(() => {
'use strict';
const G = window.__khongdeeEmbed;
if (G && typeof G.mount == 'function') return G.mount();

const pl = n => n + (n == 1 ? ' item' : ' items');
const st = (a, b) => ({ open: a[0], scheduled: a[1], upcoming: a[1], sold_out: a[2], closed: a[3], harvested: a[4], fulfilled: a[5], cancelled: a[6], draft: a[7], _: b });
const D = {
  th: {
    sw: 'English', swl: 'en', tag: 'สั่งจองผลผลิตล่วงหน้า', loading: 'กำลังโหลด…', loadErr: 'โหลดแบบฟอร์มไม่สำเร็จ',
    retry: 'ลองอีกครั้ง', windows: 'รอบสั่งจอง', none: 'ยังไม่มีรอบสั่งจองในขณะนี้', back: 'ดูรอบสั่งจองทั้งหมด',
    from: p => 'เริ่มต้น ' + p, by: 'ผู้ผลิต', harvest: 'ช่วงเก็บเกี่ยว', closes: 'ปิดรับสั่งจอง',
    st: st(['เปิดรับสั่งจอง', 'เร็ว ๆ นี้', 'จองเต็มแล้ว', 'ปิดรับแล้ว', 'เก็บเกี่ยวแล้ว', 'ส่งมอบครบแล้ว', 'ยกเลิก', 'ฉบับร่าง']),
    opens: d => 'เปิดรับสั่งจอง ' + d, closed: 'รอบนี้ปิดรับสั่งจองแล้ว',
    choose: 'เลือกสินค้าและจำนวน', left: n => 'เหลือ ' + n + ' ชิ้น', out: 'หมดแล้ว', dec: n => 'ลดจำนวน ' + n, inc: n => 'เพิ่มจำนวน ' + n,
    limits: (a, b) => b ? 'สั่งได้ ' + a + '–' + b + ' ชิ้นต่อคำสั่งจอง' : 'สั่งอย่างน้อย ' + a + ' ชิ้น',
    upTo: n => 'สั่งได้สูงสุด ' + n + ' ชิ้นต่อคำสั่งจอง', perBuyer: (n, u) => 'จำกัด ' + n + ' ' + u + ' ต่อผู้ซื้อ 1 ราย',
    bl: (r, m, u) => 'เบอร์โทรนี้สั่งได้อีก ' + r + ' ' + u + ' (จำกัด ' + m + ' ' + u + ' ต่อผู้ซื้อ 1 ราย) กรุณาลดจำนวน หรือตรวจสอบเบอร์โทรศัพท์',
    onlyU: (n, u) => 'เหลือเพียง ' + n + ' ' + u, soldOut: 'สินค้าหมดแล้ว',
    unk: 'เรากำลังตรวจสอบว่าคำสั่งจองของท่านส่งถึงหรือไม่ จึงแก้ไขข้อมูลไม่ได้ในขณะนี้ กดส่งอีกครั้งได้ ระบบจะไม่สั่งซ้ำ',
    provFirst: 'เลือกจังหวัดก่อน', distFirst: 'เลือกอำเภอก่อน', geoErr: 'โหลดรายชื่อพื้นที่ไม่สำเร็จ',
    wlVar: 'หมดแล้ว ลงชื่อรอ', delivery: 'วิธีรับสินค้า', pickup: 'รับเองที่จุดรับสินค้า', carrier: 'จัดส่งทางพัสดุ',
    fee: 'ค่าส่ง', per: u => ' ต่อ' + u, free: 'ส่งฟรี', point: 'จุดรับสินค้า', address: 'ที่อยู่จัดส่ง',
    rn: 'ชื่อผู้รับ', rp: 'เบอร์โทรผู้รับ', al: 'บ้านเลขที่ หมู่ ถนน', prov: 'จังหวัด', dist: 'อำเภอ/เขต', sub: 'ตำบล/แขวง',
    pc: 'รหัสไปรษณีย์', d5: 'ตัวเลข 5 หลัก', pick: 'เลือก…', pcs: c => 'รหัสไปรษณีย์ของตำบลนี้: ' + c,
    you: 'ข้อมูลผู้สั่ง', name: 'ชื่อ-นามสกุล', phone: 'เบอร์โทรศัพท์', email: 'อีเมล (ไม่บังคับ)', line: 'LINE ID (ไม่บังคับ)',
    note: 'หมายเหตุถึงผู้ขาย (ไม่บังคับ)', subtotal: 'ค่าสินค้า', total: 'ยอดรวม', submit: 'ยืนยันสั่งจอง',
    resend: 'ส่งคำสั่งจองอีกครั้ง', sending: 'กำลังส่ง…', failed: 'ส่งไม่สำเร็จ กรุณาลองอีกครั้ง',
    req: 'กรุณากรอกช่องนี้', reqSel: 'กรุณาเลือก 1 รายการ', badPhone: 'เบอร์โทรไม่ถูกต้อง (เช่น 081 234 5678)',
    badEmail: 'อีเมลไม่ถูกต้อง', badPc: c => 'รหัสไปรษณีย์ต้องเป็น ' + c, noItems: 'กรุณาเลือกสินค้าอย่างน้อย 1 ชิ้น',
    minItems: n => 'ต้องสั่งอย่างน้อย ' + n + ' ชิ้น', maxItems: n => 'สั่งได้ไม่เกิน ' + n + ' ชิ้น', only: n => 'เหลือเพียง ' + n + ' ชิ้น',
    fix: 'กรุณาแก้ไขช่องที่มีข้อความแจ้งเตือน',
    net: 'เชื่อมต่อเซิร์ฟเวอร์ไม่ได้ กรุณาตรวจสอบอินเทอร์เน็ตแล้วกดส่งอีกครั้ง ระบบจะไม่สั่งซ้ำ',
    wait: s => 'กรุณาลองใหม่ในอีก ' + s + ' วินาที', refreshed: 'อัปเดตจำนวนคงเหลือล่าสุดแล้ว',
    done: 'สั่งจองสำเร็จ', yours: 'คำสั่งจองของท่าน', code: 'รหัสคำสั่งจอง', status: 'สถานะ', items: 'รายการสินค้า',
    pay: 'ชำระเงินด้วยพร้อมเพย์', qrAlt: a => 'QR พร้อมเพย์ ยอด ' + a, payee: 'ผู้รับเงิน', ppid: 'พร้อมเพย์',
    amount: 'ยอดชำระ', due: 'ชำระภายใน', saveQr: 'บันทึกรูป QR', noPP: 'อปท. จะติดต่อท่านเรื่องการชำระเงิน',
    save: 'บันทึกหน้านี้ (เปิดในแท็บใหม่)', saveHint: 'ลิงก์นี้มีรหัสลับของคำสั่งจอง โปรดเก็บไว้และอย่าส่งต่อให้ผู้อื่น',
    next: 'ขั้นตอนต่อไป', n1: d => 'สแกน QR ด้วยแอปธนาคารและชำระเงิน' + (d ? 'ภายใน ' + d : ''),
    n1c: 'อปท. จะติดต่อท่านทางโทรศัพท์เรื่องการชำระเงิน', n2: 'อปท. ตรวจสอบและยืนยันคำสั่งจองของท่าน',
    n3: r => 'ผลผลิตจะเก็บเกี่ยวช่วง ' + r, n4p: (p, t) => 'รับสินค้าที่ ' + p + ' ' + t,
    n4s: 'ผู้ผลิตจัดส่งพัสดุถึงที่อยู่ของท่านหลังเก็บเกี่ยว', again: 'สั่งจองเพิ่ม', hr: ' น.',
    wl: 'ลงชื่อรอสินค้า', wlIntro: 'สินค้าหมดแล้ว ลงชื่อรอไว้ หากมีสินค้าเพิ่ม เราจะติดต่อท่านทางเบอร์โทรที่ให้ไว้',
    item: 'สินค้า', qty: 'จำนวน (ชิ้น)', wlBtn: 'ลงชื่อรอ', close: 'ปิด',
    wlDone: p => p ? 'ลงชื่อแล้ว ท่านอยู่ลำดับที่ ' + p + ' ในคิวรอ' : 'ลงชื่อในคิวรอแล้ว'
  },
  en: {
    sw: 'ภาษาไทย', swl: 'th', tag: 'Pre-order local produce', loading: 'Loading…', loadErr: 'The form could not be loaded.',
    retry: 'Try again', windows: 'Pre-order windows', none: 'No pre-order windows at the moment.', back: 'All pre-order windows',
    from: p => 'from ' + p, by: 'Producer', harvest: 'Harvest', closes: 'Orders close',
    st: st(['Open', 'Opens soon', 'Sold out', 'Closed', 'Harvested', 'Fulfilled', 'Cancelled', 'Draft']),
    opens: d => 'Orders open ' + d, closed: 'This window no longer takes orders.',
    choose: 'Choose items', left: n => n + ' left', out: 'Sold out', dec: n => 'Fewer: ' + n, inc: n => 'More: ' + n,
    limits: (a, b) => b ? a + '–' + b + ' items per order' : 'At least ' + pl(a) + ' per order',
    upTo: n => 'up to ' + n + ' per order', perBuyer: (n, u) => 'limit ' + n + ' ' + u + ' per buyer',
    bl: (r, m, u) => 'This phone number may order ' + r + ' ' + u + ' more (limit ' + m + ' ' + u + ' per buyer). Order fewer or check the phone number.',
    onlyU: (n, u) => 'Only ' + n + ' ' + u + ' left.', soldOut: 'Sold out.',
    unk: 'We are checking whether your order went through, so the form is locked for now. Press send again: it will not order twice.',
    provFirst: 'Choose a province first', distFirst: 'Choose a district first', geoErr: 'The list of places could not be loaded.',
    wlVar: 'Sold out: join the waiting list', delivery: 'How you receive it', pickup: 'Pick up', carrier: 'Delivery by carrier',
    fee: 'Delivery fee', per: u => ' per ' + u, free: 'Free delivery', point: 'Pickup point', address: 'Delivery address',
    rn: 'Recipient name', rp: 'Recipient phone', al: 'House number, village, road', prov: 'Province', dist: 'District', sub: 'Subdistrict',
    pc: 'Postal code', d5: 'five digits', pick: 'Choose…', pcs: c => 'Postal code of this subdistrict: ' + c,
    you: 'Your details', name: 'Full name', phone: 'Phone', email: 'Email (optional)', line: 'LINE ID (optional)',
    note: 'Note to the seller (optional)', subtotal: 'Items', total: 'Total', submit: 'Place pre-order',
    resend: 'Send the order again', sending: 'Sending…', failed: 'Sending failed. Please try again.',
    req: 'Please fill in this field.', reqSel: 'Please choose one.', badPhone: 'Not a Thai phone number (e.g. 081 234 5678).',
    badEmail: 'Not an email address.', badPc: c => 'The postal code must be ' + c + '.', noItems: 'Please choose at least one item.',
    minItems: n => 'Order at least ' + pl(n) + '.', maxItems: n => 'Order at most ' + pl(n) + '.', only: n => 'Only ' + pl(n) + ' left.',
    fix: 'Please correct the fields marked below.',
    net: 'Could not reach the server. Check your connection and send again: you will not order twice.',
    wait: s => 'Please try again in ' + s + ' seconds.', refreshed: 'Availability has been updated.',
    done: 'Order placed', yours: 'Your order', code: 'Order code', status: 'Status', items: 'Items',
    pay: 'Pay by PromptPay', qrAlt: a => 'PromptPay QR code for ' + a, payee: 'Payee', ppid: 'PromptPay',
    amount: 'Amount', due: 'Pay by', saveQr: 'Save the QR image', noPP: 'The LAO will contact you about payment.',
    save: 'Save this page (opens in a new tab)', saveHint: 'This link holds your order\'s secret: keep it and do not share it.',
    next: 'What happens next', n1: d => 'Scan the QR code with your banking app and pay' + (d ? ' by ' + d : '') + '.',
    n1c: 'The LAO will phone you about payment.', n2: 'The LAO checks and confirms your order.',
    n3: r => 'The harvest is expected ' + r + '.', n4p: (p, t) => 'Pick up your order at ' + p + ', ' + t + '.',
    n4s: 'The producer ships the parcel to your address after the harvest.', again: 'Place another order', hr: '',
    wl: 'Waiting list', wlIntro: 'Sold out. Join the waiting list and we will phone you if items become available.',
    item: 'Item', qty: 'Quantity (items)', wlBtn: 'Join the waiting list', close: 'Close',
    wlDone: p => p ? 'You are number ' + p + ' on the waiting list.' : 'You are on the waiting list.'
  }
};

// h('tag', {attr: value, onclick: fn}, ...children): DOM only, text via text nodes.
const PROPS = { value: 1, checked: 1, disabled: 1, hidden: 1, selected: 1 };
const h = (tag, a, ...kids) => {
  const e = document.createElement(tag);
  for (const c of kids.flat(9)) if (c != null && c !== false && c !== '') e.append(c instanceof Node ? c : String(c));
  for (const k in a) {
    const v = a[k];
    if (v == null || v === false) continue;
    if (k[0] == 'o' && k[1] == 'n') e.addEventListener(k.slice(2), v);
    else if (PROPS[k]) e[k] = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  return e;
};

const uuid = () => {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = b[6] & 15 | 64; b[8] = b[8] & 63 | 128;
  const x = [...b].map(n => (n + 256).toString(16).slice(1)).join('');
  return x.slice(0, 8) + '-' + x.slice(8, 12) + '-' + x.slice(12, 16) + '-' + x.slice(16, 20) + '-' + x.slice(20);
};
const a9 = s => s.replace(/[\u0e50-\u0e59]/g, c => c.charCodeAt(0) - 3664);
const okPhone = p => /^0([689]\d{8}|[2-57]\d{7})$/.test(a9(p).replace(/[ ().-]/g, '').replace(/^(\+66|0066|00(?=[689]))0?/, '0'));
const FIELDS = {
  lines: 'lines', 'buyer.name': 'name', 'buyer.phone': 'phone', 'buyer.email': 'email', 'buyer.line_id': 'line', note: 'note',
  delivery: 'dm', 'delivery.method': 'dm', 'delivery.pickup_point_id': 'pp', 'delivery.address': 'al',
  'delivery.address.recipient_name': 'rn', 'delivery.address.phone': 'rp', 'delivery.address.address_line': 'al',
  'delivery.address.subdistrict_code': 'sub', 'delivery.address.postal_code': 'pc',
  variant_id: 'wv', quantity: 'wq', buyer_name: 'wn', buyer_phone: 'wp', buyer_email: 'we'
};

function App(el) {
  const ds = el.dataset, root = el.attachShadow({ mode: 'open' });
  const api = ds.api || '', key = ds.key || '', only = ds.window || '', L = 2;
  const S = {
    lang: ds.lang == 'en' ? 'en' : 'th', view: 'load', data: null, win: null, q: {}, err: {}, busy: false, idem: null,
    f: { dm: '', pp: '', prov: '', dist: '', sub: '', pc: '', rn: '', rp: '', al: '', name: '', phone: '', email: '', line: '', note: '' },
    w: { v: '', q: '1', n: '', p: '', e: '' }, wl: false, wlDone: null, done: null, fresh: false, unk: false, wunk: false, loaded: 0,
    gp: null, gd: {}, gs: {}
  };
  let t = D[S.lang];
  const box = h('div', { class: 'k', hidden: !!ds.css });
  const main = h('div');
  const alert = h('div', { class: 'alert', role: 'alert', 'aria-live': 'assertive' });
  if (ds.css) {
    const show = () => { box.hidden = false; };
    root.append(h('link', { rel: 'stylesheet', href: ds.css, onload: show, onerror: show }));
    setTimeout(show, 3000);
  }
  box.append(h('div', { class: 'hd' }), main, alert);
  root.append(box);

  // ---- helpers ----
  const Hn = (n, a, ...k) => h('h' + Math.min(L + n, 6), a, ...k);
  const url = u => /^(https?|data|blob):/.test(u) ? u : api + u;
  const money = s => new Intl.NumberFormat(S.lang == 'th' ? 'th-TH' : 'en-GB', { style: 'currency', currency: 'THB', currencyDisplay: 'narrowSymbol' }).format(s / 100);
  const dtf = o => new Intl.DateTimeFormat(S.lang == 'th' ? 'th-TH-u-ca-buddhist' : 'en-GB-u-ca-buddhist', { day: 'numeric', month: 'short', year: 'numeric', ...o });
  const day = s => { const [y, m, d] = s.split('-'); return new Date(Date.UTC(y, m - 1, d)); };
  const dates = (a, b) => { const f = dtf({ timeZone: 'UTC' }); return b && b != a && f.formatRange ? f.formatRange(day(a), day(b)) : f.format(day(a)); };
  const when = (a, b) => { const f = dtf({ hour: '2-digit', minute: '2-digit', timeZone: 'Asia/Bangkok' }); return (b && f.formatRange ? f.formatRange(new Date(a), new Date(b)) : f.format(new Date(a))) + t.hr; };
  const nm = o => o && (S.lang == 'en' && o.name_en || o.name_th || o.full_name_th || o.name_en || '');
  const stName = (s, th) => S.lang == 'th' && th || t.st[s] || (s[0].toUpperCase() + s.slice(1)).replace(/_/g, ' ');
  const vars = () => S.win.variants.filter(v => v.active);
  const say = m => { alert.textContent = ''; if (m) setTimeout(() => { alert.textContent = m; }, 60); };
  const focus = id => { const n = root.getElementById(id); if (n) n.focus(); };

  async function req(method, path, body, hdr) {
    const o = { method, credentials: 'omit', headers: { Accept: 'application/json', 'Accept-Language': S.lang, ...hdr } };
    if (body) { o.headers['Content-Type'] = 'application/json'; o.body = JSON.stringify(body); }
    if (method == 'GET' && path.includes('/embed/')) o.cache = 'no-store';
    let r, j = null;
    try { r = await fetch(api + path, o); } catch (e) { throw { net: 1 }; }
    try { j = await r.json(); } catch (e) { /* empty or not JSON */ }
    if (r.ok) return j;
    if (r.status >= 500 && r.status != 503 && !(j && j.detail)) throw { net: 1 };
    throw { status: r.status, p: j || {}, ra: +r.headers.get('Retry-After') || (j && j.retry_after) || 0 };
  }
  async function list(path) {
    let items = [], c = null;
    do {
      const j = await req('GET', path + (c ? (path.includes('?') ? '&' : '?') + 'cursor=' + encodeURIComponent(c) : ''));
      items = items.concat(Array.isArray(j) ? j : j.items || []);
      c = j && j.next_cursor;
    } while (c);
    return items;
  }

  // ---- rendering ----
  function render() {
    const a = root.activeElement, id = a && a.id;
    let ss = null;
    try { ss = a.selectionStart; } catch (e) { /* not a text field */ }
    t = D[S.lang];
    box.lang = S.lang;
    const lao = S.data ? S.data.lao : S.done && S.done.order.lao;
    box.firstChild.replaceWith(h('div', { class: 'hd' },
      h('p', { class: 'lao' }, h('strong', null, nm(lao)), h('span', null, t.tag)),
      h('button', { type: 'button', id: 'k-lang', class: 'lang', lang: t.swl, onclick: switchLang }, t.sw)));
    main.replaceChildren(...[].concat(views[S.view]()).filter(Boolean));
    sums();
    if (id) {
      const n = root.getElementById(id);
      if (n && n != root.activeElement) { n.focus({ preventScroll: true }); if (ss != null) try { n.setSelectionRange(ss, ss); } catch (e) { /* ok */ } }
    }
  }
  function switchLang() {
    S.lang = S.lang == 'th' ? 'en' : 'th';
    S.err = {}; say('');
    render();
  }

  const views = {
    load: () => h('p', { class: 'muted' }, t.loading),
    err: () => [h('p', { role: 'alert' }, S.emsg || t.loadErr), h('button', { type: 'button', class: 'btn', onclick: () => { S.view = 'load'; render(); load(); } }, t.retry)],
    list: () => {
      const ws = S.data.windows;
      return [Hn(0, { id: 'k-h', tabindex: '-1' }, t.windows), ws.length ? h('ul', { class: 'list' }, ws.map(w => {
        const ph = w.photos[0], ps = w.variants.filter(v => v.active).map(v => v.price_satang);
        return h('li', { class: 'card' },
          ph ? pic(ph, w, '96px', 'thumb') : h('span', { class: 'thumb' }),
          h('div', null,
            Hn(1, null, h('button', { type: 'button', class: 'link', id: 'k-w' + w.id, onclick: () => openWin(w) }, w.title)),
            h('p', { class: 'muted' }, t.harvest + ' ' + dates(w.harvest_start, w.harvest_end)),
            ps.length ? h('p', null, t.from(money(Math.min(...ps)))) : null,
            badge(w)));
      })) : h('p', null, t.none)];
    },
    win: () => winView(),
    done: () => doneView()
  };
  const badge = w => h('span', { class: 'badge b-' + w.status }, stName(w.status, w.status_th));

  function pic(ph, w, sizes, cls) {
    const alt = (S.lang == 'en' ? ph.alt_en : ph.alt_th) || ph.alt_th || ph.alt_en || w.product.name || w.title;
    const set = f => ph.sizes.filter(s => s.format == f).map(s => url(s.url) + ' ' + s.width + 'w').join(', ');
    const jpg = set('jpeg') || set('png'), fb = ph.sizes.find(s => s.format != 'webp') || ph.original;
    return h('picture', { class: cls },
      set('webp') ? h('source', { type: 'image/webp', srcset: set('webp'), sizes }) : null,
      h('img', { src: url(fb.url), srcset: jpg || null, sizes, alt, width: ph.width, height: ph.height, loading: 'lazy', decoding: 'async' }));
  }

  function winView() {
    const w = S.win, f = S.f, out = [];
    if (!only && S.data.windows.length > 1) out.push(h('button', { type: 'button', class: 'link back', onclick: backToList }, '← ' + t.back));
    const ph = w.photos;
    if (ph.length) out.push(pic(ph[0], w, '(max-width: 640px) 100vw, 640px', 'cover'));
    if (ph.length > 1) out.push(h('div', { class: 'thumbs' }, ph.slice(1, 5).map(p => pic(p, w, '(max-width: 640px) 25vw, 150px', ''))));
    out.push(Hn(0, { id: 'k-h', tabindex: '-1' }, w.title), badge(w),
      h('p', { class: 'meta' }, t.by + ': ' + w.producer.name, h('br'), t.harvest + ': ' + dates(w.harvest_start, w.harvest_end),
        w.status == 'open' ? [h('br'), t.closes + ': ' + when(w.closes_at)] : null));
    if (w.description) out.push(h('p', { class: 'story' }, w.description));
    if (w.status == 'open') out.push(orderForm());
    else if (w.status == 'sold_out') { if (!S.wl) S.wl = true; }
    else out.push(h('p', { class: 'note' }, w.status == 'scheduled' || w.status == 'upcoming' ? t.opens(when(w.opens_at)) : t.closed));
    if (S.wl) out.push(waitForm());
    return out;
  }

  // A labelled control with its hint and error: key k → id k-{k}, hint k-{k}-h, error k-{k}-e.
  function field(k, label, a, tag, hint, kids) {
    const e = S.err[k], ids = [hint && 'k-' + k + '-h', e && 'k-' + k + '-e'].filter(Boolean).join(' ');
    return h('div', { class: 'fld' },
      h('label', { for: 'k-' + k }, label),
      h(tag || 'input', { id: 'k-' + k, 'aria-invalid': e ? 'true' : null, 'aria-describedby': ids || null, ...a }, kids),
      hint ? h('p', { class: 'hint', id: 'k-' + k + '-h' }, hint) : null,
      errP(k));
  }
  const errP = k => S.err[k] ? h('p', { class: 'err', id: 'k-' + k + '-e' }, S.err[k]) : null;
  // A text field bound to obj[p].
  const txt = (k, label, a, tag, obj = S.f, p = k) =>
    field(k, label, { value: obj[p] || '', oninput: ev => { obj[p] = ev.target.value; changed(k); }, ...a }, tag);
  // A geography picker: `wait` says what its first option reads until its items are there.
  const sel = (k, label, items, value, onchange, wait) => field(k, label, { onchange, required: true, value: value || '' }, 'select', null,
    [h('option', { value: '' }, items ? t.pick : wait || t.loading), [...items || []].sort((a, b) => nm(a).localeCompare(nm(b), S.lang)).map(i => h('option', { value: i.code }, nm(i)))]);
  function radios(k, legend, opts, value, onchange) {
    const e = S.err[k];
    return h('fieldset', { id: 'k-' + k },
      h('legend', null, legend),
      opts.map(([v, lab, sub]) => h('div', { class: 'rad' },
        h('input', { type: 'radio', name: 'k-' + k, id: 'k-' + k + v, value: v, checked: String(value) == String(v), onchange,
          'aria-invalid': e ? 'true' : null, 'aria-describedby': e ? 'k-' + k + '-e' : null }),
        h('label', { for: 'k-' + k + v }, h('span', { class: 'rl' }, lab), sub ? h('span', { class: 'rs' }, sub) : null))),
      errP(k));
  }

  function orderForm() {
    const w = S.win, f = S.f, d = w.delivery, pts = w.pickup_points.filter(p => p.active), vs = vars();
    const unit = S.lang == 'th' ? w.unit_th : w.unit;
    const methods = [];
    if (pts.length) methods.push(['pickup', t.pickup]);
    if (d) methods.push(['carrier', t.carrier, d.fee_satang ? t.fee + ' ' + money(d.fee_satang) + (d.fee_kind == 'per_unit' ? t.per(unit) : '') : t.free]);
    if (methods.length == 1 && !f.dm) f.dm = methods[0][0];
    if (f.dm == 'pickup' && pts.length == 1) f.pp = String(pts[0].id);
    const lim = [t.limits(w.min_items_per_order || 1, w.max_items_per_order), w.max_units_per_buyer && t.perBuyer(w.max_units_per_buyer, unit)].filter(Boolean).join(' · ');
    return freeze(S.unk, 'k-go', h('form', { novalidate: true, onsubmit: submit, class: 'order' },
      Hn(1, null, t.choose),
      h('fieldset', { id: 'k-lines', 'aria-describedby': 'k-lines-h' },
        h('legend', { class: 'sr' }, t.choose),
        h('p', { class: 'hint', id: 'k-lines-h' }, lim),
        vs.map(v => {
          const k = 'q' + v.id, e = S.err[k] || S.err.lines, n = v.items_available, left = Math.floor(w.available / v.units_per_item);
          return h('div', { class: 'var' },
            h('label', { for: 'k-' + k },
              h('span', { class: 'vn' }, v.name), h('span', { class: 'vp' }, money(v.price_satang)),
              h('span', { class: n ? 'va' : 'va out' }, n ? t.left(left >= 0 ? left : n) + (n < left ? ' · ' + t.upTo(n) : '') : t.out)),
            n ? h('div', { class: 'step' },
              h('button', { type: 'button', class: 'sb', 'aria-label': t.dec(v.name), onclick: () => bump(v, -1) }, '−'),
              h('input', { id: 'k-' + k, type: 'number', inputmode: 'numeric', min: 0, max: n, step: 1, value: S.q[v.id] || 0,
                'aria-invalid': e ? 'true' : null, 'aria-describedby': [S.err[k] && 'k-' + k + '-e', S.err.lines && 'k-lines-e'].filter(Boolean).join(' ') || null,
                oninput: ev => { S.q[v.id] = Math.min(n, Math.max(0, Math.floor(+ev.target.value) || 0)); changed(k); changed('lines'); sums(); },
                onchange: ev => { ev.target.value = S.q[v.id] || 0; } }),
              h('button', { type: 'button', class: 'sb', 'aria-label': t.inc(v.name), onclick: () => bump(v, 1) }, '+'))
              : h('button', { type: 'button', class: 'link', id: 'k-' + k, onclick: () => { S.wl = true; S.w.v = String(v.id); S.wlDone = null; render(); focus('k-wl'); } }, t.wlVar),
            errP(k));
        }),
        errP('lines')),
      h('fieldset', null, h('legend', null, t.you),
        txt('name', t.name, { autocomplete: 'name', required: true, maxlength: 200 }),
        txt('phone', t.phone, { type: 'tel', autocomplete: 'tel', inputmode: 'tel', required: true, maxlength: 32 }),
        txt('email', t.email, { type: 'email', autocomplete: 'email', maxlength: 254 }),
        txt('line', t.line, { autocapitalize: 'none', spellcheck: 'false', maxlength: 100 })),
      methods.length ? radios('dm', t.delivery, methods, f.dm, ev => { f.dm = ev.target.value; if (f.dm == 'carrier') { f.rn = f.rn || f.name; f.rp = f.rp || f.phone; geo(); } changed('dm'); render(); }) : null,
      f.dm == 'pickup' ? radios('pp', t.point, pts.map(p => [p.id, p.name, [p.address, when(p.starts_at, p.ends_at), p.notes].filter(Boolean).join(' · ')]), f.pp,
        ev => { f.pp = ev.target.value; changed('pp'); }) : null,
      f.dm == 'carrier' ? addrFields() : null,
      txt('note', t.note, { maxlength: 1000, rows: 2 }, 'textarea'),
      h('div', { class: 'sum', id: 'k-sum', 'aria-live': 'polite' }),
      S.unk ? h('p', { class: 'note', id: 'k-go-h' }, t.unk) : null,
      h('button', { type: 'submit', class: 'btn big', id: 'k-go', disabled: S.busy, 'aria-describedby': S.unk ? 'k-go-h' : null }, S.busy ? t.sending : S.unk ? t.resend : t.submit)));
  }
  // While a submission's outcome is unknown, only its send button stays usable.
  function freeze(on, btn, form) {
    if (on) for (const n of form.elements) if (n.id != btn) n.disabled = true;
    return form;
  }

  function addrFields() {
    const f = S.f, sd = f.dist && (S.gs[f.dist] || []).find(s => s.code == f.sub), pcs = sd ? sd.postal_codes : [];
    return h('fieldset', null, h('legend', null, t.address),
      txt('rn', t.rn, { autocomplete: 'shipping name', required: true, maxlength: 200 }),
      txt('rp', t.rp, { type: 'tel', autocomplete: 'shipping tel', inputmode: 'tel', required: true, maxlength: 32 }),
      txt('al', t.al, { autocomplete: 'shipping address-line1', required: true, maxlength: 500 }),
      sel('prov', t.prov, S.gp, f.prov, ev => { f.prov = ev.target.value; f.dist = f.sub = ''; changed('prov'); geo(); render(); }, S.gerr && t.geoErr),
      S.gerr ? h('p', { class: 'row' }, h('span', { class: 'err', id: 'k-geo-e' }, t.geoErr), h('button', { type: 'button', class: 'btn alt', id: 'k-geo', onclick: () => { S.gerr = false; render(); geo(); } }, t.retry)) : null,
      sel('dist', t.dist, f.prov && S.gd[f.prov], f.dist, ev => { f.dist = ev.target.value; f.sub = ''; changed('dist'); geo(); render(); }, !f.prov ? t.provFirst : S.gerr && t.geoErr),
      sel('sub', t.sub, f.dist && S.gs[f.dist], f.sub, ev => {
        f.sub = ev.target.value; changed('sub');
        const s = (S.gs[f.dist] || []).find(x => x.code == f.sub);
        if (s && s.postal_codes.length == 1) { f.pc = s.postal_codes[0]; changed('pc'); }
        render();
      }, !f.dist ? t.distFirst : S.gerr && t.geoErr),
      field('pc', t.pc, { value: f.pc, inputmode: 'numeric', autocomplete: 'shipping postal-code', maxlength: 5, required: true,
        oninput: ev => { f.pc = a9(ev.target.value.trim()); changed('pc'); } }, 'input', pcs.length > 1 ? t.pcs(pcs.join(', ')) : null));
  }

  async function geo() {
    const f = S.f;
    try {
      if (!S.gp) { S.gp = await list('/v1/provinces'); render(); }
      if (f.prov && !S.gd[f.prov]) { const p = f.prov; S.gd[p] = await list('/v1/provinces/' + p + '/districts'); render(); }
      if (f.dist && !S.gs[f.dist]) { const d = f.dist; S.gs[d] = await list('/v1/districts/' + d + '/subdistricts'); render(); }
    } catch (e) { S.gerr = true; render(); say(t.geoErr); }
  }

  function waitForm() {
    const w = S.win, o = S.w, vs = vars();
    if (!o.v && vs.length) o.v = String((vs.find(v => !v.items_available) || vs[0]).id);
    o.n = o.n || S.f.name; o.p = o.p || S.f.phone;
    return h('section', { class: 'wl', 'aria-labelledby': 'k-wl' },
      Hn(1, { id: 'k-wl', tabindex: '-1' }, t.wl),
      S.wlDone ? h('p', { class: 'ok' }, t.wlDone(S.wlDone.position)) : [
        h('p', null, t.wlIntro),
        freeze(S.wunk, 'k-wgo', h('form', { novalidate: true, onsubmit: joinWait },
          field('wv', t.item, { value: o.v, required: true, onchange: ev => { o.v = ev.target.value; changed('wv'); } }, 'select', null,
            vs.map(v => h('option', { value: v.id }, v.name + ' · ' + money(v.price_satang)))),
          txt('wq', t.qty, { type: 'number', inputmode: 'numeric', min: 1, step: 1, required: true, onchange: ev => { o.q = ev.target.value = Math.max(1, Math.floor(+ev.target.value) || 1); } }, 0, o, 'q'),
          txt('wn', t.name, { autocomplete: 'name', required: true, maxlength: 200 }, 0, o, 'n'),
          txt('wp', t.phone, { type: 'tel', autocomplete: 'tel', inputmode: 'tel', required: true, maxlength: 32 }, 0, o, 'p'),
          txt('we', t.email, { type: 'email', autocomplete: 'email', maxlength: 254 }, 0, o, 'e'),
          S.wunk ? h('p', { class: 'note', id: 'k-wgo-h' }, t.unk) : null,
          h('div', { class: 'row' },
            h('button', { type: 'submit', class: 'btn', id: 'k-wgo', disabled: S.busy, 'aria-describedby': S.wunk ? 'k-wgo-h' : null }, S.busy ? t.sending : S.wunk ? t.resend : t.wlBtn),
            w.status == 'open' ? h('button', { type: 'button', class: 'btn alt', onclick: () => { S.wl = false; render(); focus('k-h'); } }, t.close) : null)))]);
  }

  // `บ้านเลขที่ ต.แม่สอด อ.แม่สอด จ.ตาก 63110` (Bangkok: แขวง/เขต, no จ.); in English
  // `address, Mae Sot, Mae Sot, Tak 63110` with the names the pickers loaded (else Thai ones).
  function place(a) {
    const en = o => o && o.name_en, p = (S.gp || []).find(x => x.code == a.province_code),
      d = (S.gd[a.province_code] || []).find(x => x.code == a.district_code), s = (S.gs[a.district_code] || []).find(x => x.code == a.subdistrict_code);
    if (S.lang == 'en') return [a.address_line, en(s) || a.subdistrict_name_th, en(d) || a.district_name_th, (en(p) || a.province_name_th) + ' ' + a.postal_code].join(', ');
    const bkk = a.province_code == '10';
    return [a.address_line, (bkk ? 'แขวง' : 'ต.') + a.subdistrict_name_th, (bkk ? /^เขต/.test(a.district_name_th) ? '' : 'เขต' : 'อ.') + a.district_name_th,
      (bkk ? '' : 'จ.') + a.province_name_th, a.postal_code].join(' ');
  }

  function doneView() {
    const { order: o, promptpay: pp } = S.done, sec = o.secret || S.secret, dl = o.delivery, out = [];
    const lines = o.lines.map(l => h('li', null, h('span', null, l.name + ' × ' + l.quantity), h('span', null, money(l.line_total_satang))));
    if (o.delivery_fee_satang) lines.push(h('li', null, h('span', null, t.fee), h('span', null, money(o.delivery_fee_satang))));
    lines.push(h('li', { class: 'tot' }, h('span', null, t.total), h('span', null, money(o.total_satang))));
    out.push(Hn(0, { id: 'k-h', tabindex: '-1' }, S.fresh ? t.done : t.yours),
      h('p', { class: 'muted' }, t.code), h('p', { class: 'code' }, o.code),
      h('p', null, t.status + ': ' + stName(o.status, o.status_th)),
      Hn(1, null, o.window.title), h('ul', { class: 'lines', 'aria-label': t.items }, lines));
    const unpaid = o.status == 'pending_payment' && o.total_satang > 0;
    if (pp && unpaid) {
      const amt = money(pp.amount_satang);
      out.push(h('section', { class: 'pp', 'aria-labelledby': 'k-pp-h' },
        Hn(1, { id: 'k-pp-h' }, t.pay),
        h('img', { class: 'qr', src: url(pp.qr_png), alt: t.qrAlt(amt), width: 240, height: 240 }),
        h('dl', null,
          h('div', null, h('dt', null, t.amount), h('dd', null, amt)),
          h('div', null, h('dt', null, t.payee), h('dd', null, pp.payee)),
          h('div', null, h('dt', null, t.ppid), h('dd', null, pp.promptpay_id_masked)),
          pp.due_at ? h('div', null, h('dt', null, t.due), h('dd', null, when(pp.due_at))) : null),
        /^data:/.test(pp.qr_png) ? h('a', { href: pp.qr_png, download: 'promptpay-' + o.code + '.png', class: 'link' }, t.saveQr) : null));
    } else if (unpaid) out.push(h('p', { class: 'note' }, t.noPP));
    const pt = dl.pickup_point, ad = dl.address;
    const steps = [unpaid && (pp ? t.n1(pp.due_at && when(pp.due_at)) : t.n1c), t.n2, t.n3(dates(o.window.harvest_start, o.window.harvest_end)),
      pt ? t.n4p(pt.name + ' (' + pt.address + ')', when(pt.starts_at, pt.ends_at)) : t.n4s];
    out.push(Hn(1, null, t.next), h('ol', { class: 'next' }, steps.filter(Boolean).map(s => h('li', null, s))));
    if (ad) out.push(h('p', { class: 'muted' }, t.address + ': ' + ad.recipient_name + ', ' + place(ad)));
    if (sec) {
      const link = (api || location.origin) + '/embed/form?key=' + encodeURIComponent(key) + '&lang=' + S.lang +
        '#order=' + encodeURIComponent(o.code) + '&secret=' + encodeURIComponent(sec);
      out.push(h('p', null, h('a', { href: link, target: '_blank', rel: 'noopener noreferrer', class: 'btn alt' }, t.save)), h('p', { class: 'hint' }, t.saveHint));
    }
    if (key) out.push(h('button', { type: 'button', class: 'btn', onclick: again }, t.again));
    return out;
  }

  // ---- state changes ----
  function changed(k) {
    if (!S.unk) S.idem = null;
    if (!S.wunk) S.widem = null;
    if (S.err[k]) {
      delete S.err[k];
      const e = root.getElementById('k-' + k + '-e'), i = root.getElementById('k-' + k);
      if (e) e.remove();
      if (i) {
        const l = (i.getAttribute('aria-describedby') || '').split(' ').filter(x => x && x != 'k-' + k + '-e').join(' ');
        if (l) i.setAttribute('aria-describedby', l); else i.removeAttribute('aria-describedby');
        i.removeAttribute('aria-invalid');
        for (const r of i.querySelectorAll('[type=radio]')) { r.removeAttribute('aria-invalid'); r.removeAttribute('aria-describedby'); }
      }
      if (k == 'lines') for (const n of root.querySelectorAll('.step input')) if (!S.err[n.id.slice(2)]) { n.removeAttribute('aria-invalid'); n.removeAttribute('aria-describedby'); }
      const a = alert.textContent;
      if (!Object.keys(S.err).length && a.includes(t.fix)) alert.textContent = a.replace(t.fix, '').trim();
    }
    const go = root.getElementById('k-go');
    if (go && !S.busy && !S.unk) go.textContent = t.submit;
  }
  function bump(v, d) {
    const n = Math.min(v.items_available, Math.max(0, (S.q[v.id] || 0) + d));
    S.q[v.id] = n;
    const i = root.getElementById('k-q' + v.id);
    if (i) i.value = n;
    changed('q' + v.id); changed('lines'); sums();
  }
  function totals() {
    let items = 0, units = 0, sub = 0;
    for (const v of vars()) { const q = S.q[v.id] || 0; items += q; units += q * v.units_per_item; sub += q * v.price_satang; }
    const d = S.win.delivery, fee = S.f.dm == 'carrier' && d ? (d.fee_kind == 'per_unit' ? d.fee_satang * units : d.fee_satang) : 0;
    return { items, units, sub, fee, tot: sub + fee };
  }
  function sums() {
    const n = root.getElementById('k-sum');
    if (!n) return;
    const s = totals(), row = (a, b, c) => h('div', { class: c }, h('span', null, a), h('span', null, b));
    n.replaceChildren(...(s.fee ? [row(t.subtotal, money(s.sub)), row(t.fee, money(s.fee))] : []), row(t.total, money(s.tot), 'tot'));
  }
  function openWin(w) {
    S.win = w; S.view = 'win'; S.wl = false; S.wlDone = null; S.err = {}; say('');
    render(); focus('k-h');
    if (Date.now() - S.loaded > 5000) load(true);
  }
  function backToList() {
    const id = S.win.id;
    S.win = null; S.view = 'list'; S.err = {}; say('');
    render(); focus('k-w' + id);
  }
  function again() {
    S.done = null; S.fresh = false; S.q = {}; S.f.note = ''; S.err = {}; S.idem = null; S.unk = false;
    S.view = S.win ? 'win' : 'load';
    render(); focus('k-h');
    load(!!S.win);
  }

  function validate() {
    const e = {}, f = S.f, w = S.win, s = totals(), min = w.min_items_per_order || 1, max = w.max_items_per_order;
    for (const v of vars()) { const n = v.items_available; if ((S.q[v.id] || 0) > n) e['q' + v.id] = n < Math.floor(w.available / v.units_per_item) ? t.upTo(n) : t.only(n); }
    if (!s.items) e.lines = t.noItems;
    else if (s.items < min) e.lines = t.minItems(min);
    else if (max && s.items > max) e.lines = t.maxItems(max);
    if (!f.name.trim()) e.name = t.req;
    if (!f.phone.trim()) e.phone = t.req; else if (!okPhone(f.phone)) e.phone = t.badPhone;
    if (f.email.trim() && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(f.email.trim())) e.email = t.badEmail;
    if (root.getElementById('k-dm') && !f.dm) e.dm = t.reqSel;
    if (f.dm == 'pickup' && !f.pp) e.pp = t.reqSel;
    if (f.dm == 'carrier') {
      for (const k of ['rn', 'al']) if (!f[k].trim()) e[k] = t.req;
      if (!f.rp.trim()) e.rp = t.req; else if (!okPhone(f.rp)) e.rp = t.badPhone;
      if (!f.prov) e.prov = t.reqSel; else if (!f.dist) e.dist = t.reqSel; else if (!f.sub) e.sub = t.reqSel;
      const sd = f.sub && (S.gs[f.dist] || []).find(x => x.code == f.sub);
      if (!f.pc) e.pc = t.req;
      else if (sd && !sd.postal_codes.includes(f.pc)) e.pc = t.badPc(sd.postal_codes.join(', '));
      else if (!/^\d{5}$/.test(f.pc)) e.pc = t.badPc(t.d5);
    }
    return e;
  }
  const firstErr = () => {
    const n = root.querySelector('[aria-invalid="true"]');
    if (n) n.focus();
  };

  async function submit(ev) {
    ev.preventDefault();
    if (S.busy) return;
    const w = S.win, f = S.f, e = S.unk ? {} : validate();
    if (Object.keys(e).length) { S.err = e; render(); say(t.fix); firstErr(); return; }
    const lines = S.unk ? S.body.lines : vars().filter(v => S.q[v.id] > 0).map(v => ({ variant_id: v.id, quantity: S.q[v.id] }));
    const body = S.unk ? S.body : S.body = {
      window_id: w.id, lines,
      buyer: { name: f.name.trim(), phone: a9(f.phone.trim()), email: f.email.trim() || null, line_id: f.line.trim() || null },
      delivery: f.dm == 'carrier'
        ? { method: 'carrier', address: { recipient_name: f.rn.trim(), phone: a9(f.rp.trim()), address_line: f.al.trim(), subdistrict_code: f.sub, postal_code: f.pc } }
        : { method: 'pickup', pickup_point_id: +f.pp },
      note: f.note.trim() || null
    };
    S.idem = S.idem || uuid();
    await send('k-go', async () => {
      S.done = await req('POST', '/v1/embed/' + encodeURIComponent(key) + '/orders', body, { 'Idempotency-Key': S.idem });
      S.fresh = true; S.view = 'done'; S.idem = null; S.unk = false; S.err = {}; say('');
      render(); focus('k-h');
    }, lines);
  }

  async function joinWait(ev) {
    ev.preventDefault();
    if (S.busy) return;
    const o = S.w, e = {}, q = Math.floor(+o.q);
    if (S.wunk) return send('k-wgo', wsend, []);
    if (!o.v) e.wv = t.reqSel;
    if (!(q >= 1)) e.wq = t.req;
    if (!o.n.trim()) e.wn = t.req;
    if (!o.p.trim()) e.wp = t.req; else if (!okPhone(o.p)) e.wp = t.badPhone;
    if (o.e.trim() && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(o.e.trim())) e.we = t.badEmail;
    if (Object.keys(e).length) { S.err = e; render(); say(t.fix); firstErr(); return; }
    S.widem = S.widem || uuid();
    S.wbody = { variant_id: +o.v, quantity: q, buyer_name: o.n.trim(), buyer_phone: a9(o.p.trim()), buyer_email: o.e.trim() || null };
    await send('k-wgo', wsend, []);
  }
  async function wsend() {
    S.wlDone = await req('POST', '/v1/embed/' + encodeURIComponent(key) + '/windows/' + S.win.id + '/waitlist', S.wbody, { 'Idempotency-Key': S.widem });
    S.widem = null; S.wunk = false; S.err = {}; say('');
    render(); focus('k-wl');
  }

  // Runs a submission with the button disabled; failures go next to fields or to the alert.
  async function send(btn, fn, lines) {
    S.busy = true;
    const b = root.getElementById(btn);
    if (b) { b.disabled = true; b.textContent = t.sending; }
    say('');
    try { await fn(); } catch (e) {
      S.busy = false;
      if (e instanceof Error) { console.error(e); e = { net: 1 }; }
      fail(e, lines, btn);
    } finally { S.busy = false; }
  }
  // Server text for buyers: no `code spans` (member names), no doubled spaces.
  const clean = x => String(x || '').replace(/`[^`]*`/g, '').replace(/\s+([.,:;)])/g, '$1').replace(/\s{2,}/g, ' ').trim();
  function fail(e, lines, btn) {
    let msg = [];
    const wl = btn == 'k-wgo', p = e.p || {}, c = p.code, w = S.win;
    S.err = {};
    // The server stores a 4xx answer under its key and would replay it: a definite refusal
    // created nothing, so the next attempt (after an edit) gets a new key. A network error, a
    // 5xx, a 429 or a request still in flight leaves the outcome unknown: the key and the body
    // stay and the form is frozen until a definite answer, so a retry can never order twice.
    const unk = !!(e.net || e.status >= 500 || e.status == 429 || c == 'idempotency_in_flight');
    if (wl) { S.wunk = unk; if (!unk) S.widem = null; } else { S.unk = unk; if (!unk) S.idem = null; }
    if (e.net) msg.push(t.net);
    else {
      const u = S.lang == 'th' ? w && w.unit_th : w && w.unit;
      let m = c == 'validation_failed' || c == 'unknown_variant' ? '' : clean(p.detail || p.title);
      if (c == 'buyer_limit' && p.remaining != null) m = t.bl(p.remaining, p.max_units, u);
      else if (c == 'insufficient_capacity' && p.available != null) m = t.onlyU(p.available, u);
      else if (c == 'sold_out') m = t.soldOut;
      const k = FIELDS[p.field] || (/^(buyer_limit|insufficient_capacity|sold_out|order_limit)$/.test(c) ? (wl ? 'wq' : 'lines') : 0);
      if (k && m) S.err[k] = m;
      if (m) msg.push(m);
      for (const x of p.errors || []) {
        const r = /^lines\[(\d+)\]/.exec(x.field), k = r ? (lines[r[1]] ? 'q' + lines[r[1]].variant_id : 'lines') : FIELDS[x.field];
        if (k) S.err[k] = S.err[k] ? S.err[k] + ' ' + clean(x.message) : clean(x.message);
        else msg.push(clean(x.message));
      }
      if (!msg.length && Object.keys(S.err).length) msg.push(t.fix);
      if (e.status == 429 && e.ra && !/\d/.test(m)) msg.push(t.wait(e.ra));
      if (/sold_out|capacity|window_/.test(c)) load(true, true);
    }
    render();
    for (const k in S.err) if (!root.getElementById('k-' + k + '-e') && !msg.includes(S.err[k])) msg.push(S.err[k]);
    say(msg.join(' ') || t.failed);
    if (root.querySelector('[aria-invalid="true"]')) firstErr(); else if (btn) focus(btn);
  }

  async function load(quiet, note) {
    try {
      const d = await req('GET', '/v1/embed/' + encodeURIComponent(key) + '/form' + (only ? '?window=' + encodeURIComponent(only) : ''));
      S.data = d; S.loaded = Date.now();
      const ws = d.windows || (d.windows = []);
      if (S.view == 'done') return;
      if (S.win) {
        S.win = ws.find(w => w.id == S.win.id) || null;
        if (!S.win) S.view = 'list';
      } else if (S.view == 'load' || S.view == 'err') {
        if (ws.length == 1) { S.win = ws[0]; S.view = 'win'; } else S.view = 'list';
      }
      render();
      if (note) setTimeout(() => { alert.textContent += ' ' + t.refreshed; }, 120);
    } catch (e) {
      if (quiet) return;
      // For the site's web person: a browser hides why a cross-origin call failed.
      if (!e.p) console.warn('khongdee: the pre-order form could not load from ' + (api || location.origin) + '. If the network is fine, check that ' + location.origin + " is in the LAO's allowed_origins and that the publishable key is live.");
      S.emsg = e.p && clean(e.p.detail); S.view = 'err'; render();
    }
  }

  async function showOrder(code, secret) {
    S.secret = secret;
    try {
      S.done = await req('GET', '/v1/embed/' + encodeURIComponent(key) + '/orders/' + encodeURIComponent(code), null, { 'X-Order-Secret': secret });
      S.view = 'done'; render();
    } catch (e) {
      S.emsg = e.p && clean(e.p.detail); S.view = 'err'; render();
    }
  }

  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState == 'visible' && (S.view == 'win' || S.view == 'list') && !S.busy && Date.now() - S.loaded > 15000) load(true);
  });

  render();
  const hp = new URLSearchParams(location.hash.slice(1));
  if (!api && hp.get('order') && hp.get('secret')) showOrder(hp.get('order'), hp.get('secret'));
  else load();
}

function mount() {
  for (const el of document.querySelectorAll('[data-khongdee-form]')) {
    if (el.hasAttribute('data-khongdee-mounted')) continue;
    el.setAttribute('data-khongdee-mounted', '');
    try { App(el); } catch (e) { console.error('khongdee form:', e); }
  }
}
window.__khongdeeEmbed = { mount };
if (document.readyState == 'loading') document.addEventListener('DOMContentLoaded', mount); else mount();
})();

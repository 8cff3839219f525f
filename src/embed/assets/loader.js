/* khongdee form loader */
(function (d) {
  var s = d.currentScript, l = d.querySelectorAll('script[src*="/embed/khongdee.js"]'), i = l.length,
    m = d.createElement('div'), k, p;
  if (!s || s.dataset.kd) for (s = 0; i-- && !s;) if (!l[i].dataset.kd) s = l[i];
  if (!s) return;
  s.dataset.kd = 1;
  m.dataset.khongdeeForm = '';
  for (k of ['key', 'window', 'lang']) m.dataset[k] = s.dataset[k] || '';
  m.dataset.api = new URL(s.src, location.href).origin;
  m.dataset.css = '__FORM_CSS__';
  function go() {
    var g = window.__khongdeeEmbed; // not window.khongdee: an element id="khongdee" would be that
    if (g && typeof g.mount == 'function') return g.mount();
    if (d.querySelector('script[data-khongdee-app]')) return;
    k = d.createElement('script'); // async
    k.src = '__FORM_JS__';
    k.dataset.khongdeeApp = '';
    d.head.appendChild(k);
  }
  p = s.parentNode;
  if (p && p != d.head) p.insertBefore(m, s.nextSibling);
  else if (d.body) d.body.appendChild(m);
  else return d.addEventListener('DOMContentLoaded', function () { d.body.appendChild(m); go(); });
  go();
})(document);

// Mini Bitly's web UI: preact + htm, routed on the client under /ui/.
import { h, render } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import { api, clearKey, getKey, setKey, words } from './api.js';
import { VisitsChart } from './chart.js';
import './style.css';

const html = htm.bind(h);
const ROOT = '/ui/';

// --- routing -------------------------------------------------------------

function currentRoute() {
  const p = location.pathname.startsWith(ROOT) ? location.pathname.slice(ROOT.length) : '';
  const parts = p.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'new') return { name: 'new' };
  if (parts[0] === 'links' && parts[1] && parts[2] === 'edit') return { name: 'edit', code: parts[1] };
  if (parts[0] === 'links' && parts[1]) return { name: 'link', code: parts[1] };
  return { name: 'list' };
}

let setRouteGlobal = () => {};
export function navigate(to, flash) {
  history.pushState({ flash: flash || '' }, '', to);
  setRouteGlobal({ ...currentRoute(), flash: flash || '' });
}

// Link is a real anchor (middle click, copy link, keyboard) routed in place.
function Link({ href, children, ...rest }) {
  const onClick = (e) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return html`<a href=${href} onClick=${onClick} ...${rest}>${children}</a>`;
}

const linkPath = (code) => ROOT + 'links/' + encodeURIComponent(code);

// --- small pieces --------------------------------------------------------

function ErrorBox({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${error}</p>`;
}

function Heading({ children }) {
  // Focused on every screen change so screen readers announce it.
  const ref = useRef(null);
  useEffect(() => ref.current && ref.current.focus(), []);
  return html`<h1 tabindex="-1" ref=${ref}>${children}</h1>`;
}

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return;
    } catch {
      // permission refused or document not focused: the old way below
    }
  }
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.style.position = 'fixed';
  ta.style.opacity = '0';
  document.body.appendChild(ta);
  ta.select();
  const ok = document.execCommand('copy');
  ta.remove();
  if (!ok) throw new Error('the browser refused to copy');
}

function CopyButton({ text, label = 'Copy short URL', name }) {
  const [state, setState] = useState('');
  const onClick = async () => {
    try {
      await copyText(text);
      setState('Copied');
    } catch (e) {
      setState('Could not copy: ' + e.message);
    }
  };
  return html`<span class="copy"><button type="button" onClick=${onClick} aria-label=${name}>${label}</button>
    <span class="status" role="status" aria-live="polite">${state}</span></span>`;
}

// FocusedButton takes the focus when it appears (a confirmation).
function FocusedButton({ children, ...rest }) {
  const ref = useRef(null);
  useEffect(() => ref.current && ref.current.focus(), []);
  return html`<button type="button" ref=${ref} ...${rest}>${children}</button>`;
}

// --- scopes --------------------------------------------------------------

// The scopes of the logged-in key (GET /api/v1/key), set before any page
// renders: the UI offers only what the key may do, and the API refuses the
// rest anyway.
let scopes = new Set();
const can = (s) => scopes.has(s);
const READ = 'links:read', WRITE = 'links:write', STATS = 'stats:read', ADMIN = 'admin';

// Lacks explains, in place of what a scope would show, why it is not there.
function Lacks({ scope, what }) {
  return html`<p class="hint lacks" data-lacks=${scope}>This API key lacks the <code>${scope}</code> scope, so it cannot ${what}.</p>`;
}

const fmtDate = (s) => (s ? new Date(s).toLocaleString() : '—');
const nf = new Intl.NumberFormat();

// --- login ---------------------------------------------------------------

function Login({ onLogin, notice }) {
  const [key, setK] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const me = await api('GET', '/key', undefined, key.trim());
      setKey(key.trim());
      onLogin(me);
    } catch (err) {
      setError(err.status === 401 ? 'That API key was not accepted: ' + words(err) : words(err));
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="narrow">
    <${Heading}>Mini Bitly</${Heading}>
    ${notice && html`<p class="error" role="alert">${notice}</p>`}
    <p>Log in with an API key (create one with <code>minibitly keys create</code>). It is kept in this browser until you log out.</p>
    <form onSubmit=${submit} id="login-form">
      <label for="api-key">API key</label>
      <input id="api-key" name="api-key" type="password" autocomplete="current-password" required
        value=${key} onInput=${(e) => setK(e.target.value)} />
      <${ErrorBox} error=${error} />
      <button type="submit" disabled=${busy}>${busy ? 'Checking…' : 'Log in'}</button>
    </form>
  </main>`;
}

// --- list ----------------------------------------------------------------

function LinkList({ flash }) {
  const [links, setLinks] = useState([]);
  const [cursor, setCursor] = useState(null);
  const [tag, setTag] = useState(new URLSearchParams(location.search).get('tag') || '');
  const [tagInput, setTagInput] = useState(tag);
  const [q, setQ] = useState('');
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(true);

  const load = useCallback(async (after) => {
    if (!can(READ)) return setLoading(false);
    setLoading(true);
    setError('');
    try {
      const params = new URLSearchParams({ limit: '50' });
      if (after) params.set('cursor', after);
      if (tag) params.set('tag', tag);
      const r = await api('GET', '/links?' + params);
      setLinks((prev) => (after ? prev.concat(r.links) : r.links));
      setCursor(r.next_cursor);
    } catch (err) {
      setError(words(err));
    } finally {
      setLoading(false);
    }
  }, [tag]);
  useEffect(() => { load(null); }, [load]);

  const shown = useMemo(() => {
    const s = q.trim().toLowerCase();
    if (!s) return links;
    return links.filter((l) =>
      [l.code, l.url, l.title, l.short_url, ...(l.tags || [])].some((v) => (v || '').toLowerCase().includes(s)));
  }, [links, q]);

  const pickTag = (raw) => {
    const t = raw.trim();
    history.replaceState(null, '', t ? ROOT + '?tag=' + encodeURIComponent(t) : ROOT);
    setTagInput(t);
    setTag(t);
  };
  const applyTag = (e) => {
    e.preventDefault();
    pickTag(tagInput);
  };

  return html`<main>
    <${Heading}>Links</${Heading}>
    ${flash && html`<p class="flash" role="status">${flash}</p>`}
    ${can(WRITE) && html`<p><${Link} href=${ROOT + 'new'} class="button primary" id="new-link">New link</${Link}></p>`}
    ${!can(READ) && html`<${Lacks} scope=${READ} what="list links" />`}
    ${can(READ) && html`
    <div class="filters">
      <form onSubmit=${applyTag} class="inline">
        <label for="tag-filter">Tag</label>
        <input id="tag-filter" value=${tagInput} onInput=${(e) => setTagInput(e.target.value)} placeholder="any" />
        <button type="submit">Filter</button>
        ${tag && html`<button type="button" onClick=${() => pickTag('')}>Clear tag</button>`}
      </form>
      <div class="inline">
        <label for="search">Search loaded links</label>
        <input id="search" type="search" value=${q} onInput=${(e) => setQ(e.target.value)} placeholder="code, URL, title or tag" />
      </div>
    </div>
    <p class="hint">The search looks through the ${links.length} link(s) loaded below (newest first)${cursor ? '; load more to search further' : ''}. The tag filter asks the server.</p>
    <${ErrorBox} error=${error} />
    <ul class="links" id="links" aria-busy=${loading}>
      ${shown.map((l) => html`<li key=${l.code} data-code=${l.code}>
        <div class="row1">
          <${Link} href=${linkPath(l.code)} class="code">/${l.code}</${Link}>
          ${l.disabled && html`<span class="badge">Disabled</span>`}
          ${l.title && html`<span class="title">${l.title}</span>`}
          ${(l.tags || []).map((t) => html`<button type="button" class="tag" onClick=${() => pickTag(t)}
            aria-label=${'Show links tagged ' + t}>${t}</button>`)}
        </div>
        <div class="url" title=${l.url}>${l.url}</div>
        <div class="row3">
          <span>${l.redirect_status} · created ${fmtDate(l.created_at)}${l.expires_at ? ' · expires ' + fmtDate(l.expires_at) : ''}${l.max_visits != null ? ' · max ' + nf.format(l.max_visits) + ' visits' : ''}</span>
          <${CopyButton} text=${l.short_url} label="Copy" name=${'Copy ' + l.short_url} />
        </div>
      </li>`)}
    </ul>
    ${!loading && shown.length === 0 && html`<p>${links.length ? 'No loaded link matches the search.' : 'No links yet.'}</p>`}
    ${cursor && html`<button type="button" onClick=${() => load(cursor)} disabled=${loading} id="load-more">Load more</button>`}`}
  </main>`;
}

// --- create and edit -------------------------------------------------------

const toLocalInput = (iso) => {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
};

function LinkForm({ code }) {
  const editing = !!code;
  const [f, setF] = useState({ url: '', code: '', title: '', tags: '', expires: '', maxVisits: '', status: '302', forward: false });
  const [orig, setOrig] = useState(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const lacks = !can(WRITE) ? WRITE : editing && !can(READ) ? READ : '';
  useEffect(() => {
    if (!editing || lacks) return;
    api('GET', '/links/' + encodeURIComponent(code)).then((l) => {
      const v = {
        url: l.url, code: l.code, title: l.title || '', tags: (l.tags || []).join(', '),
        expires: toLocalInput(l.expires_at), maxVisits: l.max_visits == null ? '' : String(l.max_visits),
        status: String(l.redirect_status), forward: !!l.forward_query,
      };
      setF(v);
      setOrig(v);
    }, (err) => setError(words(err)));
  }, [code]);

  const set = (k) => (e) => setF({ ...f, [k]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    const body = {};
    const changed = (k) => !editing || f[k] !== orig[k];
    if (changed('url')) body.url = f.url.trim();
    if (!editing && f.code.trim()) body.code = f.code.trim();
    if (changed('title') && (editing || f.title)) body.title = f.title;
    if (changed('tags') && (editing || f.tags.trim())) body.tags = f.tags.split(',').map((t) => t.trim()).filter(Boolean);
    if (changed('expires')) {
      if (f.expires) body.expires_at = new Date(f.expires).toISOString();
      else if (editing) body.expires_at = null;
    }
    if (changed('maxVisits')) {
      if (f.maxVisits !== '') body.max_visits = Number(f.maxVisits);
      else if (editing) body.max_visits = null;
    }
    if (changed('status')) body.redirect_status = Number(f.status);
    if (changed('forward')) body.forward_query = f.forward;
    try {
      const l = editing
        ? await api('PATCH', '/links/' + encodeURIComponent(code), body)
        : await api('POST', '/links', body);
      navigate(linkPath(l.code), editing ? 'Saved.' : 'Created ' + l.short_url);
    } catch (err) {
      setError(words(err));
      setBusy(false);
    }
  };

  return html`<main class="narrow">
    <p><${Link} href=${editing ? linkPath(code) : ROOT}>← Back</${Link}></p>
    <${Heading}>${editing ? 'Edit /' + code : 'New link'}</${Heading}>
    ${lacks ? html`<${Lacks} scope=${lacks} what=${editing ? 'edit links' : 'create links'} />` : html`<form onSubmit=${submit} id="link-form">
      <label for="f-url">Long URL</label>
      <input id="f-url" type="url" required value=${f.url} onInput=${set('url')} placeholder="https://example.com/…" />
      ${!editing && html`
        <label for="f-code">Custom code <span class="opt">(optional: letters, digits, _ and -; empty for a generated one)</span></label>
        <input id="f-code" value=${f.code} onInput=${set('code')} pattern="[A-Za-z0-9_\\-]{1,64}" maxlength="64" />`}
      <label for="f-title">Title <span class="opt">(optional)</span></label>
      <input id="f-title" value=${f.title} onInput=${set('title')} />
      <label for="f-tags">Tags <span class="opt">(comma-separated)</span></label>
      <input id="f-tags" value=${f.tags} onInput=${set('tags')} />
      <label for="f-expires">Expires <span class="opt">(optional, your local time)</span></label>
      <input id="f-expires" type="datetime-local" value=${f.expires} onInput=${set('expires')} />
      <label for="f-max">Maximum visits <span class="opt">(optional)</span></label>
      <input id="f-max" type="number" min="1" step="1" inputmode="numeric" value=${f.maxVisits} onInput=${set('maxVisits')} />
      <label for="f-status">Redirect status</label>
      <select id="f-status" value=${f.status} onChange=${set('status')}>
        <option value="302">302 Found (default)</option>
        <option value="301">301 Moved Permanently</option>
        <option value="307">307 Temporary Redirect</option>
        <option value="308">308 Permanent Redirect</option>
      </select>
      <div class="check">
        <input id="f-forward" type="checkbox" checked=${f.forward} onChange=${set('forward')} />
        <label for="f-forward">Forward the query string to the long URL</label>
      </div>
      <${ErrorBox} error=${error} />
      <button type="submit" class="primary" disabled=${busy} id="save">${editing ? 'Save' : 'Create'}</button>
    </form>`}
  </main>`;
}

// --- one link: stats, QR, delete -----------------------------------------

const RANGES = {
  '1h': { label: 'Last hour, per minute', ms: 3600e3, interval: 'minute' },
  '24h': { label: 'Last 24 hours, per hour', ms: 86400e3, interval: 'hour' },
  '7d': { label: 'Last 7 days, per hour', ms: 7 * 86400e3, interval: 'hour' },
  '30d': { label: 'Last 30 days, per day', ms: 30 * 86400e3, interval: 'day' },
  '365d': { label: 'Last 365 days, per day', ms: 365 * 86400e3, interval: 'day' },
};

// bar is a row's share drawn behind its label.
const bar = (pct) => `linear-gradient(to right, #dbeafe ${pct.toFixed(1)}%, transparent ${pct.toFixed(1)}%)`;

function Breakdown({ id, title, rows, blank }) {
  const total = rows.reduce((a, r) => a + r.visits, 0);
  return html`<section class="breakdown" aria-labelledby=${id + '-h'}>
    <h3 id=${id + '-h'}>${title}</h3>
    ${rows.length === 0 ? html`<p class="hint">No visits.</p>` : html`
    <table id=${id}>
      <thead><tr><th scope="col">${title}</th><th scope="col" class="num">Visits</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr data-key=${r.key}>
        <th scope="row" style=${{ backgroundImage: bar(total ? (100 * r.visits) / total : 0) }}>${r.key || blank}</th>
        <td class="num" data-visits=${r.visits}>${nf.format(r.visits)}</td></tr>`)}</tbody>
    </table>`}
  </section>`;
}

function Stats({ code }) {
  const [range, setRange] = useState('7d');
  const [stats, setStats] = useState(null);
  const [error, setError] = useState('');
  const [n, setN] = useState(0);
  useEffect(() => {
    const r = RANGES[range];
    const to = new Date();
    const from = new Date(to.getTime() - r.ms);
    const params = new URLSearchParams({ from: from.toISOString().replace(/\.\d+Z$/, 'Z'), interval: r.interval });
    setError('');
    api('GET', '/links/' + encodeURIComponent(code) + '/stats?' + params).then(setStats, (err) => setError(words(err)));
  }, [code, range, n]);
  const peak = stats ? stats.series.reduce((a, p) => Math.max(a, p.visits), 0) : 0;
  return html`<section aria-labelledby="visits-h" id="stats">
    <h2 id="visits-h">Visits</h2>
    <div class="filters">
      <div class="inline">
        <label for="range">Period</label>
        <select id="range" value=${range} onChange=${(e) => setRange(e.target.value)}>
          ${Object.entries(RANGES).map(([k, v]) => html`<option value=${k}>${v.label}</option>`)}
        </select>
      </div>
      <button type="button" onClick=${() => setN(n + 1)} id="refresh">Refresh</button>
    </div>
    <${ErrorBox} error=${error} />
    ${stats && html`
      <p class="total">Total in the period: <strong id="stat-total" data-visits=${stats.total}>${nf.format(stats.total)}</strong>${' · humans '}<strong id="stat-human" data-visits=${stats.bots.human}>${nf.format(stats.bots.human)}</strong>${' · bots '}<strong id="stat-bot" data-visits=${stats.bots.bot}>${nf.format(stats.bots.bot)}</strong></p>
      <${VisitsChart} series=${stats.series} interval=${stats.interval}
        label=${`Visits per ${stats.interval}: ${stats.total} in total, at most ${peak} in one ${stats.interval}`} />
      <div class="grid">
        <${Breakdown} id="referrers" title="Referrers" rows=${stats.referrers} blank="(direct)" />
        <${Breakdown} id="browsers" title="Browsers" rows=${stats.browsers} blank="(unknown)" />
        <${Breakdown} id="os" title="Operating systems" rows=${stats.os} blank="(unknown)" />
        <${Breakdown} id="devices" title="Devices" rows=${stats.devices} blank="(unknown)" />
        <${Breakdown} id="countries" title="Countries" rows=${stats.countries} blank="(unknown)" />
        <${Breakdown} id="bots" title="Bots" rows=${[{ key: 'human', visits: stats.bots.human }, { key: 'bot', visits: stats.bots.bot }]} />
      </div>`}
  </section>`;
}

// DisabledSwitch turns a link off and on (PATCH {"disabled"}; admin and
// links:write): a disabled link answers 410 link_disabled.
function DisabledSwitch({ link, onChange }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const toggle = async () => {
    setBusy(true);
    setError('');
    try {
      onChange(await api('PATCH', '/links/' + encodeURIComponent(link.code), { disabled: !link.disabled }));
    } catch (err) {
      setError(words(err));
    } finally {
      setBusy(false);
    }
  };
  return html`<button type="button" role="switch" class="switch" id="disabled-switch" aria-checked=${link.disabled ? 'true' : 'false'}
      aria-describedby="disabled-state" onClick=${toggle} disabled=${busy}><span>${link.disabled ? 'On' : 'Off'}</span></button>
    <span class="status" role="status" id="disabled-state">${link.disabled ? 'The short URL answers 410 Gone.' : 'The short URL redirects.'}</span>
    <${ErrorBox} error=${error} />`;
}

function LinkPage({ code, flash }) {
  const [link, setLink] = useState(null);
  const [error, setError] = useState('');
  const [confirming, setConfirming] = useState(false);
  useEffect(() => {
    if (can(READ)) api('GET', '/links/' + encodeURIComponent(code)).then(setLink, (err) => setError(words(err)));
  }, [code]);
  const del = async () => {
    try {
      await api('DELETE', '/links/' + encodeURIComponent(code));
      navigate(ROOT, `Deleted /${code}.`);
    } catch (err) {
      setError(words(err));
      setConfirming(false);
    }
  };
  const qr = '/' + encodeURIComponent(code) + '/qr-code';
  return html`<main>
    <p><${Link} href=${ROOT}>← All links</${Link}></p>
    <${Heading}>/${code}</${Heading}>
    ${flash && html`<p class="flash" role="status">${flash}</p>`}
    <${ErrorBox} error=${error} />
    ${!can(READ) && html`<${Lacks} scope=${READ} what="show a link's details" />`}
    ${link && html`
      <div class="detail">
        <dl>
          <dt>Short URL</dt><dd><a href=${link.short_url} id="short-url">${link.short_url}</a> <${CopyButton} text=${link.short_url} /></dd>
          <dt>Long URL</dt><dd class="url" id="long-url">${link.url}</dd>
          ${link.title && html`<dt>Title</dt><dd>${link.title}</dd>`}
          <dt>Tags</dt><dd>${(link.tags || []).length ? link.tags.map((t) => html`<span class="tag">${t}</span>`) : '—'}</dd>
          <dt>Redirect</dt><dd>${link.redirect_status}${link.forward_query ? ', forwards the query string' : ''}</dd>
          <dt>Expires</dt><dd>${fmtDate(link.expires_at)}</dd>
          <dt>Maximum visits</dt><dd>${link.max_visits == null ? '—' : nf.format(link.max_visits)}</dd>
          <dt>All-time visits</dt><dd id="all-visits">${link.visits == null ? 'unavailable' : nf.format(link.visits)}</dd>
          <dt>Created</dt><dd>${fmtDate(link.created_at)}</dd>
          <dt>${can(ADMIN) && can(WRITE) ? html`<label for="disabled-switch">Disabled</label>` : 'Disabled'}</dt>
          <dd>${can(ADMIN) && can(WRITE) ? html`<${DisabledSwitch} link=${link} onChange=${setLink} />` : link.disabled ? 'yes: the short URL answers 410 Gone' : 'no'}</dd>
        </dl>
        <figure class="qr">
          <img src=${qr + '?size=200&margin=12'} width="224" height="224" alt=${'QR code of ' + link.short_url} />
          <figcaption>
            <a href=${qr + '?size=600&margin=40&format=png'} download=${code + '-qr.png'} id="qr-png">Download QR code (PNG)</a><br />
            <a href=${qr + '?size=600&margin=40&format=svg'} download=${code + '-qr.svg'} id="qr-svg">Download QR code (SVG)</a>
          </figcaption>
        </figure>
      </div>
      ${can(WRITE) && html`<p class="actions">
        <${Link} href=${linkPath(code) + '/edit'} class="button" id="edit-link">Edit</${Link}>
        ${confirming
          ? html`<span role="group" aria-label="Confirm delete">Delete /${code} for good? The code is never reused.
              <${FocusedButton} class="danger" onClick=${del} id="confirm-delete">Yes, delete</${FocusedButton}>
              <button type="button" onClick=${() => setConfirming(false)}>Cancel</button></span>`
          : html`<button type="button" class="danger" onClick=${() => setConfirming(true)} id="delete-link">Delete</button>`}
      </p>`}`}
    ${can(STATS) ? html`<${Stats} code=${code} />` : html`<${Lacks} scope=${STATS} what="show visits" />`}
  </main>`;
}

// --- app -----------------------------------------------------------------

// Me loads the logged-in key's scopes (GET /api/v1/key) before any page.
function Me({ onMe }) {
  const [error, setError] = useState('');
  const [n, setN] = useState(0);
  useEffect(() => {
    setError('');
    api('GET', '/key').then(onMe, (err) => setError(words(err)));
  }, [n]);
  return html`<main class="narrow"><${ErrorBox} error=${error} />
    ${error ? html`<button type="button" onClick=${() => setN(n + 1)} id="retry">Try again</button>` : html`<p aria-busy="true">Loading…</p>`}</main>`;
}

function App() {
  const [authed, setAuthed] = useState(!!getKey());
  const [me, setMeState] = useState(null);
  const setMe = (k) => {
    scopes = new Set((k && k.scopes) || []);
    setMeState(k);
  };
  const [notice, setNotice] = useState('');
  const [route, setRoute] = useState(currentRoute());
  setRouteGlobal = setRoute;
  useEffect(() => {
    const onPop = () => setRoute({ ...currentRoute(), flash: '' });
    addEventListener('popstate', onPop);
    // A key that stops working (revoked) sends the person back to log in.
    const onUnauth = () => {
      setNotice('The server no longer accepts your API key (it may have been revoked). Log in again.');
      setMe(null);
      setAuthed(false);
    };
    addEventListener('minibitly:unauthorized', onUnauth);
    return () => {
      removeEventListener('popstate', onPop);
      removeEventListener('minibitly:unauthorized', onUnauth);
    };
  }, []);
  if (!authed) return html`<${Login} notice=${notice} onLogin=${(k) => { setNotice(''); setMe(k); setAuthed(true); }} />`;
  if (!me) return html`<${Me} onMe=${setMe} />`;
  const logout = () => {
    clearKey();
    setMe(null);
    setAuthed(false);
  };
  let page;
  switch (route.name) {
    case 'new': page = html`<${LinkForm} key="new" />`; break;
    case 'edit': page = html`<${LinkForm} key=${'edit-' + route.code} code=${route.code} />`; break;
    case 'link': page = html`<${LinkPage} key=${'link-' + route.code} code=${route.code} flash=${route.flash} />`; break;
    default: page = html`<${LinkList} key="list" flash=${route.flash} />`;
  }
  return html`<div>
    <a href="#content" class="skip">Skip to content</a>
    <header>
      <${Link} href=${ROOT} class="brand">Mini Bitly</${Link}>
      <nav aria-label="Main"><${Link} href=${ROOT}>Links</${Link}> ${can(WRITE) && html`<${Link} href=${ROOT + 'new'}>New link</${Link}>`}
        <span class="hint" id="key-info">Key ${me.name}: ${me.scopes.join(', ')}</span>
        <button type="button" onClick=${logout} id="logout">Log out</button></nav>
    </header>
    <div id="content">${page}</div>
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));

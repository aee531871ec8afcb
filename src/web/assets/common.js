// Shared by the agent desk and the wallboard: the JSON API client (session cookie + CSRF
// header), the login form, the self-reconnecting WebSocket, timers and formatting helpers.

import { html, useState, useEffect, useRef } from './vendor/preact-htm.mjs';

export { html, render, useState, useEffect, useRef, useReducer } from './vendor/preact-htm.mjs';

// ---- HTTP API ---------------------------------------------------------------------------

let csrf = null;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function request(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'The server cannot be reached');
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!res.ok) {
    const message = (data && data.error) || text || `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, message);
  }
  return data;
}

export const api = {
  get: (path) => request('GET', path),
  post: (path, body = {}) => request('POST', path, body),
};

// The session: the cookie is the browser's business, the CSRF token is kept here.
export async function currentUser() {
  try {
    const me = await api.get('/desk/api/me');
    csrf = me.csrf;
    return me;
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}

export async function logIn(login, password) {
  const me = await request('POST', '/desk/api/login', { login, password });
  csrf = me.csrf;
  return me;
}

export async function signOut() {
  try { await api.post('/desk/api/logout'); } finally { csrf = null; }
}

// useSession() -> { user: undefined (loading) | null (logged out) | me, setUser, error }
export function useSession() {
  const [user, setUser] = useState(undefined);
  const [error, setError] = useState(null);
  useEffect(() => {
    currentUser().then(setUser, (e) => { setError(e.message); setUser(null); });
  }, []);
  return { user, setUser, error };
}

export function LoginForm({ title, subtitle, onLogin }) {
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function submit(ev) {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onLogin(await logIn(login.trim(), password));
    } catch (e) {
      setError(e.message);
      setPassword('');
    } finally {
      setBusy(false);
    }
  }

  return html`
    <main class="login-page">
      <form class="card login-card" data-testid="login-form" id="login-form" onSubmit=${submit}>
        <div class="brand brand-large"><span class="brand-mark">H</span> Hotline</div>
        <h1>${title}</h1>
        ${subtitle && html`<p class="muted">${subtitle}</p>`}
        <label for="login">Login</label>
        <input id="login" name="login" data-testid="login" autocomplete="username" required
               value=${login} onInput=${(e) => setLogin(e.target.value)} />
        <label for="password">Password</label>
        <input id="password" name="password" data-testid="password" type="password"
               autocomplete="current-password" required
               value=${password} onInput=${(e) => setPassword(e.target.value)} />
        ${error && html`<p class="form-error" role="alert" data-testid="login-error" id="login-error">${error}</p>`}
        <button class="btn btn-primary btn-block" type="submit" data-testid="login-submit" disabled=${busy}>
          ${busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>`;
}

// ---- WebSocket --------------------------------------------------------------------------

const PING_EVERY_MS = 20000;
const PONG_WITHIN_MS = 10000;

// Connects to /desk/ws and keeps reconnecting (0.5 s doubling to 5 s) until close() is
// called. Every message is passed to onMessage(msg, receivedAt); onStatus gets 'connecting',
// 'open' or 'reconnecting'; onUnauthorized is called (and reconnecting stops) when the
// socket dropped because the web session is gone.
export function connectSocket({ onMessage, onStatus, onUnauthorized }) {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/desk/ws`;
  let ws = null;
  let delay = 500;
  let closed = false;
  let retryTimer = null;
  let pingTimer = null;
  let pongTimer = null;

  function open() {
    if (closed) return;
    ws = new WebSocket(url);
    ws.onopen = () => {
      delay = 500;
      onStatus('open');
      pingTimer = setInterval(ping, PING_EVERY_MS);
    };
    ws.onmessage = (ev) => {
      const receivedAt = Date.now();
      let msg;
      try { msg = JSON.parse(ev.data); } catch { msg = { type: 'unparsable', data: String(ev.data) }; }
      if (msg.type === 'pong') { clearTimeout(pongTimer); pongTimer = null; }
      onMessage(msg, receivedAt);
    };
    ws.onclose = () => {
      clearInterval(pingTimer);
      clearTimeout(pongTimer);
      ws = null;
      if (closed) return;
      onStatus('reconnecting');
      // A refused upgrade looks like any other drop: ask whether the session still stands.
      currentUser().then(
        (me) => {
          if (me) return schedule();
          closed = true;
          if (onUnauthorized) onUnauthorized();
        },
        () => schedule(), // server down: keep trying
      );
    };
  }

  function schedule() {
    if (closed) return;
    retryTimer = setTimeout(open, delay);
    delay = Math.min(delay * 2, 5000);
  }

  function ping() {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify({ type: 'ping' }));
    if (!pongTimer) pongTimer = setTimeout(() => ws && ws.close(), PONG_WITHIN_MS);
  }

  onStatus('connecting');
  open();
  return {
    close() {
      closed = true;
      clearTimeout(retryTimer);
      clearInterval(pingTimer);
      clearTimeout(pongTimer);
      if (ws) ws.close();
    },
  };
}

// useSocket(enabled, onMessage, onUnauthorized) -> 'connecting' | 'open' | 'reconnecting' | 'off'
export function useSocket(enabled, onMessage, onUnauthorized) {
  const [status, setStatus] = useState('off');
  const handlers = useRef({});
  handlers.current = { onMessage, onUnauthorized };
  useEffect(() => {
    if (!enabled) return undefined;
    const socket = connectSocket({
      onMessage: (msg, at) => handlers.current.onMessage(msg, at),
      onStatus: setStatus,
      onUnauthorized: () => handlers.current.onUnauthorized && handlers.current.onUnauthorized(),
    });
    return () => { socket.close(); setStatus('off'); };
  }, [enabled]);
  return status;
}

export function ConnectionBanner({ status }) {
  if (status !== 'reconnecting') return null;
  return html`<div class="banner banner-warn" role="status" data-testid="ws-banner" id="ws-banner">
    <span class="spinner"></span> Connection to Hotline lost — reconnecting…
  </div>`;
}

// ---- Time and formatting ----------------------------------------------------------------

// Re-renders the calling component every `ms` and returns Date.now().
export function useNow(ms = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

export function parseTime(s) {
  const t = s ? Date.parse(s) : NaN;
  return Number.isNaN(t) ? null : t;
}

// 75 -> "1:15", 3725 -> "1:02:05"
export function duration(secs) {
  if (secs === null || secs === undefined || Number.isNaN(secs)) return '—';
  const s = Math.max(0, Math.floor(secs));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

// Seconds since an RFC 3339 time, or null.
export function secondsSince(s, now = Date.now()) {
  const t = parseTime(s);
  return t === null ? null : (now - t) / 1000;
}

export function percent(x) {
  return x === null || x === undefined ? '—' : `${Math.round(x * 100)}%`;
}

export function clockTime(s) {
  const t = parseTime(s);
  return t === null ? '—' : new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function dateTime(s) {
  const t = parseTime(s);
  return t === null ? (s || '—') : new Date(t).toLocaleString([], {
    month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
  });
}

export const stateLabels = {
  logged_out: 'Logged out',
  available: 'Available',
  offered: 'Ringing',
  on_call: 'On call',
  wrap_up: 'Wrap-up',
  away: 'Away',
  unregistered: 'No phone',
};

export const humanize = (code) => String(code ?? '').replace(/_/g, ' ');

// The status pill shows the state name exactly as the ACD reports it.
export function StatePill({ state, testid, title }) {
  const known = state || 'unknown';
  return html`<span class=${`pill pill-${known}`} data-testid=${testid} title=${title || stateLabels[known] || known}>${known}</span>`;
}

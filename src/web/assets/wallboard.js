// Hotline supervisor wallboard (/wallboard): live queue tiles, every agent's state with
// supervisor actions, and a chart of waiting callers and service level over the day.

import uPlot from './vendor/uplot.mjs';
import {
  html, render, useState, useEffect, useRef, useReducer,
  api, useSession, signOut, LoginForm, useSocket, ConnectionBanner, useNow,
  duration, secondsSince, parseTime, percent, humanize, StatePill, stateLabels,
} from './common.js';

// Received WebSocket messages (the most recent ones), for debugging and tests.
window.hotlineWallboard = { events: [] };
const KEEP_EVENTS = 1000;

// ---- State ------------------------------------------------------------------------------

const initial = { hello: null, agents: {}, figures: null, live: [] };

// A figures message as a history point: { at, queues: { name: { waiting, service_level } } }.
const asPoint = (f) => ({
  at: f.at,
  queues: Object.fromEntries(f.queues.map((q) => [q.queue, { waiting: q.waiting, service_level: q.service_level }])),
});

function reducer(s, action) {
  switch (action.type) {
    case 'hello':
      return { ...s, hello: action.msg };
    case 'agent':
      return { ...s, agents: { ...s.agents, [action.msg.agent.agent]: action.msg } };
    case 'figures':
      return { ...s, figures: action.msg, live: [...s.live, asPoint(action.msg)].slice(-3600) };
    case 'history': {
      // History now covers what the live figures added before its last point.
      const last = action.points.length ? parseTime(action.points[action.points.length - 1].at) : null;
      const live = last === null ? s.live : s.live.filter((p) => parseTime(p.at) > last);
      return { ...s, live };
    }
    default:
      return s;
  }
}

// ---- Page -------------------------------------------------------------------------------

function App() {
  const { user, setUser } = useSession();
  const [refused, setRefused] = useState(false);
  const signedOut = () => { setRefused(false); setUser(null); };
  if (user === undefined) return html`<div class="loading">Loading…</div>`;
  if (user === null) {
    return html`<${LoginForm} title="Wallboard" subtitle="For supervisors: sign in with your supervisor login." onLogin=${setUser} />`;
  }
  if (user.role !== 'supervisor' || refused) return html`<${SupervisorsOnly} user=${user} onSignedOut=${signedOut} />`;
  return html`<${Wallboard} user=${user} onSignedOut=${signedOut} onRefused=${() => setRefused(true)} />`;
}

function SupervisorsOnly({ user, onSignedOut }) {
  return html`<main class="login-page">
    <div class="card login-card" data-testid="supervisors-only" role="alert">
      <div class="brand brand-large"><span class="brand-mark">H</span> Hotline</div>
      <h1>Supervisors only</h1>
      <p>You are signed in as <strong>${user.display_name || user.login}</strong> (${user.role}).
         The wallboard is for supervisors.</p>
      <div class="actions">
        <a class="btn btn-primary" href="/desk">Go to the agent desk</a>
        <button class="btn btn-quiet" data-testid="sign-out"
                onClick=${async () => { await signOut().catch(() => {}); onSignedOut(); }}>Sign out</button>
      </div>
    </div>
  </main>`;
}

function Wallboard({ user, onSignedOut, onRefused }) {
  const [s, dispatch] = useReducer(reducer, initial);
  const [history, setHistory] = useState([]);
  const [historyError, setHistoryError] = useState(null);
  const [error, setError] = useState(null);
  const now = useNow();

  const status = useSocket(true, (msg, receivedAt) => {
    const events = window.hotlineWallboard.events;
    events.push({ receivedAt, message: msg });
    if (events.length > KEEP_EVENTS) events.splice(0, events.length - KEEP_EVENTS);
    if (msg.type === 'hello' || msg.type === 'figures') dispatch({ type: msg.type, msg });
    else if (msg.type === 'agent' && msg.agent) dispatch({ type: 'agent', msg });
    else if (msg.type === 'error') console.warn('wallboard socket:', msg.message);
  }, onSignedOut);

  // The day's history, refreshed each minute.
  useEffect(() => {
    let stop = false;
    async function load() {
      try {
        const { points } = await api.get('/desk/api/history');
        if (stop) return;
        setHistory(points || []);
        setHistoryError(null);
        dispatch({ type: 'history', points: points || [] });
      } catch (e) {
        if (e.status === 401) onSignedOut();
        else if (e.status === 403) onRefused();
        else setHistoryError(e.message);
      }
    }
    load();
    const t = setInterval(load, 60000);
    return () => { stop = true; clearInterval(t); };
  }, []);

  async function force(login, body) {
    setError(null);
    try {
      await api.post(`/desk/api/agents/${encodeURIComponent(login)}/state`, body);
    } catch (e) {
      if (e.status === 401) onSignedOut();
      else setError(`${login}: ${e.message}`);
    }
  }

  const queues = s.figures ? s.figures.queues : [];
  const agents = Object.values(s.agents).sort((a, b) => a.agent.agent.localeCompare(b.agent.agent));
  const reasons = (s.hello && s.hello.away_reasons) || [];

  return html`
    <header class="topbar">
      <div class="brand"><span class="brand-mark">H</span> Hotline <span class="brand-sub">Wallboard</span></div>
      <div class="topbar-agent">
        <span class="clock">${new Date(now).toLocaleTimeString()}</span>
        <span class=${`conn conn-${status}`} title=${`Live updates: ${status}`}></span>
      </div>
      <div class="topbar-actions">
        <span class="agent-name">${user.display_name || user.login}</span>
        <a class="link link-light" href="/desk">Agent desk</a>
        <button class="link link-light" data-testid="sign-out"
                onClick=${async () => { await signOut().catch(() => {}); onSignedOut(); }}>Sign out</button>
      </div>
    </header>
    <${ConnectionBanner} status=${status} />
    ${error && html`<div class="banner banner-error" role="alert">${error}
      <button class="link" onClick=${() => setError(null)}>Dismiss</button></div>`}
    <main class="wall">
      <section class="tiles">
        ${queues.length
          ? queues.map((q) => html`<${QueueTile} key=${q.queue} q=${q} />`)
          : html`<div class="card card-empty">Waiting for the first figures…</div>`}
      </section>
      <section class="card agents-card">
        <div class="card-head"><h2>Agents</h2><span class="muted">${agents.length} known</span></div>
        <${AgentsTable} agents=${agents} reasons=${reasons} now=${now} force=${force} />
      </section>
      <section class="card chart-card">
        <div class="card-head"><h2>Today</h2><span class="muted">waiting callers (solid) and service level % (dashed)</span></div>
        ${historyError && html`<p class="form-error">History unavailable: ${historyError}</p>`}
        <${Chart} points=${history.concat(s.live)} />
      </section>
    </main>`;
}

// ---- Queue tiles ------------------------------------------------------------------------

const AGENT_STATES = ['available', 'offered', 'on_call', 'wrap_up', 'away', 'logged_out', 'unregistered'];

function QueueTile({ q }) {
  const name = q.queue;
  const late = q.waiting > 0 && q.longest_wait_secs > q.service_level_threshold_secs;
  const agents = q.agents || {};
  return html`<article class="card tile" data-testid=${`queue-${name}`}>
    <header class="tile-head">
      <h2>${name}</h2>
      <span class=${`badge ${q.open ? 'badge-ok' : 'badge-muted'}`}>${q.open ? 'Open' : 'Closed'}</span>
    </header>
    <div class="metrics">
      <div class=${`metric ${q.waiting > 0 ? 'metric-hot' : ''}`}>
        <span class="metric-value" data-testid=${`q-waiting-${name}`}>${q.waiting}</span>
        <span class="metric-label">Waiting</span>
      </div>
      <div class=${`metric ${late ? 'metric-bad' : ''}`}>
        <span class="metric-value" data-testid=${`q-longest-${name}`}>${duration(q.longest_wait_secs)}</span>
        <span class="metric-label">Longest wait</span>
      </div>
      <div class="metric">
        <span class="metric-value" data-testid=${`q-sl-${name}`}>${percent(q.service_level)}</span>
        <span class="metric-label">Service level (≤ ${q.service_level_threshold_secs} s)</span>
      </div>
    </div>
    <dl class="stats">
      <div><dt>ASA</dt><dd data-testid=${`q-asa-${name}`}>${duration(q.average_speed_of_answer_secs)}</dd></div>
      <div><dt>Offered</dt><dd data-testid=${`q-offered-${name}`}>${q.offered}</dd></div>
      <div><dt>Answered</dt><dd data-testid=${`q-answered-${name}`}>${q.answered}</dd></div>
      <div><dt>Abandoned</dt><dd data-testid=${`q-abandoned-${name}`}>${q.abandoned}</dd></div>
      <div><dt>Ringing</dt><dd>${q.ringing}</dd></div>
      <div><dt>Callbacks</dt><dd title="waiting for a callback">${q.waiting_for_callback}</dd></div>
    </dl>
    <div class="agent-counts">
      ${AGENT_STATES.map((st) => html`<span class=${`count count-${st} ${agents[st] ? '' : 'count-zero'}`}
          title=${stateLabels[st]}><b>${agents[st] || 0}</b> ${stateLabels[st]}</span>`)}
    </div>
  </article>`;
}

// ---- Agents -----------------------------------------------------------------------------

function AgentsTable({ agents, reasons, now, force }) {
  if (!agents.length) return html`<p class="muted" data-testid="agents-table">No agents yet.</p>`;
  return html`<table class="list agents" data-testid="agents-table">
    <thead><tr><th>Agent</th><th>State</th><th>Since</th><th>Detail</th><th>Queues</th><th class="actions-col">Actions</th></tr></thead>
    <tbody>
      ${agents.map(({ agent: a, since }) => {
        const login = a.agent;
        let detail = '';
        if (a.state === 'away') detail = humanize(a.reason || '');
        else if (a.state === 'wrap_up' && a.until) detail = `ends in ${duration((parseTime(a.until) - now) / 1000)}`;
        return html`<tr key=${login} data-testid=${`agent-row-${login}`}>
          <td class="agent-login">${login}${a.registered === false && html` <span class="badge badge-warn" title="No registered phone">no phone</span>`}</td>
          <td><${StatePill} state=${a.state} testid=${`agent-state-${login}`} /></td>
          <td class="mono since">for ${duration(secondsSince(since, now))}</td>
          <td>${detail}</td>
          <td class="cell-queues">${(a.queues || []).map((q) => html`<span class="chip">${q}</span>`)}</td>
          <td><div class="row-actions">
            <button class="btn btn-small btn-ok" data-testid=${`force-available-${login}`}
                    disabled=${a.state === 'available'} onClick=${() => force(login, { state: 'available' })}>Make available</button>
            <select class="btn-small" data-testid=${`force-away-${login}`} aria-label=${`Put ${login} away`} value=""
                    onChange=${(e) => { const reason = e.target.value; e.target.value = ''; if (reason) force(login, { state: 'away', reason }); }}>
              <option value="">Away…</option>
              ${reasons.map((r) => html`<option value=${r}>${humanize(r)}</option>`)}
            </select>
            <button class="btn btn-small btn-quiet" data-testid=${`force-logout-${login}`}
                    disabled=${a.state === 'logged_out'} onClick=${() => force(login, { state: 'logged_out' })}>Log out</button>
          </div></td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}

// ---- Chart ------------------------------------------------------------------------------

const COLOURS = ['#2563eb', '#0d9488', '#d97706', '#9333ea', '#dc2626', '#4b5563'];

// points: [{ at, queues: { name: { waiting, service_level } } }] -> uPlot's columns.
function columns(points) {
  const names = [...new Set(points.flatMap((p) => Object.keys(p.queues || {})))].sort();
  const rows = points.map((p) => [parseTime(p.at), p]).filter(([t]) => t !== null).sort((a, b) => a[0] - b[0]);
  const data = [rows.map(([t]) => t / 1000)];
  for (const n of names) {
    data.push(rows.map(([, p]) => (p.queues[n] ? p.queues[n].waiting : null)));
    data.push(rows.map(([, p]) => {
      const sl = p.queues[n] ? p.queues[n].service_level : null;
      return sl === null || sl === undefined ? null : sl * 100;
    }));
  }
  return { names, data };
}

function chartOptions(names, width) {
  const series = [{}];
  names.forEach((n, i) => {
    const stroke = COLOURS[i % COLOURS.length];
    series.push({ label: `${n} waiting`, scale: 'callers', stroke, width: 2, value: (u, v) => (v === null ? '—' : v) });
    series.push({ label: `${n} SL`, scale: '%', stroke, width: 1.5, dash: [6, 4], spanGaps: true,
                  value: (u, v) => (v === null ? '—' : `${Math.round(v)}%`) });
  });
  return {
    width,
    height: 280,
    series,
    scales: {
      x: { time: true },
      callers: { range: (u, min, max) => [0, Math.max(4, Math.ceil((max || 0) * 1.2))] },
      '%': { range: [0, 100] },
    },
    axes: [
      { stroke: '#64748b', grid: { stroke: '#eef2f7' } },
      { scale: 'callers', label: 'Waiting', stroke: '#64748b', grid: { stroke: '#eef2f7' } },
      { scale: '%', label: 'Service level %', side: 1, stroke: '#64748b', grid: { show: false } },
    ],
    legend: { live: true },
  };
}

function Chart({ points }) {
  const box = useRef(null);
  const plot = useRef(null);
  const { names, data } = columns(points);
  const key = names.join('\n');

  useEffect(() => {
    const width = Math.max(300, box.current.clientWidth);
    plot.current = new uPlot(chartOptions(names, width), data, box.current);
    const resize = new ResizeObserver(() => {
      if (plot.current) plot.current.setSize({ width: Math.max(300, box.current.clientWidth), height: 280 });
    });
    resize.observe(box.current);
    return () => { resize.disconnect(); plot.current.destroy(); plot.current = null; };
  }, [key]); // a new set of queues needs new series

  useEffect(() => { if (plot.current) plot.current.setData(data); });

  return html`<div class="chart" data-testid="chart" ref=${box}></div>`;
}

render(html`<${App} />`, document.getElementById('app'));

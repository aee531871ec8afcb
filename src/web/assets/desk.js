// Hotline agent desk (/desk): sign-in, the agent's ACD status, the ringing offer with the
// caller's context, the call timer and the wrap-up form. The ACD is the truth: the status
// shown is the last one the WebSocket reported, never the answer to a POST.

import {
  html, render, useState, useEffect, useReducer,
  api, useSession, signOut, LoginForm, useSocket, ConnectionBanner, useNow,
  duration, secondsSince, parseTime, percent, dateTime, clockTime, humanize, StatePill,
} from './common.js';

// Every WebSocket message received, with when (the browser test reads it).
window.hotlineDesk = { events: [] };

// ---- State ------------------------------------------------------------------------------
// agent: the last `agent` message about us; call: the offer we have a context for, kept
// through on_call and wrap_up (and afterwards, as the last call, until the next offer).

const initial = { hello: null, agent: null, call: null, notice: null };

const sameCall = (call, agent) => !agent.call || agent.call === call.offer.call;

function reducer(s, action) {
  switch (action.type) {
    case 'hello':
      return { ...s, hello: action.msg };
    case 'agent': {
      const a = action.msg.agent;
      let { call } = s;
      let notice = a.state === 'offered' || a.state === 'on_call' ? null : s.notice;
      if (call && !call.answered) {
        if (a.state === 'on_call' && sameCall(call, a)) call = { ...call, answered: true };
        else if (a.state !== 'offered' || !sameCall(call, a)) {
          notice = `The call from ${callerNumber(call)} was not taken (declined, missed or hung up).`;
          call = null;
        }
      }
      return { ...s, agent: action.msg, call, notice };
    }
    case 'offer': {
      // On (re)connecting, the server sends the present again: the agent's state, then the
      // offer they are still busy with (ringing, on the call or wrapping it up).
      if (s.call && s.call.offer.call === action.msg.call) return { ...s, call: { ...s.call, offer: action.msg } };
      const a = s.agent && s.agent.agent;
      const answered = !!a && ((a.state === 'on_call' && a.call === action.msg.call) || a.state === 'wrap_up');
      return { ...s, call: { offer: action.msg, answered, saved: null }, notice: null };
    }
    case 'saved':
      return s.call ? { ...s, call: { ...s.call, saved: action.disposition } } : s;
    case 'dismiss':
      return { ...s, call: null, notice: null };
    default:
      return s;
  }
}

const callerNumber = (call) => (call.offer.context && call.offer.context.caller && call.offer.context.caller.number) || 'an unknown number';

// ---- Page -------------------------------------------------------------------------------

function App() {
  const { user, setUser } = useSession();
  if (user === undefined) return html`<div class="loading">Loading…</div>`;
  if (user === null) {
    return html`<${LoginForm} title="Agent desk" subtitle="Sign in with your agent login." onLogin=${setUser} />`;
  }
  return html`<${Desk} user=${user} onSignedOut=${() => setUser(null)} />`;
}

function Desk({ user, onSignedOut }) {
  const [s, dispatch] = useReducer(reducer, initial);
  const [error, setError] = useState(null);
  const [pending, setPending] = useState(null);

  const status = useSocket(true, (msg, receivedAt) => {
    window.hotlineDesk.events.push({ receivedAt, message: msg });
    if (msg.type === 'hello') dispatch({ type: 'hello', msg });
    else if (msg.type === 'agent' && msg.agent && msg.agent.agent === user.login) dispatch({ type: 'agent', msg });
    else if (msg.type === 'offer') dispatch({ type: 'offer', msg });
    else if (msg.type === 'error') console.warn('desk socket:', msg.message);
  }, onSignedOut);

  // A state request is pending until the ACD reports the agent again.
  useEffect(() => setPending(null), [s.agent]);

  async function act(label, path, body) {
    setError(null);
    setPending(label);
    try {
      await api.post(path, body);
      return true;
    } catch (e) {
      setPending(null);
      if (e.status === 401) onSignedOut();
      else setError(e.message);
      return false;
    }
  }

  const setState = (body, label) => act(label, '/desk/api/state', body);
  const agent = s.agent && s.agent.agent;
  const state = agent ? agent.state : null;

  // The call whose context is shown now.
  let call = null;
  if (s.call && agent) {
    if (state === 'offered') call = !s.call.answered && sameCall(s.call, agent) ? s.call : null;
    else if (state === 'on_call') call = sameCall(s.call, agent) ? s.call : null;
    else call = s.call.answered ? s.call : null;
  }

  return html`
    <${Header} user=${user} hello=${s.hello} agent=${agent} pending=${pending}
               onState=${setState} onSignOut=${async () => { await signOut().catch(() => {}); onSignedOut(); }} />
    <${ConnectionBanner} status=${status} />
    ${error && html`<div class="banner banner-error" role="alert" data-testid="desk-error">
      ${error} <button class="link" onClick=${() => setError(null)}>Dismiss</button></div>`}
    <main class="desk">
      <section class="desk-main">
        ${s.notice && html`<div class="notice" data-testid="desk-notice">${s.notice}</div>`}
        <${CallPanel} agentMsg=${s.agent} call=${call} hello=${s.hello} act=${act}
                      onSaved=${(d) => dispatch({ type: 'saved', disposition: d })}
                      onDismiss=${() => dispatch({ type: 'dismiss' })} />
      </section>
      <section class="desk-side">
        ${call && call.offer.context
          ? html`<${ContextCard} ctx=${call.offer.context} />`
          : html`<div class="card card-empty"><h2>Caller context</h2>
              <p class="muted">The caller's details from the IVR appear here when a call rings.</p></div>`}
      </section>
    </main>`;
}

function Header({ user, hello, agent, pending, onState, onSignOut }) {
  const reasons = (hello && hello.away_reasons) || [];
  const [reason, setReason] = useState('');
  const chosen = reason || reasons[0] || '';
  const state = agent ? agent.state : null;
  return html`
    <header class="topbar">
      <div class="brand"><span class="brand-mark">H</span> Hotline <span class="brand-sub">Agent desk</span></div>
      <div class="topbar-agent">
        <span class="agent-name" data-testid="agent-name">${user.display_name || user.login}</span>
        <${StatePill} state=${state || 'connecting'} testid="status-pill" />
        ${state === 'away' && agent.reason && html`<span class="muted-light">${humanize(agent.reason)}</span>`}
        ${pending && html`<span class="muted-light pending">${pending}…</span>`}
      </div>
      <div class="topbar-actions">
        <div class="status-control" role="group" aria-label="Your status">
          <button class="btn btn-ok" id="go-available" data-testid="go-available"
                  disabled=${state === 'available'} onClick=${() => onState({ state: 'available' }, 'Going available')}>Available</button>
          <span class="away-group">
            <select id="away-reason" data-testid="away-reason" aria-label="Away reason" value=${chosen}
                    onChange=${(e) => setReason(e.target.value)}>
              ${reasons.map((r) => html`<option value=${r}>${humanize(r)}</option>`)}
            </select>
            <button class="btn btn-warn" id="go-away" data-testid="go-away" disabled=${!chosen}
                    onClick=${() => onState({ state: 'away', reason: chosen }, 'Going away')}>Away</button>
          </span>
          <button class="btn btn-quiet" id="go-logged-out" data-testid="go-logged-out"
                  disabled=${state === 'logged_out'}
                  onClick=${() => onState({ state: 'logged_out' }, 'Logging out of queues')}>Log out of queues</button>
        </div>
        <button class="link link-light" data-testid="sign-out" onClick=${onSignOut}>Sign out</button>
      </div>
    </header>`;
}

// ---- The call column --------------------------------------------------------------------

function CallPanel({ agentMsg, call, hello, act, onSaved, onDismiss }) {
  if (!agentMsg) {
    return html`<div class="card"><h2>Connecting to the ACD…</h2>
      <p class="muted">Your status appears as soon as Hotline reports it.</p></div>`;
  }
  const agent = agentMsg.agent;
  const phone = agent.registered === false && html`<div class="notice notice-warn">
    Your phone is not registered with Hotline: calls cannot reach you until it is.</div>`;

  switch (agent.state) {
    case 'offered':
      return html`${phone}<${OfferCard} agent=${agent} call=${call} act=${act} />`;
    case 'on_call':
      return html`<${OnCallCard} agentMsg=${agentMsg} call=${call} />`;
    case 'wrap_up':
      return call
        ? html`<${WrapUp} key=${call.offer.call} call=${call} hello=${hello} until=${agent.until} act=${act} onSaved=${onSaved} />`
        : html`<div class="card"><h2>Wrap-up</h2><${UntilCountdown} until=${agent.until} />
            <p class="muted">There is no context for this call in this window (the page was reloaded).</p></div>`;
    default:
      return html`${phone}<${IdleCard} agentMsg=${agentMsg} />
        ${call && html`<${WrapUp} key=${call.offer.call} call=${call} hello=${hello} act=${act}
                                  onSaved=${onSaved} onDismiss=${onDismiss} last />`}`;
  }
}

function IdleCard({ agentMsg }) {
  const now = useNow();
  const agent = agentMsg.agent;
  const since = duration(secondsSince(agentMsg.since, now));
  const text = {
    available: ['Ready for calls', 'Waiting for the next caller. Calls ring on your phone.'],
    away: [`Away${agent.reason ? ` — ${humanize(agent.reason)}` : ''}`, 'You are offered no calls. Choose Available when you are back.'],
    logged_out: ['Logged out of your queues', 'Choose Available to start taking calls.'],
  }[agent.state] || [humanize(agent.state), ''];
  return html`<div class=${`card idle idle-${agent.state}`} data-testid="idle-card">
    <div class="idle-head"><h2>${text[0]}</h2><span class="muted">for ${since}</span></div>
    <p class="muted">${text[1]}</p>
    ${agent.queues && agent.queues.length > 0 && html`<p class="queues">Queues: ${agent.queues.map((q) => html`<span class="chip">${q}</span>`)}</p>`}
  </div>`;
}

function OfferCard({ agent, call, act }) {
  const now = useNow(250);
  const offer = call && call.offer;
  const [declining, setDeclining] = useState(false);
  const total = offer ? offer.ring_timeout_secs : null;
  const left = offer ? Math.min(total, Math.max(0, total - secondsSince(offer.offered_at, now))) : null;
  const ctx = (offer && offer.context) || {};
  const caller = ctx.caller || {};

  async function decline() {
    setDeclining(true);
    if (!(await act('Declining', '/desk/api/decline', { call: offer ? offer.call : agent.call }))) setDeclining(false);
  }

  return html`<div class="card offer-card" data-testid="offer-card" id="offer-card">
    <div class="offer-head">
      <span class="ring-icon" aria-hidden="true"></span>
      <div>
        <div class="eyebrow">Incoming call${offer ? ` · ${offer.queue}` : ''}</div>
        <div class="offer-caller">${caller.number || (offer ? 'Unknown number' : 'Details arriving…')}</div>
        ${caller.name && html`<div class="offer-name">${caller.name}</div>`}
      </div>
      <div class="countdown" aria-label="Seconds left to answer">
        <span data-testid="countdown" id="countdown">${left === null ? '—' : Math.ceil(left)}</span><small>s</small>
      </div>
    </div>
    ${left !== null && html`<div class="meter"><div class="meter-fill" style=${{ width: `${(left / total) * 100}%` }}></div></div>`}
    <p class="hint"><strong>Answer on your phone.</strong> The call is ringing on your SIP phone; the audio is there.</p>
    <div class="actions">
      <!-- The WebRTC phone will enable this button. -->
      <button class="btn btn-primary" data-testid="accept" disabled
              title="Answering in the browser comes with the WebRTC phone: answer on your SIP phone for now">Accept</button>
      <button class="btn btn-danger" data-testid="decline" id="decline" disabled=${declining} onClick=${decline}>
        ${declining ? 'Declining…' : 'Decline'}</button>
    </div>
  </div>`;
}

function OnCallCard({ agentMsg, call }) {
  const now = useNow();
  const caller = (call && call.offer.context && call.offer.context.caller) || {};
  return html`<div class="card oncall-card" data-testid="oncall-card">
    <div class="eyebrow">On call${call ? ` · ${call.offer.queue}` : ''}</div>
    <div class="oncall-row">
      <div>
        <div class="offer-caller">${caller.number || 'Caller'}</div>
        ${caller.name && html`<div class="offer-name">${caller.name}</div>`}
      </div>
      <div class="timer" data-testid="call-timer" id="call-timer">${duration(secondsSince(agentMsg.since, now))}</div>
    </div>
    <p class="hint">Talking on your phone. Hang up there to end the call; wrap-up follows.</p>
  </div>`;
}

function UntilCountdown({ until }) {
  const now = useNow();
  const t = parseTime(until);
  if (t === null) return null;
  return html`<p class="wrapup-left">Wrap-up ends in <strong data-testid="wrapup-countdown">${duration((t - now) / 1000)}</strong></p>`;
}

function WrapUp({ call, hello, until, act, onSaved, onDismiss, last }) {
  const dispositions = (hello && hello.dispositions) || [];
  const [disposition, setDisposition] = useState('');
  const [notes, setNotes] = useState('');
  const [busy, setBusy] = useState(false);
  // The ticket is opened while the call rings, so the context pushed with the offer may not
  // name it yet: ask for the context again.
  const known = call.offer.context ? call.offer.context.ticket_id : null;
  const [fetched, setFetched] = useState(null);
  useEffect(() => {
    if ((known !== null && known !== undefined) || !call.offer.token) return undefined;
    let gone = false;
    fetch(`/desk/api/contexts/${call.offer.token}`, { credentials: 'same-origin' })
      .then((r) => (r.ok ? r.json() : null))
      .then((c) => { if (!gone && c && Number.isInteger(c.ticket_id)) setFetched(c.ticket_id); })
      .catch(() => {});
    return () => { gone = true; };
  }, [call.offer.token, known]);
  const ticket = known ?? fetched;

  async function save(ev) {
    ev.preventDefault();
    setBusy(true);
    const ok = await act('Saving wrap-up', '/desk/api/wrapup', { ticket, disposition, notes });
    setBusy(false);
    if (ok) onSaved(disposition);
  }

  const title = last ? 'Last call' : 'Wrap-up';
  if (call.saved) {
    return html`<div class="card wrapup-card">
      <div class="card-head"><h2>${title}</h2>${onDismiss && html`<button class="link" onClick=${onDismiss}>Dismiss</button>`}</div>
      <p class="saved" data-testid="wrapup-saved" id="wrapup-saved">Saved — ${humanize(call.saved)}, ticket #${ticket}</p>
    </div>`;
  }
  return html`<form class="card wrapup-card" data-testid="wrapup-form" id="wrapup-form" onSubmit=${save}>
    <div class="card-head"><h2>${title}</h2>${onDismiss && html`<button type="button" class="link" onClick=${onDismiss}>Dismiss</button>`}</div>
    ${until ? html`<${UntilCountdown} until=${until} />`
            : html`<p class="muted">Wrap-up time is over; you can still record how the call ended.</p>`}
    ${ticket === null || ticket === undefined
      ? html`<p class="muted">This call has no ticket to close.</p>`
      : html`
        <label for="disposition">Disposition</label>
        <select id="disposition" data-testid="disposition" required value=${disposition}
                onChange=${(e) => setDisposition(e.target.value)}>
          <option value="" disabled>Choose how the call ended…</option>
          ${dispositions.map((d) => html`<option value=${d}>${humanize(d)}</option>`)}
        </select>
        <label for="notes">Notes</label>
        <textarea id="notes" data-testid="notes" rows="4" maxlength="4000" placeholder="What was done for the caller"
                  value=${notes} onInput=${(e) => setNotes(e.target.value)}></textarea>
        <div class="actions">
          <button class="btn btn-primary" type="submit" data-testid="save-wrapup" id="save-wrapup"
                  disabled=${busy || !disposition}>${busy ? 'Saving…' : 'Save'}</button>
          <span class="muted">Ticket #${ticket}</span>
        </div>`}
  </form>`;
}

// ---- The caller's context ---------------------------------------------------------------

function ContextCard({ ctx }) {
  const caller = ctx.caller || {};
  const intent = ctx.intent;
  const entities = Object.entries(ctx.entities || {});
  const fields = Object.entries(ctx.fields || {});
  const show = (v) => (v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));

  return html`<article class="card context-card" data-testid="context-card" id="context-card">
    <header class="ctx-head">
      <div data-testid="ctx-caller" class="ctx-caller">
        <span class="ctx-number">${caller.number || 'Unknown number'}</span>
        ${caller.name && html` <span class="ctx-name">${caller.name}</span>`}
      </div>
      <span data-testid="ctx-verified" class=${`badge ${ctx.verified ? 'badge-ok' : 'badge-muted'}`}>
        ${ctx.verified ? `Verified${ctx.verified_by ? ` · ${ctx.verified_by}` : ''}` : 'Not verified'}
      </span>
    </header>

    <div class="ctx-intent" data-testid="ctx-intent">
      ${intent
        ? html`<span class="intent-name">${intent.name}</span>
               ${intent.confidence !== null && intent.confidence !== undefined
                 && html` <span class="intent-conf">${percent(intent.confidence)}</span>`}`
        : html`<span class="muted">No intent recognised</span>`}
    </div>

    <dl class="facts">
      <div><dt>Queue</dt><dd data-testid="ctx-queue">${show(ctx.queue)}</dd></div>
      <div><dt>Priority</dt><dd data-testid="ctx-priority">${show(ctx.priority)}</dd></div>
      <div><dt>Waited</dt><dd data-testid="ctx-waited">${ctx.waited_secs === null || ctx.waited_secs === undefined ? '—' : duration(ctx.waited_secs)}</dd></div>
      <div><dt>Ticket</dt><dd data-testid="ctx-ticket">${show(ctx.ticket_id)}</dd></div>
      <div><dt>Transferred</dt><dd>${clockTime(ctx.transferred_at)}</dd></div>
      ${ctx.skills && ctx.skills.length > 0 && html`<div><dt>Skills</dt><dd>${ctx.skills.map(show).join(', ')}</dd></div>`}
    </dl>

    <div class="ctx-columns">
      <section>
        <h3>Collected by the IVR</h3>
        ${entities.length
          ? html`<table class="kv" data-testid="ctx-entities"><tbody>
              ${entities.map(([k, v]) => html`<tr data-key=${k}><th>${humanize(k)}</th><td class="mono">${show(v)}</td></tr>`)}
            </tbody></table>`
          : html`<p class="muted" data-testid="ctx-entities">Nothing collected.</p>`}
        ${fields.length > 0 && html`<details class="fields"><summary>Dialplan fields (${fields.length})</summary>
          <table class="kv" data-testid="ctx-fields"><tbody>
            ${fields.map(([k, v]) => html`<tr><th>${k}</th><td class="mono">${show(v)}</td></tr>`)}
          </tbody></table></details>`}
      </section>
      <section>
        <h3>What the caller said</h3>
        ${ctx.transcript && ctx.transcript.length
          ? html`<ol class="transcript" data-testid="ctx-transcript">
              ${ctx.transcript.map((turn) => html`<li class=${String(turn).startsWith('#') ? 'turn turn-keys' : 'turn'}>${show(turn)}</li>`)}
            </ol>`
          : html`<p class="muted" data-testid="ctx-transcript">No caller turns.</p>`}
      </section>
    </div>

    <h3>IVR path</h3>
    <ol class="path" data-testid="ctx-path">
      ${(ctx.path || []).map((step) => html`<li>${show(step)}</li>`)}
    </ol>

    ${ctx.recent_contacts && ctx.recent_contacts.length > 0 && html`
      <h3>Recent contacts</h3>
      <table class="list" data-testid="ctx-recent">
        <thead><tr><th>When</th><th>Intent</th><th>Disposition</th></tr></thead>
        <tbody>${ctx.recent_contacts.map((c) => html`<tr>
          <td>${dateTime(c.at)}</td><td>${show(c.intent)}</td><td>${show(c.disposition)}</td></tr>`)}
        </tbody>
      </table>`}
  </article>`;
}

render(html`<${App} />`, document.getElementById('app'));

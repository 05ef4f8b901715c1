// Sluice web page. Framework-free on purpose: it is embedded in the Go
// binary and must build without Node. Event data is only ever put into
// the page with textContent (never parsed as HTML), so hostile event content
// stays text.
'use strict';

// ---- DOM helpers ----------------------------------------------------------

// el makes an element: props sets className (cls), text (textContent),
// other properties and data-* attributes; kids are nodes or strings.
function el(tag, props, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'cls') n.className = v;
    else if (k === 'text') n.textContent = v;
    else if (k.startsWith('data-')) n.setAttribute(k, String(v));
    else n[k] = v;
  }
  for (const c of kids) if (c !== null && c !== undefined && c !== false) n.append(c);
  return n;
}
const $ = (id) => document.getElementById(id);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- API ------------------------------------------------------------------

const KEY = 'sluice.key';

class APIError extends Error {
  constructor(status, code, message) {
    super(message || ('HTTP ' + status));
    this.status = status;
    this.code = code || '';
  }
}

function authHeaders(extra) {
  const h = Object.assign({}, extra);
  const k = sessionStorage.getItem(KEY);
  if (k) h.Authorization = 'Bearer ' + k;
  return h;
}

// request fetches a path of this origin with the key in a header.
async function request(path, opts) {
  opts = opts || {};
  const r = await fetch(path, { headers: authHeaders(opts.headers || { Accept: 'application/json' }), signal: opts.signal, cache: 'no-store' });
  if (!r.ok) {
    let code = '', msg = '';
    try { const b = await r.json(); code = b.error.code; msg = b.error.message; } catch (e) { /* not JSON */ }
    const err = new APIError(r.status, code, msg);
    if (r.status === 401) askKey(msg);
    throw err;
  }
  return r;
}
async function getJSON(path, signal) { return (await request(path, { signal })).json(); }
const sessionPath = (id) => '/v1/sessions/' + encodeURIComponent(id);

// ---- the key ----------------------------------------------------------------

function askKey(msg) {
  $('keyerr').textContent = sessionStorage.getItem(KEY) ? (msg || 'That key was refused.') : '';
  sessionStorage.removeItem(KEY);
  $('keybox').hidden = false;
  $('key').focus();
}
$('keyform').addEventListener('submit', (e) => {
  e.preventDefault();
  const v = $('key').value.trim();
  if (!v) return;
  sessionStorage.setItem(KEY, v);
  $('key').value = '';
  $('keybox').hidden = true;
  route(true);
});
$('forget').addEventListener('click', () => { sessionStorage.removeItem(KEY); location.hash = ''; askKey(''); });

// ---- the timeline fold (a port of Go package timeline's Apply) ---------------

// Timeline is a session's conversation view: the JSON of
// GET /v1/sessions/{id}/timeline, folded on event by event. Every message
// and tool call it changes is put in dirty, and runsDirty is set when a
// run's interrupts or answers change, for the renderer.
class Timeline {
  constructor(snap) {
    const s = snap || {};
    this.session = s.session || '';
    this.seq = s.seq || 0;
    this.system_prompt = s.system_prompt || '';
    this.runs = s.runs || [];
    this.messages = s.messages || [];
    this.tool_calls = s.tool_calls || [];
    this.steps = s.steps || [];
    this.usage = s.usage || [];
    this.problems = s.problems || [];
    this.msgs = new Map(this.messages.map((m, i) => [m.id, i]));
    this.tools = new Map(this.tool_calls.map((t, i) => [t.id, i]));
    this.runIx = new Map(this.runs.map((r, i) => [r.id, i]));
    for (const m of this.messages) { m.parts = m.parts || []; m.tool_call_ids = m.tool_call_ids || []; }
    this.dirty = new Set(this.messages.concat(this.tool_calls));
    this.runsDirty = true;
    this.version = 0;
  }

  // apply folds ev in; an event at or below seq was folded before.
  apply(ev) {
    if (ev.seq && ev.seq <= this.seq) return false;
    if (!this.session) this.session = ev.meta && ev.meta.session || '';
    if (ev.seq) this.seq = ev.seq;
    this.version++;
    this.fold(ev);
    return true;
  }

  msg(id) { const i = this.msgs.get(id); return i === undefined ? null : this.messages[i]; }
  run(id) { const i = this.runIx.get(id); return i === undefined ? null : this.runs[i]; }
  tool(id) { const i = this.tools.get(id); return i === undefined ? null : this.tool_calls[i]; }
  touch(x) { if (x) this.dirty.add(x); return x; }

  fold(ev) {
    const m = ev.meta || {}, p = ev.payload || {};
    let run = null;
    if (m.run) {
      const i = this.runIx.get(m.run);
      if (i === undefined) { this.runIx.set(m.run, this.runs.length); run = { id: m.run, status: 'running', start: ev.time }; this.runs.push(run); } else run = this.runs[i];
    }
    switch (ev.type) {
      case 'conversation.started': this.system_prompt = p.system_prompt || ''; break;
      case 'run.started': if (run) { run.explicit = true; run.prompt = p.prompt; run.status = 'running'; } break;
      case 'run.completed': this.endRun(run, ev, 'completed'); break;
      case 'run.stopped': this.endRun(run, ev, 'stopped', p.reason); this.problem(ev, 'interrupted', null, p.reason); break;
      case 'run.failed': this.endRun(run, ev, 'failed', '', p.error); this.problem(ev, 'error', p.error); break;
      case 'run.interrupted': this.endRun(run, ev, 'waiting'); if (run) { run.interrupts = p.interrupts; this.runsDirty = true; } break;
      case 'run.resumed': {
        if (!run) break;
        run.resumes = p.interrupted_run; run.answers = p.answers;
        const r = this.run(p.interrupted_run);
        if (r && r !== run) r.answered_by = run.id;
        this.runsDirty = true;
        break;
      }
      case 'message.started': { const msg = this.streamed(ev, p.id); if (p.role) msg.role = p.role; if (p.model) msg.model = p.model; break; }
      case 'message.block.started': if (p.kind === 'text' || p.kind === 'thinking') this.part(this.streamed(ev), p.kind, p.index || 0); break;
      case 'message.block.stopped': if (p.kind === 'text' || p.kind === 'thinking') this.last(this.streamed(ev), p.kind, p.index || 0).done = true; break;
      case 'message.text.delta': this.part(this.streamed(ev), 'text', p.index || 0).text += p.text || ''; break;
      case 'message.thinking.delta': this.part(this.streamed(ev), 'thinking', p.index || 0).text += p.text || ''; break;
      case 'message.text.completed': { const pt = this.last(this.streamed(ev), 'text', p.index || 0); pt.text = p.text || ''; pt.done = true; break; }
      case 'message.thinking.completed': { const pt = this.last(this.streamed(ev), 'thinking', p.index || 0); pt.text = p.text || ''; pt.done = true; break; }
      case 'message.usage': { const msg = this.streamed(ev); const u = p.usage || {}; msg.usage = u.cumulative ? u : addUsage(msg.usage, u); break; }
      case 'message.stopped': {
        const msg = this.streamed(ev, p.id);
        msg.status = 'done'; msg.stop_reason = p.stop_reason; msg.end = ev.time;
        for (const pt of msg.parts) pt.done = true;
        break;
      }
      case 'message.created': this.created(ev, p); break;
      case 'stream.interrupted': {
        const msg = this.open(ev);
        if (msg) { msg.status = 'interrupted'; msg.end = ev.time; if (!joinParts(msg, 'text') && p.text) this.part(msg, 'text', 0).text += p.text; }
        this.problem(ev, 'interrupted', null, p.reason).message_id = msg ? msg.id : '';
        break;
      }
      case 'stream.error': this.problem(ev, 'error', p.error); break;
      case 'provider.call.completed': this.addUsage(p.provider || m.provider, p.model || m.model, p.usage || {}, p.cost || 0, !!p.cost_unknown); break;
      case 'capability.call.completed': this.addUsage(p.provider, p.model, { input_tokens: (p.quantities || {}).input_tokens || 0 }, p.cost || 0, false); break;
      case 'provider.call.failed':
        for (const msg of this.messages) if (msg.status === 'streaming' && m.inference && msg.inference_id === m.inference) { msg.status = 'failed'; msg.end = ev.time; this.touch(msg); }
        this.problem(ev, 'error', p.error);
        break;
      case 'tool.call.delta': { const tc = this.toolFor(ev, p.call_id, p.name, p.index || 0, 'streaming'); tc.arguments = (tc.arguments || '') + (p.delta || ''); break; }
      case 'tool.call.requested': {
        const tc = this.toolFor(ev, p.call_id, p.name, p.index || 0, 'requested');
        if (tc.status !== 'streaming' || !validJSON(tc.arguments)) tc.arguments = jsonText(p.arguments);
        if (tc.status === 'streaming') tc.status = 'requested';
        break;
      }
      case 'client.tool.requested': { const tc = this.toolFor(ev, p.call_id, p.name, 0, 'requested'); if (p.arguments !== undefined) tc.arguments = jsonText(p.arguments); break; }
      case 'tool.call.started': { const tc = this.toolFor(ev, p.call_id || m.tool_call, p.name, 0, 'running'); tc.status = 'running'; tc.start = ev.time; if (!tc.arguments) tc.arguments = jsonText(p.arguments); break; }
      case 'tool.call.completed': {
        const tc = this.toolFor(ev, p.call_id || m.tool_call, p.name, 0, 'completed');
        tc.status = 'completed'; tc.result = p.result; tc.tool_status = p.status; tc.end = ev.time; tc.duration_ns = duration(p.duration_ns, tc.start, ev.time);
        break;
      }
      case 'tool.call.failed': {
        const tc = this.toolFor(ev, p.call_id || m.tool_call, p.name, 0, 'failed');
        tc.status = 'failed'; tc.error = p.error; tc.end = ev.time; tc.duration_ns = duration(p.duration_ns, tc.start, ev.time);
        this.problem(ev, 'error', p.error).tool_call_id = tc.id;
        break;
      }
      case 'client.tool.resolved': {
        const tc = this.toolFor(ev, p.call_id, p.name, 0, 'requested');
        tc.tool_status = p.status;
        if (p.status !== 'fulfilled') { tc.status = 'failed'; tc.end = ev.time; tc.error = { message: p.rejection_reason || p.status, kind: 'tool' }; }
        break;
      }
      case 'pipeline.started': this.startStep(ev, 'pipeline', 'pipeline', 0); break;
      case 'pipeline.completed': case 'pipeline.failed': {
        const failed = ev.type === 'pipeline.failed';
        this.endStep(ev, 'pipeline', 'pipeline', 0, p.duration_ns, failed ? p.error : null);
        if (failed) this.problem(ev, 'error', p.error);
        if (run && !run.explicit && this.outermost(m.run)) this.endRun(run, ev, failed ? 'failed' : 'completed', '', failed ? p.error : null);
        break;
      }
      case 'middleware.started': this.startStep(ev, 'middleware', p.name, p.index || 0); break;
      case 'middleware.completed': this.endStep(ev, 'middleware', p.name, p.index || 0, p.duration_ns, null); break;
      case 'middleware.failed': this.endStep(ev, 'middleware', p.name, p.index || 0, p.duration_ns, p.error); break;
      case 'stage.started': this.startStep(ev, 'stage', p.name, p.index || 0); break;
      case 'stage.completed': this.endStep(ev, 'stage', p.name, p.index || 0, p.duration_ns, null); break;
      case 'stage.failed': this.endStep(ev, 'stage', p.name, p.index || 0, p.duration_ns, p.error); break;
    }
  }

  endRun(run, ev, status, reason, err) { if (run) { run.status = status; run.end = ev.time; run.reason = reason; run.error = err; } }

  problem(ev, kind, err, reason) {
    const m = ev.meta || {};
    const pr = { kind, type: ev.type, seq: ev.seq, time: ev.time, error: err || undefined, reason: reason || undefined, run_id: m.run, message_id: m.message, tool_call_id: m.tool_call };
    this.problems.push(pr);
    return pr;
  }

  addMessage(msg) { this.msgs.set(msg.id, this.messages.length); this.messages.push(msg); return this.touch(msg); }

  open(ev) {
    const id = (ev.meta || {}).message;
    if (id) { const msg = this.msg(id); return msg && msg.status === 'streaming' ? msg : null; }
    for (let i = this.messages.length - 1; i >= 0; i--) if (this.messages[i].status === 'streaming') return this.messages[i];
    return null;
  }

  streamed(ev, id) {
    const m = ev.meta || {};
    id = m.message || id || '';
    if (id) { const msg = this.msg(id); if (msg) return this.touch(msg); } else {
      const msg = this.open(ev);
      if (msg) return this.touch(msg);
      id = ev.id;
    }
    return this.addMessage({ id, role: 'assistant', index: -1, status: 'streaming', run_id: m.run, turn_id: m.turn, inference_id: m.inference, provider: m.provider, model: m.model, start: ev.time, first_seq: ev.seq, parts: [], tool_call_ids: [] });
  }

  part(msg, kind, index) {
    for (let i = msg.parts.length - 1; i >= 0; i--) {
      const p = msg.parts[i];
      if (p.kind === kind && p.index === index) { if (!p.done) return p; break; }
    }
    const p = { kind, index, text: '' };
    msg.parts.push(p);
    return p;
  }

  last(msg, kind, index) {
    for (let i = msg.parts.length - 1; i >= 0; i--) { const p = msg.parts[i]; if (p.kind === kind && p.index === index) return p; }
    const p = { kind, index, text: '' };
    msg.parts.push(p);
    return p;
  }

  created(ev, p) {
    const m = ev.meta || {};
    let msg = null;
    if (p.role === 'assistant') {
      if (m.message) msg = this.msg(m.message);
      for (let i = this.messages.length - 1; !msg && i >= 0; i--) {
        const c = this.messages[i];
        if (c.index >= 0) break;
        if (c.role === 'assistant') msg = c;
      }
    }
    if (!msg) {
      let id = m.message || ev.id;
      if (this.msg(id)) id = ev.id;
      msg = this.addMessage({ id, role: p.role, index: p.index || 0, status: 'done', run_id: m.run, turn_id: m.turn, provider: m.provider, model: m.model, start: ev.time, end: ev.time, first_seq: ev.seq, parts: [], tool_call_ids: [] });
      if (p.content) msg.parts.push({ kind: 'text', index: 0, text: p.content, done: true });
    } else if (!joinParts(msg, 'text') && p.content) {
      msg.parts.push({ kind: 'text', index: 0, text: p.content, done: true });
    }
    this.touch(msg);
    msg.index = p.index || 0;
    if (msg.status === 'streaming') { msg.status = 'done'; msg.end = ev.time; }
    (p.tool_calls || []).forEach((c, i) => {
      const tc = this.toolFor(ev, c.id, c.name, i, 'requested');
      if (!tc.message_id || tc.message_id === msg.id) this.link(msg, tc);
      if (c.arguments !== undefined && (tc.status === 'streaming' || !tc.arguments)) tc.arguments = jsonText(c.arguments);
      if (tc.status === 'streaming') tc.status = 'requested';
    });
    const r = p.tool_result;
    if (r) {
      msg.tool_call_id = r.call_id;
      const tc = this.tool(r.call_id);
      if (tc && ['requested', 'running', 'streaming'].includes(tc.status)) {
        this.touch(tc);
        tc.end = ev.time;
        tc.duration_ns = duration(r.latency_ns, tc.start, ev.time);
        if (r.error && r.error.message) { tc.status = 'failed'; tc.error = r.error; } else {
          tc.status = 'completed';
          try { tc.result = JSON.parse(r.content); } catch (e) { tc.result = r.content; }
        }
      }
    }
  }

  link(msg, tc) { tc.message_id = msg.id; if (!msg.tool_call_ids.includes(tc.id)) msg.tool_call_ids.push(tc.id); this.touch(msg); }

  toolFor(ev, id, name, index, status) {
    const m = ev.meta || {};
    let msg = null;
    if (m.message || (!id && !m.tool_call)) msg = this.open(ev);
    if (!id && msg) {
      for (const cid of msg.tool_call_ids) { const tc = this.tool(cid); if (tc && tc.index === index) return this.touch(tc); }
    }
    if (!id) id = m.tool_call || ((m.message || ev.id) + '#' + index);
    const have = this.tool(id);
    if (have) { if (!have.name) have.name = name; return this.touch(have); }
    const tc = { id, name: name || '', index, status, start: ev.time, arguments: '' };
    this.tools.set(id, this.tool_calls.length);
    this.tool_calls.push(tc);
    if (msg) this.link(msg, tc);
    return this.touch(tc);
  }

  startStep(ev, kind, name, index) { this.steps.push({ kind, name, index, run_id: (ev.meta || {}).run, status: 'running', start: ev.time }); }

  endStep(ev, kind, name, index, d, err) {
    const run = (ev.meta || {}).run;
    let s = null;
    for (let i = this.steps.length - 1; i >= 0 && !s; i--) {
      const c = this.steps[i];
      if (c.kind === kind && c.name === name && c.index === index && c.status === 'running' && c.run_id === run) s = c;
    }
    if (!s) { s = { kind, name, index, run_id: run, start: new Date(Date.parse(ev.time) - (d || 0) / 1e6).toISOString() }; this.steps.push(s); }
    s.status = err ? 'failed' : 'completed'; s.end = ev.time; s.error = err || undefined;
    s.duration_ns = duration(d, s.start, ev.time);
  }

  outermost(run) { return !this.steps.some((s) => s.kind === 'pipeline' && s.run_id === run && s.status === 'running'); }

  addUsage(provider, model, u, cost, unknown) {
    let e = this.usage.find((x) => x.provider === (provider || '') && x.model === (model || ''));
    if (!e) { e = { provider: provider || '', model: model || '', calls: 0, tokens: {}, cost: 0 }; this.usage.push(e); }
    e.calls++;
    e.tokens = addUsage(e.tokens, u);
    e.cost += cost;
    e.cost_unknown = e.cost_unknown || unknown;
  }
}

function addUsage(a, b) {
  const r = Object.assign({}, a || {});
  for (const [k, v] of Object.entries(b || {})) if (typeof v === 'number') r[k] = (r[k] || 0) + v;
  delete r.cumulative;
  return r;
}
function joinParts(msg, kind) { return msg.parts.filter((p) => p.kind === kind).map((p) => p.text).join(''); }
function validJSON(s) { try { JSON.parse(s); return true; } catch (e) { return false; } }
function jsonText(v) { return v === undefined || v === null ? '' : (typeof v === 'string' ? v : JSON.stringify(v)); }
function duration(d, start, end) { return d || (start ? (Date.parse(end) - Date.parse(start)) * 1e6 : 0); }
function pretty(s) { try { return JSON.stringify(typeof s === 'string' ? JSON.parse(s) : s, null, 2); } catch (e) { return String(s); } }
function fmtDur(ns) { if (!ns) return ''; const ms = ns / 1e6; return ms < 1 ? ms.toFixed(3) + ' ms' : ms < 1000 ? ms.toFixed(1) + ' ms' : (ms / 1000).toFixed(2) + ' s'; }
function fmtTime(t) { return String(t).replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC'); }
function fmtCost(c, unknown) { return (unknown ? '≥ ' : '') + '$' + (c || 0).toFixed(4); }
function tokensOf(u) { u = u || {}; return u.total_tokens || ((u.input_tokens || 0) + (u.output_tokens || 0)); }

// ---- the session view ---------------------------------------------------------

// View renders a Timeline and the raw events into the session page. Live
// and replay use the same View.
class View {
  constructor(root, id) {
    this.id = id;
    this.events = []; // raw events in seq order, for the inspector
    this.bySeq = new Map();
    this.conv = el('div', { id: 'conv' });
    this.usageBox = el('div');
    this.wfBox = el('div', { cls: 'wf' });
    this.evBox = el('div', { id: 'events' });
    this.evCount = el('span', { cls: 'muted' });
    this.typeFilter = el('input', { type: 'search', placeholder: 'type pattern, e.g. tool.*', id: 'evtype' });
    this.search = el('input', { type: 'search', placeholder: 'search', id: 'evsearch' });
    this.selected = 0;
    this.typeFilter.addEventListener('input', () => this.renderEvents(true));
    this.search.addEventListener('input', () => this.renderEvents(true));
    this.replayBar = el('div', { cls: 'replay', id: 'replaybar' });
    root.replaceChildren(
      this.replayBar,
      el('div', { cls: 'cols' },
        el('div', {}, el('section', { cls: 'panel' }, el('h3', { text: 'Conversation' }), this.conv)),
        el('div', {},
          el('section', { cls: 'panel', id: 'usage' }, el('h3', { text: 'Usage and cost' }), this.usageBox),
          el('section', { cls: 'panel', id: 'waterfall' }, el('h3', { text: 'Waterfall' }), this.wfBox),
          el('section', { cls: 'panel', id: 'inspector' }, el('h3', { text: 'Events' }),
            el('div', { cls: 'bar' }, this.typeFilter, this.search, this.evCount), this.evBox))));
    this.reset(new Timeline({ session: id }));
  }

  // reset starts over from tl (hydration, a seek in replay).
  reset(tl) {
    this.tl = tl;
    this.msgEls = new Map();
    this.toolEls = new Map();
    this.runEls = new Map();
    this.conv.replaceChildren();
    this.sys = null;
    this.problemBox = el('div', { id: 'problems' });
    this.orphans = el('div');
    this.conv.append(this.orphans, this.problemBox);
    this.shownProblems = 0;
    this.schedule();
  }

  // addEvent records a raw event for the inspector (once per seq).
  addEvent(ev) {
    if (!ev.seq || this.bySeq.has(ev.seq)) return;
    this.bySeq.set(ev.seq, ev);
    const n = this.events.length;
    if (n === 0 || this.events[n - 1].seq < ev.seq) this.events.push(ev);
    else { this.events.push(ev); this.events.sort((a, b) => a.seq - b.seq); }
    this.evDirty = true;
  }
  clearEvents() { this.events = []; this.bySeq = new Map(); this.evDirty = true; }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    // A timer, not requestAnimationFrame: a frame may wait for the
    // display, and events arrive in bursts that one render can take.
    setTimeout(() => { this.pending = false; this.render(); }, 0);
  }

  render() {
    const tl = this.tl;
    if (tl.system_prompt && !this.sys) {
      this.sys = el('div', { cls: 'msg system' }, el('div', { cls: 'who', text: 'system' }), el('div', { cls: 'text', text: tl.system_prompt }));
      this.conv.prepend(this.sys);
    }
    for (const x of tl.dirty) {
      if ('role' in x) this.renderMessage(x); else this.renderTool(x);
    }
    tl.dirty.clear();
    if (tl.runsDirty) { tl.runsDirty = false; this.renderInterrupts(); }
    while (this.shownProblems < tl.problems.length) {
      const p = tl.problems[this.shownProblems++];
      const e = p.error || {};
      this.problemBox.append(el('div', { cls: 'problem', 'data-seq': p.seq },
        el('b', { text: p.kind === 'error' ? 'Error' : 'Interrupted' }), ' ',
        el('span', { cls: 'mono', text: p.type + (p.seq ? ' #' + p.seq : '') }), ' ',
        el('span', { text: e.message || p.reason || '' })));
    }
    if (this.seqBox) this.seqBox.textContent = 'seq ' + tl.seq;
    this.renderUsage();
    this.renderWaterfall();
    if (this.evDirty) this.renderEvents(false);
  }

  renderMessage(m) {
    let box = this.msgEls.get(m.id);
    if (!box) {
      box = el('div', { 'data-msg': m.id });
      this.msgEls.set(m.id, box);
      this.conv.insertBefore(box, this.orphans);
    }
    box.className = 'msg ' + (m.role || 'assistant') + (m.status === 'streaming' ? ' streaming' : '');
    const who = [m.role || 'assistant', m.model, m.status !== 'done' ? m.status : '', m.stop_reason ? 'stop: ' + m.stop_reason : ''].filter(Boolean).join(' · ');
    const kids = [el('div', { cls: 'who', text: who })];
    for (const p of m.parts) {
      if (p.kind === 'thinking') {
        const d = el('details', { cls: 'thinking' }, el('summary', { text: 'thinking' + (p.done ? '' : '…') }), el('div', { text: p.text }));
        const old = box.querySelector('details.thinking');
        if (old && old.open) d.open = true;
        kids.push(d);
      } else kids.push(el('div', { cls: 'text', text: p.text }));
    }
    if (m.role === 'tool' && m.tool_call_id) kids.push(el('div', { cls: 'muted mono', text: 'result of ' + m.tool_call_id }));
    for (const id of m.tool_call_ids) {
      const tc = this.tl.tool(id);
      if (tc) kids.push(this.toolCard(tc));
    }
    box.replaceChildren(...kids);
  }

  renderTool(tc) {
    const owner = tc.message_id && this.tl.msg(tc.message_id);
    if (owner) { this.renderMessage(owner); const o = this.toolEls.get(tc.id); if (o && o.parentNode === this.orphans) o.remove(); return; }
    const card = this.toolCard(tc);
    const old = this.toolEls.get(tc.id);
    if (old && old.parentNode === this.orphans) old.replaceWith(card); else this.orphans.append(card);
    this.toolEls.set(tc.id, card);
  }

  toolCard(tc) {
    const kids = [el('div', { cls: 'head' },
      el('b', { cls: 'mono', text: tc.name || '(tool)' }),
      el('span', { cls: 'status ' + tc.status, text: tc.status }),
      el('span', { cls: 'muted', text: fmtDur(tc.duration_ns) }),
      el('span', { cls: 'muted mono', text: tc.id }))];
    kids.push(el('div', { cls: 'cap', text: 'arguments' }), el('pre', { cls: 'args', text: tc.arguments ? pretty(tc.arguments) : '' }));
    if (tc.result !== undefined && tc.result !== null) kids.push(el('div', { cls: 'cap', text: 'result' }), el('pre', { cls: 'result', text: pretty(tc.result) }));
    if (tc.error) kids.push(el('div', { cls: 'cap err', text: 'error' }), el('pre', { cls: 'result err', text: tc.error.message || JSON.stringify(tc.error) }));
    return el('div', { cls: 'tool', 'data-tool': tc.id }, ...kids);
  }

  // renderInterrupts shows each run that ended waiting for input, after
  // its last message: an "awaiting input" card per interrupt while they
  // are open, each one's answer once a later run gave them.
  renderInterrupts() {
    const tl = this.tl;
    for (const r of tl.runs) {
      if (!r.interrupts || !r.interrupts.length) continue;
      let box = this.runEls.get(r.id);
      if (!box) {
        box = el('div', { 'data-run': r.id });
        this.runEls.set(r.id, box);
        const mine = tl.messages.filter((m) => m.run_id === r.id && this.msgEls.has(m.id));
        if (mine.length) this.msgEls.get(mine[mine.length - 1].id).after(box); else this.conv.insertBefore(box, this.orphans);
      }
      const by = r.answered_by ? tl.run(r.answered_by) : null;
      const answers = new Map(((by && by.answers) || []).map((a) => [a.interrupt_id, a]));
      const waiting = r.status === 'waiting' && !by;
      box.className = 'interrupts' + (waiting ? ' run-waiting' : '');
      box.replaceChildren(el('div', { cls: 'who' }, 'run ', el('span', { cls: 'mono', text: r.id }), ' ',
        el('span', { cls: 'status ' + (by ? 'answered' : r.status), text: by ? 'answered' : r.status }), by ? el('span', { text: ' by run ' + by.id }) : null),
      ...r.interrupts.map((it) => this.interruptCard(it, by, answers.get(it.id))));
    }
  }

  interruptCard(it, by, ans) {
    const expired = it.expires_at && !by && Date.parse(it.expires_at) <= Date.now();
    const kids = [el('div', { cls: 'head' },
      el('b', { text: by ? 'answered' : 'awaiting input' }),
      el('span', { cls: 'status ' + (by ? (ans && ans.status) || 'answered' : 'waiting'), text: it.reason || '' }),
      it.expires_at ? el('span', { cls: 'muted', text: (expired ? 'expired ' : 'expires ') + fmtTime(it.expires_at) }) : null,
      el('span', { cls: 'muted mono', text: it.id }))];
    if (it.message) kids.push(el('div', { cls: 'text', text: it.message }));
    if (it.tool_call_id) kids.push(el('div', { cls: 'muted mono', text: 'about tool call ' + it.tool_call_id }));
    if (it.metadata !== undefined) kids.push(el('div', { cls: 'muted mono', text: JSON.stringify(it.metadata) }));
    if (!by && it.response_schema !== undefined) kids.push(el('div', { cls: 'cap', text: 'expected answer' }), el('pre', { text: pretty(it.response_schema) }));
    if (by) {
      kids.push(el('div', { cls: 'cap', text: (ans ? ans.status : 'no answer') + ' by run ' + by.id }));
      if (ans && ans.payload !== undefined) kids.push(el('pre', { cls: 'answer', text: pretty(ans.payload) }));
    }
    return el('div', { cls: 'interrupt', 'data-interrupt': it.id, 'data-state': by ? 'answered' : 'open' }, ...kids);
  }

  renderUsage() {
    const tl = this.tl;
    const sig = JSON.stringify(tl.usage);
    if (sig === this.usageSig) return;
    this.usageSig = sig;
    if (!tl.usage.length) { this.usageBox.replaceChildren(el('span', { cls: 'muted', text: 'no finished model calls yet' })); return; }
    let cost = 0, unknown = false, total = 0;
    const rows = tl.usage.map((u) => {
      cost += u.cost; unknown = unknown || u.cost_unknown; total += tokensOf(u.tokens);
      return el('tr', {}, el('td', { text: u.provider }), el('td', { cls: 'mono', text: u.model }), el('td', { cls: 'num', text: String(u.calls) }),
        el('td', { cls: 'num', text: String(u.tokens.input_tokens || 0) }), el('td', { cls: 'num', text: String(u.tokens.output_tokens || 0) }),
        el('td', { cls: 'num', text: String(tokensOf(u.tokens)) }), el('td', { cls: 'num', text: fmtCost(u.cost, u.cost_unknown) }));
    });
    rows.push(el('tr', {}, el('td', { text: 'total' }), el('td'), el('td'), el('td'), el('td'), el('td', { cls: 'num', text: String(total) }), el('td', { cls: 'num', id: 'totalcost', text: fmtCost(cost, unknown) })));
    this.usageBox.replaceChildren(el('table', {}, el('tr', {}, ...['provider', 'model', 'calls', 'in', 'out', 'tokens', 'cost'].map((h, i) => el('th', { cls: i > 1 ? 'num' : '', text: h }))), ...rows));
  }

  renderWaterfall() {
    const tl = this.tl;
    const spans = [];
    for (const s of tl.steps) spans.push({ label: s.kind === 'pipeline' ? 'pipeline' : s.kind + ' ' + s.name, start: s.start, end: s.end, d: s.duration_ns, cls: s.status === 'failed' ? 'failed' : '' });
    for (const m of tl.messages) if (m.inference_id) spans.push({ label: 'call ' + (m.model || m.provider || ''), start: m.start, end: m.end, cls: 'call' + (m.status === 'failed' ? ' failed' : '') });
    for (const t of tl.tool_calls) if (t.start && ['running', 'completed', 'failed'].includes(t.status) && (t.status !== 'failed' || t.duration_ns)) spans.push({ label: 'tool ' + t.name, start: t.start, end: t.end, d: t.duration_ns, cls: 'tool' + (t.status === 'failed' ? ' failed' : '') });
    const sig = spans.length + ':' + spans.map((s) => s.end || '').join(',');
    if (sig === this.wfSig) return;
    this.wfSig = sig;
    if (!spans.length) { this.wfBox.replaceChildren(el('span', { cls: 'muted', text: 'no steps yet' })); return; }
    const t0 = Math.min(...spans.map((s) => Date.parse(s.start)));
    const now = Date.parse(this.lastTime || '') || Date.now();
    const t1 = Math.max(t0 + 1e-3, ...spans.map((s) => s.end ? Date.parse(s.end) : now));
    const kids = [];
    for (const s of spans.slice(0, 400)) {
      const a = Date.parse(s.start), b = s.end ? Date.parse(s.end) : now;
      const bar = el('div', { cls: 'span ' + s.cls });
      bar.style.left = ((a - t0) / (t1 - t0) * 100).toFixed(2) + '%';
      bar.style.width = (Math.max(0, b - a) / (t1 - t0) * 100).toFixed(2) + '%';
      kids.push(el('div', { cls: 'lbl', text: s.label, title: s.label }), el('div', { cls: 'track' }, bar), el('div', { cls: 'muted', text: s.end ? fmtDur(s.d || (b - a) * 1e6) : 'running' }));
    }
    this.wfBox.replaceChildren(...kids);
  }

  // renderEvents shows the events that pass the filters: the last 300,
  // or those around the selected one.
  renderEvents(force) {
    this.evDirty = false;
    const re = typeRegexp(this.typeFilter.value);
    const q = this.search.value.trim().toLowerCase();
    const LIMIT = 300;
    // The common case, live and unfiltered: append the new rows only.
    const lastShown = this.evBox.lastElementChild ? Number(this.evBox.lastElementChild.dataset.seq) : -1;
    if (!force && !re && !q && lastShown >= 0 && this.events.length && this.bySeq.has(lastShown) && this.events[this.events.length - 1].seq > lastShown) {
      const stick = this.evBox.scrollTop + this.evBox.clientHeight >= this.evBox.scrollHeight - 4;
      let i = this.events.length;
      while (i > 0 && this.events[i - 1].seq > lastShown) i--;
      if (this.events.length - i < LIMIT) {
        this.evBox.append(...this.events.slice(i).map((ev) => this.eventRow(ev)));
        while (this.evBox.childElementCount > LIMIT && !this.evBox.firstElementChild.classList.contains('sel')) this.evBox.firstElementChild.remove();
        const n = this.events.length;
        this.evCount.textContent = n + ' events' + (this.evBox.childElementCount < n ? ', showing ' + this.evBox.childElementCount : '');
        if (stick) this.evBox.scrollTop = this.evBox.scrollHeight;
        return;
      }
    }
    let list = this.events;
    if (re || q) list = list.filter((ev) => (!re || re.test(ev.type)) && (!q || rawOf(ev).toLowerCase().includes(q)));
    let from = Math.max(0, list.length - LIMIT);
    if (this.selected) {
      const i = list.findIndex((ev) => ev.seq === this.selected);
      if (i >= 0 && (i < from || force)) from = Math.max(0, Math.min(i - 20, list.length - LIMIT));
    }
    const shown = list.slice(from, from + LIMIT);
    this.evCount.textContent = list.length + (list.length === this.events.length ? ' events' : ' of ' + this.events.length + ' events') + (shown.length < list.length ? ', showing ' + shown.length : '');
    const stick = this.evBox.scrollTop + this.evBox.clientHeight >= this.evBox.scrollHeight - 4;
    this.evBox.replaceChildren(...shown.map((ev) => this.eventRow(ev)));
    const sel = this.selected && this.evBox.querySelector('.ev.sel');
    if (sel && force !== 'quiet') sel.scrollIntoView({ block: 'nearest' });
    else if (stick) this.evBox.scrollTop = this.evBox.scrollHeight;
  }

  eventRow(ev) {
    const row = el('div', { cls: 'row' }, el('span', { text: String(ev.seq) }), el('span', { cls: 'type', text: ev.type }), el('span', { cls: 'muted', text: (ev.time || '').slice(11, 23) }));
    const box = el('div', { cls: 'ev' + (ev.seq === this.selected ? ' sel' : ''), 'data-seq': ev.seq }, row);
    if (ev.seq === this.selected) {
      const copy = el('button', { type: 'button', text: 'Copy as JSON', cls: 'copy' });
      copy.addEventListener('click', (e) => { e.stopPropagation(); copyText(JSON.stringify(ev, null, 2)); copy.textContent = 'Copied'; });
      const link = el('a', { href: linkTo(this.id, ev.seq, this.mode), text: 'link to this event' });
      box.append(el('div', { cls: 'bar' }, copy, link),
        el('pre', { cls: 'meta', text: 'meta ' + JSON.stringify(ev.meta || {}, null, 2) }),
        el('pre', { cls: 'payload', text: 'payload ' + JSON.stringify(ev.payload === undefined ? null : ev.payload, null, 2) }));
    }
    row.addEventListener('click', () => { this.select(this.selected === ev.seq ? 0 : ev.seq, true); });
    return box;
  }

  select(seq, setHash) {
    this.selected = seq;
    if (setHash) history.replaceState(null, '', linkTo(this.id, seq, this.mode));
    this.renderEvents('quiet');
  }
}

function rawOf(ev) { if (!ev._raw) Object.defineProperty(ev, '_raw', { value: JSON.stringify(ev), enumerable: false }); return ev._raw; }
function linkTo(id, seq, mode) { return '#s=' + encodeURIComponent(id) + (mode === 'replay' ? '&mode=replay' : '') + (seq ? '&ev=' + seq : ''); }

// typeRegexp turns "tool.*, message.text.delta" into a RegExp.
function typeRegexp(s) {
  const pats = s.split(',').map((x) => x.trim()).filter(Boolean);
  if (!pats.length) return null;
  return new RegExp('^(' + pats.map((p) => p.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')).join('|') + ')$');
}

function copyText(s) {
  if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(s).catch(() => {}); return; }
  const t = el('textarea', { value: s });
  document.body.append(t); t.select();
  try { document.execCommand('copy'); } catch (e) { /* no clipboard */ }
  t.remove();
}

// ---- SSE over fetch -------------------------------------------------------------

// readSSE reads an event stream from a fetch Response and calls onEvent
// with each data line's JSON, until the stream ends.
async function readSSE(resp, onEvent) {
  const reader = resp.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let data = '';
      for (const line of frame.split('\n')) if (line.startsWith('data:')) data += (data ? '\n' : '') + line.slice(line[5] === ' ' ? 6 : 5);
      if (data) onEvent(JSON.parse(data));
    }
  }
}

// ---- pages ------------------------------------------------------------------------

let current = null; // the page shown: { id, mode, stop() }

function setConn(cls, text) { const c = $('conn'); c.className = 'conn ' + cls; c.textContent = text; }

// route shows what the hash names: #s=ID[&mode=replay][&ev=SEQ], else the list.
function route(force) {
  const h = new URLSearchParams(location.hash.slice(1));
  const id = h.get('s') || '', mode = h.get('mode') || 'live', ev = Number(h.get('ev') || 0);
  $('forget').hidden = !sessionStorage.getItem(KEY);
  if (!force && current && current.id === id && current.mode === mode && id) { if (current.view) current.view.select(ev, false); return; }
  if (current) current.stop();
  current = id ? (mode === 'replay' ? replayPage(id, ev) : livePage(id, ev)) : listPage();
}
window.addEventListener('hashchange', () => route(false));

function errorBox(main, err) {
  main.replaceChildren(el('p', { cls: 'err', id: 'error', text: err.status === 403 || err.status === 404 ? 'This session cannot be shown: ' + err.message : String(err.message || err) }), el('a', { href: '#', text: '← sessions' }));
}

// livePage hydrates a session from its timeline snapshot and follows its
// stream from the snapshot's seq, reconnecting after the last seq applied.
function livePage(id, sel) {
  const main = $('main');
  const ctl = new AbortController();
  const page = { id, mode: 'live', stop: () => ctl.abort() };
  $('where').textContent = id;
  const view = new View(main, id);
  page.view = view;
  view.selected = sel;
  view.replayBar.replaceChildren(el('a', { href: '#', text: '← sessions' }), el('span', { cls: 'muted', id: 'seq' }), el('a', { href: '#s=' + encodeURIComponent(id) + '&mode=replay', id: 'toreplay', text: 'Replay' }));
  let epoch = '';
  const seqBox = $('seq');
  view.seqBox = seqBox;
  let backlog = null;
  const hydrate = async () => {
    setConn('', 'loading');
    let snap = { session: id, seq: 0 };
    try {
      const r = await request(sessionPath(id) + '/timeline', { signal: ctl.signal });
      snap = await r.json();
      epoch = r.headers.get('Sluice-Epoch') || '';
    } catch (e) {
      // A timeline over the server's response limit (413): fold the
      // session's events from the start instead.
      if (e.status !== 413) throw e;
    }
    view.clearEvents();
    view.reset(new Timeline(snap));
    backlog = loadBacklog(id, snap.seq, view, ctl.signal);
  };
  const run = async () => {
    let wait = 250;
    try { await hydrate(); } catch (e) { if (!ctl.signal.aborted) errorBox(main, e); return; }
    while (!ctl.signal.aborted) {
      try {
        const h = { Accept: 'text/event-stream' };
        if (epoch) h['Sluice-Epoch'] = epoch;
        const r = await fetch(sessionPath(id) + '/stream?after=' + view.tl.seq, { headers: authHeaders(h), signal: ctl.signal, cache: 'no-store' });
        if (r.status === 409) { await hydrate(); continue; }
        if (r.status === 401) { askKey(''); return; }
        if (!r.ok) throw new APIError(r.status, '', 'stream: HTTP ' + r.status);
        const ep = r.headers.get('Sluice-Epoch') || '';
        if (epoch && ep && ep !== epoch) { await hydrate(); continue; }
        setConn('live', 'live');
        wait = 250;
        await readSSE(r, (ev) => {
          if (!ev.seq || ev.seq <= view.tl.seq) return; // folded before
          view.tl.apply(ev);
          view.lastTime = ev.time;
          view.addEvent(ev);
          seqBox.textContent = 'seq ' + view.tl.seq;
          view.schedule();
        });
      } catch (e) {
        if (ctl.signal.aborted) return;
        // 403 is final; a 404 after the session was shown is a log
        // replaced (a server restarted on a new store): wait for it.
        if (e.status === 403) { errorBox(main, e); return; }
      }
      setConn('retry', 'reconnecting');
      await sleep(wait);
      wait = Math.min(wait * 2, 4000);
    }
  };
  run().then(() => { seqBox.textContent = 'seq ' + view.tl.seq; });
  const tick = setInterval(() => { seqBox.textContent = 'seq ' + view.tl.seq; }, 500);
  const stop = page.stop;
  page.stop = () => { clearInterval(tick); stop(); void backlog; };
  return page;
}

// loadBacklog fills the inspector with the events up to seq from the log.
async function loadBacklog(id, upTo, view, signal) {
  let after = 0;
  try {
    while (after < upTo && !signal.aborted) {
      const page = await getJSON(sessionPath(id) + '/events?limit=1000&after=' + after, signal);
      for (const ev of page.events) if (ev.seq <= upTo) view.addEvent(ev);
      if (!page.events.length || !page.more) break;
      after = page.next_after;
    }
  } catch (e) { /* the inspector stays partial; the conversation is whole */ }
  view.schedule();
}

// readLog reads a session's whole log, page by page.
async function readLog(id, signal, progress) {
  const all = [];
  let after = 0;
  for (;;) {
    const page = await getJSON(sessionPath(id) + '/events?limit=1000&after=' + after, signal);
    all.push(...page.events);
    progress(all.length);
    if (!page.events.length || !page.more) return all;
    after = page.next_after;
  }
}

// replayPage reads a session's log and replays it through the same view:
// a scrubber over the events and play at 1×, 4×, 16× or as fast as possible.
function replayPage(id, sel) {
  const main = $('main');
  const ctl = new AbortController();
  const page = { id, mode: 'replay' };
  $('where').textContent = id + ' (replay)';
  setConn('replay', 'replay');
  const view = new View(main, id);
  page.view = view;
  view.mode = 'replay';
  view.selected = sel;
  const scrub = el('input', { type: 'range', min: 0, max: 0, value: 0, id: 'scrub', 'aria-label': 'position' });
  const play = el('button', { type: 'button', id: 'play', text: '▶ play' });
  const speed = el('select', { id: 'speed' }, ...[['1', '1×'], ['4', '4×'], ['16', '16×'], ['0', 'fastest']].map(([v, t]) => el('option', { value: v, text: t })));
  const pos = el('span', { cls: 'mono', id: 'pos' });
  view.replayBar.replaceChildren(el('a', { href: '#s=' + encodeURIComponent(id), text: '← live' }), play, speed, scrub, pos);
  let events = [], at = 0, timer = 0, playing = false;
  const show = () => { scrub.value = String(at); pos.textContent = at + ' / ' + events.length; };
  const seek = (k) => {
    const tl = new Timeline({ session: id });
    view.clearEvents();
    for (let i = 0; i < k; i++) { tl.apply(events[i]); view.addEvent(events[i]); }
    view.reset(tl);
    view.lastTime = k ? events[k - 1].time : '';
    at = k; show();
  };
  const step = () => {
    timer = 0;
    if (!playing) return;
    const fastest = speed.value === '0';
    const until = performance.now() + 12;
    do {
      const ev = events[at++];
      view.tl.apply(ev); view.addEvent(ev); view.lastTime = ev.time;
    } while (fastest && at < events.length && performance.now() < until);
    view.schedule(); show();
    if (at >= events.length) { setPlaying(false); return; }
    const gap = fastest ? 0 : Math.min(2000, Math.max(0, Date.parse(events[at].time) - Date.parse(events[at - 1].time)) / Number(speed.value));
    timer = setTimeout(step, gap);
  };
  const setPlaying = (on) => {
    playing = on;
    play.textContent = on ? '⏸ pause' : '▶ play';
    if (timer) { clearTimeout(timer); timer = 0; }
    if (on) { if (at >= events.length) seek(0); timer = setTimeout(step, 0); }
  };
  play.addEventListener('click', () => setPlaying(!playing));
  scrub.addEventListener('input', () => { setPlaying(false); seek(Number(scrub.value)); });
  page.stop = () => { ctl.abort(); playing = false; if (timer) clearTimeout(timer); };
  readLog(id, ctl.signal, (n) => { pos.textContent = 'loading ' + n; })
    .then((all) => { events = all; scrub.max = String(all.length); seek(all.length); main.dataset.ready = '1'; })
    .catch((e) => { if (!ctl.signal.aborted) errorBox(main, e); });
  return page;
}

// listPage shows the sessions, newest activity first across pages (the
// server's order=recent, paged with before=), refreshed every 1.5 s, so a
// new or active session comes to the top of the first page; with each
// one's model, tokens, cost and error marker from the summaries the server
// keeps (summary=1). The filters are an ID prefix and an event type
// pattern (sessions holding a matching event; the server examines a
// bounded number of sessions per page, so a filtered page may be short and
// still have a next one).
const pageSize = 50; // sessions per page of the list

function listPage() {
  const main = $('main');
  let stopped = false;
  const page = { id: '', mode: 'list', stop: () => { stopped = true; clearTimeout(timer); } };
  $('where').textContent = 'sessions';
  setConn('', '');
  const prefix = el('input', { type: 'search', id: 'prefix', placeholder: 'filter by ID prefix' });
  const types = el('input', { type: 'search', id: 'types', placeholder: 'with an event of type (tool.>)' });
  const prev = el('button', { type: 'button', text: '‹ prev', disabled: true });
  const next = el('button', { type: 'button', text: 'next ›', disabled: true });
  const info = el('span', { cls: 'muted', id: 'listinfo' });
  const body = el('tbody', { id: 'sessions' });
  main.replaceChildren(el('div', { cls: 'bar' }, prefix, types, prev, next, info),
    el('table', {}, el('thead', {}, el('tr', {}, ...['session', 'events', 'last activity', 'model', 'tokens', 'cost', ''].map((h, i) => el('th', { cls: i === 1 || i === 4 || i === 5 ? 'num' : '', text: h })))), body));
  const cursors = ['']; // before= of each page seen
  let pageNo = 0, timer = 0, nextCursor = '', gen = 0;
  const refresh = async () => {
    if (stopped) return;
    const my = ++gen; // a newer refresh (a filter changed) wins
    try {
      const q = new URLSearchParams({ order: 'recent', limit: String(pageSize), summary: '1' });
      if (prefix.value) q.set('prefix', prefix.value);
      if (types.value.trim()) q.set('types', types.value.trim());
      if (cursors[pageNo]) q.set('before', cursors[pageNo]);
      const res = await getJSON('/v1/sessions?' + q);
      if (stopped || my !== gen) return;
      nextCursor = res.next_before ? String(res.next_before) : '';
      next.disabled = !nextCursor; prev.disabled = pageNo === 0;
      const list = res.sessions;
      types.classList.remove('bad');
      info.textContent = 'page ' + (pageNo + 1) + ' · ' + list.length + ' sessions' +
        (nextCursor && list.length < pageSize ? ' (the server examined its allowance: more on the next page)' : '');
      body.replaceChildren(...list.map((s) => sessionRow(s)));
    } catch (e) {
      if (e.status === 401 || my !== gen) return;
      if (e.status === 400 && types.value) types.classList.add('bad');
      info.textContent = 'error: ' + e.message;
    }
    if (!stopped) timer = setTimeout(refresh, 1500);
  };
  const restart = () => { clearTimeout(timer); refresh(); };
  const refilter = () => { pageNo = 0; cursors.length = 1; restart(); };
  prefix.addEventListener('input', refilter);
  types.addEventListener('input', refilter);
  next.addEventListener('click', () => { if (!nextCursor) return; cursors[++pageNo] = nextCursor; restart(); });
  prev.addEventListener('click', () => { if (pageNo > 0) pageNo--; restart(); });
  refresh();
  return page;
}

// sessionRow is one session of the list, with its summary (model, tokens,
// cost, error marker) as GET /v1/sessions?summary=1 gives it.
function sessionRow(s) {
  const sum = s.summary;
  const model = el('td', { cls: 'mono', text: sum ? (sum.models || []).join(', ') : '' });
  const tokens = el('td', { cls: 'num', text: sum ? String(sum.tokens) : '' });
  const cost = el('td', { cls: 'num', text: sum ? fmtCost(sum.cost, sum.cost_unknown) : '' });
  const mark = el('td', {}, sum && sum.errors ? el('span', { cls: 'marker', text: 'error', title: sum.error }) : '');
  return el('tr', { 'data-session': s.id },
    el('td', { cls: 'mono' }, el('a', { href: '#s=' + encodeURIComponent(s.id), text: s.id })),
    el('td', { cls: 'num', text: String(s.count) }),
    el('td', { text: ago(s.last), title: s.last }), model, tokens, cost, mark);
}

function ago(t) {
  const d = (Date.now() - Date.parse(t)) / 1000;
  if (!isFinite(d)) return '';
  if (d < 5) return 'just now';
  if (d < 90) return Math.round(d) + ' s ago';
  if (d < 5400) return Math.round(d / 60) + ' min ago';
  if (d < 129600) return Math.round(d / 3600) + ' h ago';
  return t.slice(0, 10);
}

route(true);

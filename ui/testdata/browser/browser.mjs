// Drives Debian's Chromium through Sluice's web page; run by
// ui/browser_test.go, which starts the servers and passes their URLs.
// Each check prints "ok NAME"; the first failure throws and exits 1.
import { chromium } from 'playwright-core';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// restart asks the Go test to restart the restartable server ("same":
// on the same log; "fresh": on a new, empty one) and waits until it has.
const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function restart(how) { console.log('RESTART ' + how); await stdinLines.next(); }
// network asks the Go test to cut ("down") or restore ("up") the network
// between the page and the open server (a TCP proxy) and waits until it has.
async function network(how) { console.log('NETWORK ' + how); await stdinLines.next(); }
// aguiResume asks the Go test to answer the open interrupts of session
// "ask" (an AG-UI resume) and waits until the answering run has ended.
async function aguiResume() { console.log('AGUI resume'); await stdinLines.next(); }

const env = process.env;
const URL0 = env.SLUICE_URL, KEYED = env.SLUICE_KEYED_URL;
const results = {};
const T = 15000;

function check(cond, what) { if (!cond) throw new Error('FAILED: ' + what); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// publish posts events (objects with type, session, payload, meta) as NDJSON.
async function publish(base, events, key) {
  const body = events.map((e) => JSON.stringify({ type: e.type, time: e.time, meta: Object.assign({ session: e.session }, e.meta || {}), payload: e.payload || {} })).join('\n');
  const h = { 'Content-Type': 'application/x-ndjson' };
  if (key) h.Authorization = 'Bearer ' + key;
  const r = await fetch(base + '/v1/events', { method: 'POST', headers: h, body });
  if (!r.ok) throw new Error('publish: ' + r.status + ' ' + await r.text());
  return r.json();
}
const delta = (session, text, msg = 'm1') => ({ type: 'message.text.delta', session, meta: { message: msg }, payload: { index: 0, text } });
const convText = (page) => page.$eval('#conv', (n) => n.textContent);

// foldsAsServer checks that the page's fold of session from scratch (the
// replay's) equals the server's timeline (Go package timeline), field by
// field that the page shows.
async function foldsAsServer(page, session) {
  const goTl = await (await fetch(URL0 + '/v1/sessions/' + session + '/timeline')).json();
  const jsTl = await page.evaluate(async (id) => {
    const evs = await readLog(id, undefined, () => {});
    const tl = new Timeline({ session: id });
    for (const ev of evs) tl.apply(ev);
    return JSON.parse(JSON.stringify({ seq: tl.seq, system_prompt: tl.system_prompt, runs: tl.runs, messages: tl.messages, tool_calls: tl.tool_calls, steps: tl.steps, usage: tl.usage, problems: tl.problems }));
  }, session);
  const norm = (t) => JSON.stringify({
    seq: t.seq, system: t.system_prompt || '',
    runs: (t.runs || []).map((r) => [r.id, r.status, r.prompt || '', !!r.explicit, r.reason || '', r.error || null, r.start, r.end || '',
      r.interrupts || [], r.answered_by || '', r.resumes || '', r.answers || []]),
    messages: (t.messages || []).map((m) => [m.id, m.role, m.status, m.model || '', m.stop_reason || '', (m.parts || []).map((p) => [p.kind, p.text]), m.tool_call_ids || []]),
    tools: (t.tool_calls || []).map((c) => [c.id, c.name, c.status, c.arguments ? JSON.parse(c.arguments) : null, c.result === undefined ? null : c.result, c.duration_ns || 0]),
    steps: (t.steps || []).map((x) => [x.kind, x.name, x.status, x.duration_ns || 0]),
    usage: (t.usage || []).map((u) => [u.provider, u.model, u.calls, u.tokens, u.cost]),
    problems: (t.problems || []).map((p) => [p.kind, p.type, p.seq]),
  });
  check(norm(jsTl) === norm(goTl), 'the page folds ' + session + ' as the server does:\n' + norm(jsTl) + '\n' + norm(goTl));
}

const browser = await chromium.launch({
  executablePath: env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-quic', '--no-first-run', '--disable-sync'],
});
try {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => { console.log('page error:', e.message); results.pageErrors = (results.pageErrors || 0) + 1; });

  // 1. The session list updates live.
  await publish(URL0, [delta('first', 'x')]);
  await page.goto(URL0 + '/');
  await page.waitForSelector('tr[data-session="first"]', { timeout: T });
  await publish(URL0, [{ type: 'message.started', session: 'second', payload: { id: 'm1', role: 'assistant', model: 'test-model' } }]);
  await page.waitForSelector('tr[data-session="second"]', { timeout: T });
  await publish(URL0, [
    { type: 'message.started', session: 'broken', payload: { id: 'm1', role: 'assistant', model: 'model-x' } },
    { type: 'provider.call.completed', session: 'broken', payload: { provider: 'p', model: 'model-x', usage: { input_tokens: 10, output_tokens: 5 }, cost: 0.5 } },
    { type: 'stream.error', session: 'broken', payload: { error: { message: 'overloaded' } } },
  ]);
  await page.waitForFunction(() => { const r = document.querySelector('tr[data-session="broken"]'); return r && r.textContent.includes('model-x') && r.textContent.includes('$0.5000') && r.querySelector('.marker'); }, null, { timeout: T });
  const order = await page.$$eval('#sessions tr', (rs) => rs.map((r) => r.dataset.session));
  check(order[0] === 'broken' && order.indexOf('second') < order.indexOf('first'), 'newest activity first: ' + order);
  await page.fill('#prefix', 'sec');
  await page.waitForFunction(() => document.querySelectorAll('#sessions tr').length === 1 && document.querySelector('tr[data-session="second"]'), null, { timeout: T });
  const many = [];
  for (let i = 0; i < 60; i++) many.push(delta('many-' + String(i).padStart(2, '0'), 'x'));
  await publish(URL0, many);
  await page.fill('#prefix', 'many-');
  await page.waitForFunction(() => document.querySelectorAll('#sessions tr').length === 50, null, { timeout: T });
  // Newest first across pages: the server's order, not a sort of a page
  // in ID order.
  const listed = () => page.$$eval('#sessions tr', (rs) => rs.map((r) => r.dataset.session).join(' '));
  const manyName = (i) => 'many-' + String(i).padStart(2, '0');
  const newest = (from, n) => Array.from({ length: n }, (_, i) => manyName(from - i)).join(' ');
  check(await listed() === newest(59, 50), 'page 1 lists many-59 … many-10: ' + await listed());
  await page.click('text=next ›');
  await page.waitForFunction(() => document.querySelectorAll('#sessions tr').length === 10 && document.getElementById('listinfo').textContent.startsWith('page 2'), null, { timeout: T });
  check(await listed() === newest(9, 10), 'page 2 lists many-09 … many-00: ' + await listed());
  // A session of page 2 that gets an event leaves it for the top of page 1.
  await publish(URL0, [delta(manyName(3), 'y')]);
  await page.waitForFunction(() => document.querySelectorAll('#sessions tr').length === 9 && !document.querySelector('tr[data-session="many-03"]'), null, { timeout: T });
  await page.click('text=‹ prev');
  await page.waitForFunction(() => document.querySelectorAll('#sessions tr').length === 50 && document.querySelector('#sessions tr').dataset.session === 'many-03', null, { timeout: T });
  check(await listed() === manyName(3) + ' ' + newest(59, 49), 'page 1 after many-03 got an event: ' + await listed());
  // The type filter: sessions holding a matching event, newest first.
  await publish(URL0, [
    { type: 'tool.call.started', session: manyName(41), payload: { name: 'search' } },
    { type: 'tool.call.started', session: manyName(5), payload: { name: 'search' } },
  ]);
  await page.fill('#types', 'tool.>');
  await page.waitForFunction(() => document.querySelectorAll('#sessions tr').length === 2, null, { timeout: T });
  check(await listed() === 'many-05 many-41', 'types=tool.> lists many-05, many-41: ' + await listed());
  await page.fill('#types', 'tool..x');
  await page.waitForSelector('#types.bad', { timeout: T });
  await page.fill('#types', '');
  await page.waitForFunction(() => document.querySelectorAll('#sessions tr').length === 50 && !document.querySelector('#types.bad'), null, { timeout: T });
  await page.fill('#prefix', 'second');
  console.log('ok the session list updates live (model, tokens, cost, error marker, newest first across pages, prefix and type filters, pages)');

  // 2. A run's text streams into the page.
  await page.click('tr[data-session="second"] a');
  await page.waitForFunction(() => document.getElementById('conn').textContent === 'live', null, { timeout: T });
  const words = ['Hello', ', ', 'wor', 'ld', '.'];
  for (const w of words) {
    await publish(URL0, [delta('second', w)]);
    await page.waitForFunction((want) => document.getElementById('conv').textContent.includes(want), words.slice(0, words.indexOf(w) + 1).join(''), { timeout: T });
  }
  console.log('ok a run\'s text streams into the page');

  // 3. A tool card shows the arguments, then the result.
  const tool = { call_id: 'call_1', name: 'get_weather' };
  await publish(URL0, [
    { type: 'tool.call.delta', session: 'second', meta: { message: 'm1' }, payload: Object.assign({ delta: '{"city": ' }, tool) },
    { type: 'tool.call.delta', session: 'second', meta: { message: 'm1' }, payload: Object.assign({ delta: '"Paris"}' }, tool) },
    { type: 'tool.call.requested', session: 'second', meta: { message: 'm1' }, payload: Object.assign({ arguments: { city: 'Paris' } }, tool) },
  ]);
  await page.waitForFunction(() => { const a = document.querySelector('.tool[data-tool="call_1"] pre.args'); return a && a.textContent.includes('"city": "Paris"'); }, null, { timeout: T });
  check(await page.$('.tool[data-tool="call_1"] pre.result') === null, 'no result before the tool ran');
  await publish(URL0, [
    { type: 'tool.call.started', session: 'second', meta: { tool_call: 'call_1' }, payload: Object.assign({ arguments: { city: 'Paris' } }, tool) },
    { type: 'tool.call.completed', session: 'second', meta: { tool_call: 'call_1' }, payload: Object.assign({ result: { temp_c: 18, sky: 'cloudy' }, duration_ns: 1500000 }, tool) },
  ]);
  await page.waitForFunction(() => { const r = document.querySelector('.tool[data-tool="call_1"] pre.result'); return r && r.textContent.includes('"temp_c": 18'); }, null, { timeout: T });
  const status = await page.$eval('.tool[data-tool="call_1"] .status', (n) => n.textContent);
  check(status === 'completed', 'tool status completed, got ' + status);
  console.log('ok a tool card shows the arguments, then the result');

  // 4. Hostile event content stays text.
  const evil = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
  await publish(URL0, [delta('second', evil)]);
  await page.waitForFunction((e) => document.getElementById('conv').textContent.includes(e), evil, { timeout: T });
  check(await page.$('#conv img, #conv script') === null, 'no element made from event text');
  check(await page.evaluate(() => window.__pwned) === undefined, 'no script ran');
  console.log('ok hostile event content stays text');

  // 5. A reload mid-run gives the same page, with no duplicated text.
  const before = await convText(page);
  await page.reload();
  await page.waitForFunction((b) => document.getElementById('conv').textContent === b, before, { timeout: T });
  await publish(URL0, [delta('second', ' After reload.')]);
  await page.waitForFunction(() => document.getElementById('conv').textContent.includes('After reload.'), null, { timeout: T });
  const want = 'Hello, world.' + evil + ' After reload.';
  const text = await page.$eval('[data-msg="m1"] .text', (n) => n.textContent);
  check(text === want, 'text after reload is ' + JSON.stringify(text));
  const other = await ctx.newPage();
  await other.goto(page.url());
  await other.waitForFunction((t) => document.getElementById('conv').textContent === t, await convText(page), { timeout: T });
  await other.close();
  console.log('ok a reload mid-run gives the same page with no duplicated text; another tab agrees');

  // 5b. A server restart loses and duplicates nothing; on a new log the
  // page starts over.
  const RS = env.SLUICE_RESTART_URL;
  await publish(RS, [{ type: 'message.started', session: 'r', payload: { id: 'm1', role: 'assistant' } }, delta('r', 'one ')]);
  await page.goto(RS + '/#s=r');
  await page.waitForFunction(() => document.getElementById('conn').textContent === 'live', null, { timeout: T });
  await restart('same');
  await publish(RS, [delta('r', 'two ')]);
  await page.waitForFunction(() => { const n = document.querySelector('[data-msg="m1"] .text'); return n && n.textContent === 'one two '; }, null, { timeout: T });
  await restart('same');
  await publish(RS, [delta('r', 'three')]);
  await page.waitForFunction(() => { const n = document.querySelector('[data-msg="m1"] .text'); return n && n.textContent === 'one two three'; }, null, { timeout: T });
  // The inspector follows the conversation; wait for it rather than race it.
  await page.waitForFunction(() => document.querySelectorAll('#events .ev').length === 4, null, { timeout: T })
    .catch(() => check(false, 'four events in the inspector after restarts'));
  await restart('fresh');
  await publish(RS, [{ type: 'message.started', session: 'r', payload: { id: 'm1', role: 'assistant' } }, delta('r', 'new log')]);
  await page.waitForFunction(() => { const n = document.querySelector('[data-msg="m1"] .text'); return n && n.textContent === 'new log'; }, null, { timeout: T });
  await page.waitForFunction(() => document.querySelectorAll('#events .ev').length === 2, null, { timeout: T })
    .catch(async () => check(false, 'the inspector starts over on a new log (it shows ' +
      await page.$eval('#events', (n) => n.querySelectorAll('.ev').length) + ' events)'));
  console.log('ok a server restart loses and duplicates nothing; a new log starts the page over');

  // 5c. A dropped network (no server restart) loses and duplicates
  // nothing: the page reaches the open server through a TCP proxy that is
  // cut mid-run while the run goes on, then restored.
  const PX = env.SLUICE_PROXY_URL;
  await publish(URL0, [{ type: 'message.started', session: 'net', payload: { id: 'm1', role: 'assistant' } }, delta('net', 'one ')]);
  await page.goto(PX + '/#s=net');
  await page.waitForFunction(() => { const n = document.querySelector('[data-msg="m1"] .text'); return n && n.textContent === 'one ' && document.getElementById('conn').textContent === 'live'; }, null, { timeout: T });
  await network('down');
  await page.waitForFunction(() => document.getElementById('conn').textContent !== 'live', null, { timeout: T })
    .catch(() => check(false, 'the page saw the network drop'));
  for (const w of ['two ', 'three ', 'four ']) await publish(URL0, [delta('net', w)]);
  await sleep(300);
  check(await page.$eval('[data-msg="m1"] .text', (n) => n.textContent) === 'one ', 'no text arrives while the network is down');
  await network('up');
  await publish(URL0, [delta('net', 'five')]);
  await page.waitForFunction(() => { const n = document.querySelector('[data-msg="m1"] .text'); return n && n.textContent.includes('five'); }, null, { timeout: T });
  const netTL = await (await fetch(URL0 + '/v1/sessions/net/timeline')).json();
  const serverText = netTL.messages.map((m) => (m.parts || []).filter((p) => p.kind === 'text').map((p) => p.text).join('')).join('');
  const pageText = await page.$eval('[data-msg="m1"] .text', (n) => n.textContent);
  check(serverText === 'one two three four five' && pageText === serverText, 'after the network came back the page shows ' + JSON.stringify(pageText) + ', the server ' + JSON.stringify(serverText));
  await page.waitForFunction((n) => document.querySelectorAll('#events .ev').length === n, netTL.seq, { timeout: T })
    .catch(async () => check(false, 'the inspector shows each of the ' + netTL.seq + ' events once (it shows ' +
      await page.$eval('#events', (n) => n.querySelectorAll('.ev').length) + ')'));
  const seqs = await page.$$eval('#events .ev', (rs) => rs.map((r) => Number(r.dataset.seq)));
  check(new Set(seqs).size === seqs.length, 'no event twice in the inspector: ' + seqs);
  console.log('ok a dropped network (no restart) loses and duplicates nothing');

  // 5d. A session whose timeline is over the server's response limit
  // (413) opens from its events instead, whole.
  const TIGHT = env.SLUICE_TIGHT_URL;
  const chunks = [];
  for (let i = 0; i < 60; i++) chunks.push('chunk ' + String(i).padStart(2, '0') + ' ' + 'x'.repeat(90) + '. ');
  await publish(TIGHT, [{ type: 'message.started', session: 'huge', payload: { id: 'm1', role: 'assistant' } }, ...chunks.map((c) => delta('huge', c))]);
  const tooLarge = await fetch(TIGHT + '/v1/sessions/huge/timeline');
  check(tooLarge.status === 413 && (await tooLarge.json()).error.code === 'too_large', 'the timeline over the limit is a 413 too_large, got ' + tooLarge.status);
  await page.goto(TIGHT + '/#s=huge');
  await page.waitForFunction((want) => { const n = document.querySelector('[data-msg="m1"] .text'); return n && n.textContent === want && document.getElementById('conn').textContent === 'live'; }, chunks.join(''), { timeout: T })
    .catch(async () => check(false, 'the page folds a session over the limit from its events (it shows ' +
      JSON.stringify(((await page.$eval('#main', (n) => n.textContent)) || '').slice(0, 200)) + ')'));
  await publish(TIGHT, [delta('huge', 'the end')]);
  await page.waitForFunction((want) => { const n = document.querySelector('[data-msg="m1"] .text'); return n && n.textContent === want; }, chunks.join('') + 'the end', { timeout: T });
  console.log('ok a session over the response limit opens from its events');

  // 5e. Errors show in the conversation.
  await page.goto(URL0 + '/#s=broken');
  await page.waitForFunction(() => { const p = document.querySelector('#problems .problem'); return p && p.textContent.includes('overloaded') && p.textContent.includes('stream.error'); }, null, { timeout: T });
  console.log('ok errors show in the conversation');

  // 5f. A run waiting for input (an AG-UI interrupt, made by the Go
  // test): an "awaiting input" card per open interrupt, after the message
  // that asked; once a later run answers them, each card shows its answer.
  await page.goto(URL0 + '/#s=ask');
  await page.waitForFunction(() => document.querySelectorAll('#conv .interrupt').length === 2 && document.getElementById('conn').textContent === 'live', null, { timeout: T })
    .catch(async () => check(false, 'two awaiting-input cards (the conversation shows ' + JSON.stringify(await convText(page)) + ')'));
  const cards = () => page.$$eval('#conv .interrupt', (ns) => ns.map((n) => ({ id: n.dataset.interrupt, state: n.dataset.state, text: n.textContent })));
  let ask = await cards();
  check(ask[0].id === 'approve' && ask[0].state === 'open' && ask[0].text.includes('awaiting input') && ask[0].text.includes('approval') &&
    ask[0].text.includes('Book the flight to Paris?') && ask[0].text.includes('expires 2099-01-02 15:04:05 UTC'), 'the approval card: ' + JSON.stringify(ask[0]));
  check(ask[1].id === 'seat' && ask[1].state === 'open' && ask[1].text.includes('<img src=x onerror="window.__pwned=3">Which seat?') &&
    ask[1].text.includes('call_seat') && ask[1].text.includes('"type": "string"'), 'the seat card: ' + JSON.stringify(ask[1]));
  check(await page.$('#conv img') === null && await page.evaluate(() => window.__pwned) === undefined, 'an interrupt\'s text stays text');
  check(await page.$eval('.run-waiting .status', (n) => n.textContent) === 'waiting', 'the run shows as waiting');
  const after = (a, b) => page.evaluate(([a, b]) => !!(document.querySelector(a).compareDocumentPosition(document.querySelector(b)) & Node.DOCUMENT_POSITION_PRECEDING), [a, b]);
  check(await after('[data-run="ask-1"]', '[data-msg="say-ask-1"]'), 'the cards follow the message that asked');
  await foldsAsServer(page, 'ask');
  await aguiResume();
  await page.waitForFunction(() => document.querySelectorAll('#conv .interrupt[data-state="answered"]').length === 2 && document.getElementById('conv').textContent.includes('Booked {"fare":"economy"}.'), null, { timeout: T })
    .catch(async () => check(false, 'the answers show (the conversation shows ' + JSON.stringify(await convText(page)) + ')'));
  ask = await cards();
  check(ask[0].text.includes('resolved') && ask[0].text.includes('"fare": "economy"') && ask[1].text.includes('cancelled') && ask.every((c) => c.text.includes('ask-2')),
    'the answered cards: ' + JSON.stringify(ask));
  check(!(await convText(page)).includes('awaiting input') && await page.$('.run-waiting') === null, 'nothing awaits input any more');
  check(await after('[data-run="ask-1"]', '[data-msg="say-ask-1"]') && await after('[data-msg="say-ask-2"]', '[data-run="ask-1"]'), 'the answered cards stay between the question and the answer');
  await foldsAsServer(page, 'ask');
  const answered = await convText(page);
  await page.reload();
  await page.waitForFunction((b) => document.getElementById('conv').textContent === b, answered, { timeout: T })
    .catch(async () => check(false, 'a reload shows the same answered run: ' + JSON.stringify(await convText(page)) + ' != ' + JSON.stringify(answered)));
  await page.click('#toreplay');
  await page.waitForSelector('main[data-ready="1"]', { timeout: T });
  // The view renders on the next frame after the replay has read the log.
  await page.waitForFunction((b) => document.getElementById('conv').textContent === b, answered, { timeout: T }).catch(() => {});
  check(await convText(page) === answered && (await cards()).length === 2, 'the replay of the answered run shows the live view: ' + JSON.stringify(await convText(page)));
  console.log('ok a waiting run shows a card per open interrupt, then the answers, live, reloaded and replayed; the page folds it as the server does');

  // 6. The inspector filters by type, shows an event, and links to it.
  await page.goto(URL0 + '/#s=second');
  await page.waitForFunction(() => document.querySelectorAll('#events .ev').length === 13, null, { timeout: T });
  await page.fill('#evtype', 'tool.*');
  await page.waitForFunction(() => document.querySelectorAll('#events .ev').length === 5, null, { timeout: T });
  await page.fill('#evtype', '');
  await page.fill('#evsearch', 'Paris');
  await page.waitForFunction(() => document.querySelectorAll('#events .ev').length === 3, null, { timeout: T });
  await page.fill('#evsearch', '');
  await page.click('#events .ev[data-seq="3"] .row');
  await page.waitForSelector('#events .ev.sel[data-seq="3"] pre.payload', { timeout: T });
  check(page.url().endsWith('&ev=3'), 'the URL links to the event: ' + page.url());
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: URL0 });
  await page.click('#events .ev.sel button.copy');
  const copied = JSON.parse(await page.evaluate(() => navigator.clipboard.readText()));
  check(copied.seq === 3 && copied.type === 'message.text.delta' && copied.payload.text === ', ', 'copied as JSON: ' + JSON.stringify(copied));
  const linked = await ctx.newPage();
  await linked.goto(page.url());
  await linked.waitForSelector('#events .ev.sel[data-seq="3"] pre.payload', { timeout: T });
  await linked.close();
  console.log('ok the inspector filters, searches, copies as JSON and links to one event');

  // 7. The demo run, for the screenshot, and its replay with the scrubber.
  const demo = readFileSync(env.DEMO_EVENTS, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  await publish(URL0, demo.map((e) => ({ type: e.type, time: e.time, session: 'demo', meta: Object.assign({}, e.meta, { session: 'demo' }), payload: e.payload })));
  await page.goto(URL0 + '/#s=demo');
  // Every event on the page, so that the live view compared with the
  // replay below is the whole run.
  await page.waitForFunction((n) => document.getElementById('conv').textContent.includes('jacket') && document.querySelectorAll('#events .ev').length === n, demo.length, { timeout: T });
  // Thinking is collapsed, and opens; errors show.
  check(await page.$eval('details.thinking', (d) => !d.open && d.querySelector('div').textContent.length > 0), 'thinking is there, collapsed');
  await page.click('details.thinking summary');
  check(await page.$eval('details.thinking', (d) => d.open), 'thinking opens');
  await page.click('details.thinking summary');
  const liveText = await convText(page);
  if (env.SCREENSHOTS) await page.screenshot({ path: join(env.SCREENSHOTS, 'ui-session.png'), fullPage: true });
  await page.click('#toreplay');
  await page.waitForSelector('main[data-ready="1"]', { timeout: T });
  // The view renders on the next frame after the replay has read the log.
  const same = await page.waitForFunction((t) => document.getElementById('conv').textContent === t, liveText, { timeout: T }).then(() => true, () => false);
  check(same, 'the replay at its end shows the live view:\n' + (await convText(page)) + '\n---- live:\n' + liveText);
  await page.$eval('#scrub', (n) => { n.value = '0'; n.dispatchEvent(new Event('input')); });
  await page.waitForFunction(() => document.getElementById('conv').textContent === '', null, { timeout: T });
  await page.selectOption('#speed', '0');
  await page.click('#play');
  await page.waitForFunction((n) => document.getElementById('pos').textContent === n + ' / ' + n, demo.length, { timeout: T });
  await page.waitForFunction((t) => document.getElementById('conv').textContent === t, liveText, { timeout: T });
  // The page's fold from scratch (the replay's) equals the server's
  // timeline (Go package timeline), field by field that the page shows.
  for (const session of ['demo', 'second']) await foldsAsServer(page, session);
  const half = Math.floor(demo.length * 0.6);
  await page.$eval('#scrub', (n, v) => { n.value = String(v); n.dispatchEvent(new Event('input')); }, half);
  await page.waitForFunction((n) => document.getElementById('pos').textContent.startsWith(n + ' /'), half, { timeout: T });
  const partial = await convText(page);
  check(partial.length > 0 && partial.length < liveText.length, 'the scrubber at 60% shows part of the run');
  await page.selectOption('#speed', '16');
  await page.click('#play');
  await page.waitForFunction((n) => document.getElementById('pos').textContent === n + ' / ' + n, demo.length, { timeout: T });
  await page.$eval('#scrub', (n, v) => { n.value = String(v); n.dispatchEvent(new Event('input')); }, half);
  if (env.SCREENSHOTS) await page.screenshot({ path: join(env.SCREENSHOTS, 'ui-replay.png'), fullPage: true });
  console.log('ok the scrubber replays; the page folds as the server does');

  // 8. Keys: no page without one; a tenant sees only its own sessions.
  await publish(KEYED, [delta('tenA-1', 'for A')], 'admin-secret');
  await publish(KEYED, [delta('tenB-1', 'for B')], 'admin-secret');
  const kctx = await browser.newContext();
  const kp = await kctx.newPage();
  const urls = [];
  kp.on('request', (r) => urls.push(r.url()));
  await kp.goto(KEYED + '/');
  await kp.waitForSelector('#keybox:not([hidden])', { timeout: T });
  check(await kp.$('tr[data-session]') === null, 'no session is listed without a key');
  await kp.fill('#key', 'a-secret');
  await kp.press('#key', 'Enter');
  await kp.waitForSelector('tr[data-session="tenA-1"]', { timeout: T });
  check(await kp.$('tr[data-session="tenB-1"]') === null, 'tenant A does not see tenant B');
  await kp.goto(KEYED + '/#s=tenB-1');
  await kp.waitForSelector('#error', { timeout: T });
  check(!(await kp.$eval('#main', (n) => n.textContent)).includes('for B'), 'tenant A cannot read tenant B');
  await kp.goto(KEYED + '/#s=tenA-1');
  await kp.waitForFunction(() => document.getElementById('conv') && document.getElementById('conv').textContent.includes('for A'), null, { timeout: T });
  check(!urls.some((u) => u.includes('secret')), 'the key never appears in a URL');
  const k2 = await browser.newContext();
  const kp2 = await k2.newPage();
  await kp2.goto(KEYED + '/#s=tenA-1');
  await kp2.waitForSelector('#keybox:not([hidden])', { timeout: T });
  await k2.close();
  await kctx.close();
  console.log('ok a key-protected server refuses the page without a key; a tenant cannot open another\'s session');

  // 9. Measurements: ingest -> text on the page at 50 deltas/s.
  await publish(URL0, [{ type: 'message.started', session: 'lat', payload: { id: 'm1', role: 'assistant' } }]);
  await page.goto(URL0 + '/#s=lat');
  await page.waitForFunction(() => document.getElementById('conn').textContent === 'live', null, { timeout: T });
  await page.evaluate(() => {
    window.__seen = {};
    const conv = document.getElementById('conv');
    new MutationObserver(() => {
      const now = Date.now();
      for (const m of conv.textContent.matchAll(/\[(\d+)\]/g)) if (!(m[1] in window.__seen)) window.__seen[m[1]] = now;
    }).observe(conv, { subtree: true, childList: true, characterData: true });
  });
  // The baseline, in the same run: a plain fetch-stream client in Node
  // on the same server and the same events (delivery alone, no page).
  const nodeSeen = {};
  const ac = new AbortController();
  const base = await fetch(URL0 + '/v1/sessions/lat/stream?after=1', { headers: { Accept: 'text/event-stream' }, signal: ac.signal });
  (async () => {
    const dec = new TextDecoder();
    try { for await (const chunk of base.body) { const now = Date.now(); for (const m of dec.decode(chunk, { stream: true }).matchAll(/\[(\d+)\]/g)) if (!(m[1] in nodeSeen)) nodeSeen[m[1]] = now; } } catch (e) { /* aborted */ }
  })();
  const N = 250, sent = {};
  const t0 = Date.now();
  for (let k = 0; k < N; k++) {
    const due = t0 + k * 20;
    if (Date.now() < due) await sleep(due - Date.now());
    sent[k] = Date.now();
    publish(URL0, [delta('lat', ' [' + k + ']')]); // not awaited: 50/s whatever the round trip
  }
  await page.waitForFunction((n) => Object.keys(window.__seen).length >= n, N, { timeout: 30000 });
  ac.abort();
  const seen = await page.evaluate(() => window.__seen);
  const stats = (seenAt) => {
    const lat = Object.keys(sent).map((k) => seenAt[k] - sent[k]).sort((a, b) => a - b);
    const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
    return { p50: pct(0.5), p95: pct(0.95), max: lat[lat.length - 1] };
  };
  results.latency_ms = { deltas: N, rate_per_s: 50, page: stats(seen), node_stream_baseline: stats(nodeSeen) };
  console.log('ok latency', JSON.stringify(results.latency_ms));

  // 10. Time to open a 10,000-event session (50 messages of 200 deltas).
  const big = [];
  for (let m = 0; m < 50; m++) {
    big.push({ type: 'message.started', session: 'big', payload: { id: 'b' + m, role: 'assistant', model: 'test-model' } });
    for (let d = 0; d < 198; d++) big.push(delta('big', 'word' + d + ' ', 'b' + m));
    big.push({ type: 'message.stopped', session: 'big', meta: { message: 'b' + m }, payload: { id: 'b' + m, stop_reason: 'end_turn' } });
  }
  for (let i = 0; i < big.length; i += 1000) await publish(URL0, big.slice(i, i + 1000));
  const opens = [];
  for (let i = 0; i < 3; i++) {
    await page.goto('about:blank');
    const s = Date.now();
    await page.goto(URL0 + '/#s=big');
    await page.waitForFunction(() => document.querySelectorAll('#conv .msg').length === 50 && document.getElementById('seq').textContent === 'seq 10000', null, { timeout: 60000 });
    const conv = Date.now() - s;
    await page.waitForFunction(() => /^10000 events/.test(document.querySelector('#inspector .bar .muted').textContent), null, { timeout: 60000 });
    const all = Date.now() - s;
    const snapshot = await page.evaluate(async () => { const s = performance.now(); await (await fetch('/v1/sessions/big/timeline')).json(); return Math.round(performance.now() - s); });
    opens.push({ conversation_ms: conv, with_inspector_ms: all, baseline_timeline_fetch_ms: snapshot });
  }
  results.open_10k = opens;
  console.log('ok open 10k', JSON.stringify(opens));

  // 11. Page memory after streaming 10,000 events live.
  await publish(URL0, [{ type: 'message.started', session: 'mem', payload: { id: 'x0', role: 'assistant' } }]);
  await page.goto('about:blank');
  await page.goto(URL0 + '/#s=mem');
  await page.waitForFunction(() => document.getElementById('conn').textContent === 'live', null, { timeout: T });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const heap = async () => { await cdp.send('HeapProfiler.collectGarbage'); const m = await cdp.send('Performance.getMetrics'); const g = (n) => m.metrics.find((x) => x.name === n).value; return { js_heap_mb: +(g('JSHeapUsedSize') / 1048576).toFixed(1), nodes: g('Nodes') }; };
  const idle = await heap();
  const live = big.map((e) => Object.assign({}, e, { session: 'mem' }));
  live.shift();
  for (let i = 0; i < live.length; i += 200) { await publish(URL0, live.slice(i, i + 200)); await sleep(20); }
  await page.waitForFunction((n) => document.getElementById('seq').textContent === 'seq ' + n, live.length + 1, { timeout: 60000 });
  results.memory = { before: idle, after_10k: await heap() };
  console.log('ok memory', JSON.stringify(results.memory));
  check(!results.pageErrors, 'no page errors');
} finally {
  process.stdin.destroy();
  writeFileSync(env.RESULTS || 'results.json', JSON.stringify(results, null, 2));
  await browser.close();
}

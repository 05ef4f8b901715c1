// Checks a Sluice session stream in the AG-UI format with the official
// AG-UI client (@ag-ui/client 1.0.0), as the Go tests of wire/agui run it:
//
//   node agui.mjs <cuts> <seed> <stream URL>...
//
// 1. The whole run, uncut: its events go through the client's own pipeline
//    (AbstractAgent.runAgent: verifyEvents, then defaultApplyEvents), which
//    assembles the messages.
// 2. The same run read over connections cut at random bytes, each resumed
//    with Last-Event-ID: every connection's events must pass verifyEvents,
//    and the last connection alone (a fresh agent) must assemble the same
//    messages as the uncut run.
//
// It prints one JSON line with what it saw and exits 1 on any failure.
import { AbstractAgent, verifyEvents } from "@ag-ui/client";
import { Observable, from, lastValueFrom, toArray } from "rxjs";

import { args, open } from "./cutstream.mjs";

const { cuts, random, urls } = args();
let url;

// readStream reads the stream at url (after lastId), parses SSE frames and
// stops after RUN_FINISHED / RUN_ERROR or after cutAt bytes. It returns the
// events of the complete frames, the last id: seen with a complete frame,
// the bytes read, and whether the run ended.
async function readStream(lastId, cutAt) {
  const { res, ctrl } = await open(url, lastId);
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = "", read = 0, id = lastId, events = [], ended = false;
  outer: for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    let chunk = value;
    if (cutAt !== undefined && read + chunk.length > cutAt) chunk = chunk.subarray(0, cutAt - read);
    read += chunk.length;
    buf += dec.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const frame = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let data = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith("id:")) id = line.slice(3).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length === 0) continue;
      const ev = JSON.parse(data.join("\n"));
      events.push(ev);
      if (ev.type === "RUN_FINISHED" || ev.type === "RUN_ERROR") {
        ended = true;
        break outer;
      }
    }
    if (cutAt !== undefined && read >= cutAt) break;
  }
  ctrl.abort();
  return { events, id, read, ended };
}

// An agent whose run is a fixed list of events, so the client's own
// pipeline (verification, chunk transforms, applying events) assembles it.
class Replay extends AbstractAgent {
  constructor(events) {
    super({ threadId: "t" });
    this.events = events;
  }
  run() {
    return from(this.events);
  }
}

async function assemble(events) {
  const agent = new Replay(events);
  await agent.runAgent();
  return agent.messages;
}

async function verify(events) {
  await lastValueFrom(from(events).pipe(verifyEvents(false), toArray()));
}

// canon is JSON with object keys sorted: messages are equal when they
// hold the same fields, whatever order the fields were set in.
const canon = (v) =>
  JSON.stringify(v, (_, x) =>
    x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x,
  );

for (url of urls) {
const out = { url, connections: 0, events: 0 };
try {
  const whole = await readStream("", undefined);
  if (!whole.ended) throw new Error("the uncut stream did not finish its run");
  await verify(whole.events);
  const want = await assemble(whole.events);
  out.events = whole.events.length;
  out.types = [...new Set(whole.events.map((e) => e.type))].sort();
  out.messages = want.length;

  let lastId = "", last;
  for (let n = 0; ; n++) {
    const cutAt = n < cuts ? Math.floor(random() * whole.read) : undefined;
    const c = await readStream(lastId, cutAt);
    out.connections++;
    await verify(c.events);
    last = c;
    lastId = c.id;
    if (c.ended) break;
    if (n > cuts + 50) throw new Error("no progress");
  }
  const got = await assemble(last.events);
  if (canon(got) !== canon(want)) {
    throw new Error(`resumed run assembles differently:\n got ${JSON.stringify(got)}\nwant ${JSON.stringify(want)}`);
  }
  out.ok = true;
  console.log(JSON.stringify(out));
} catch (e) {
  out.error = String(e?.stack ?? e);
  console.log(JSON.stringify(out));
  process.exit(1);
}
}

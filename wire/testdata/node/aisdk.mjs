// Checks a Sluice session stream in the AI SDK UI message stream format
// with the official AI SDK (ai 7.0.173), as the Go tests of wire/aisdk run
// it:
//
//   node aisdk.mjs <cuts> <seed> <stream URL>...
//
// 1. The whole run, uncut: the response must carry the
//    x-vercel-ai-ui-message-stream: v1 header and end by itself after
//    data: [DONE]; parseJsonEventStream with uiMessageChunkSchema parses
//    every part and readUIMessageStream assembles the message.
// 2. The same run over connections cut at random bytes, each resumed with
//    Last-Event-ID: every connection's parts parse, and the last connection
//    alone assembles the same message as the uncut run.
//
// It prints one JSON line with what it saw and exits 1 on any failure.
import { parseJsonEventStream, readUIMessageStream, uiMessageChunkSchema } from "ai";

import { args, open } from "./cutstream.mjs";

const { cuts, random, urls } = args();
let url;

// readStream reads the stream at url (after lastId) until its end or
// cutAt bytes, and returns the text of its complete frames, the last id:
// seen, the bytes read and whether [DONE] came.
async function readStream(lastId, cutAt) {
  const { res, ctrl } = await open(url, lastId);
  if (res.headers.get("x-vercel-ai-ui-message-stream") !== "v1") throw new Error("no x-vercel-ai-ui-message-stream: v1 header");
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = "", text = "", read = 0, id = lastId, done = false;
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    let chunk = r.value;
    if (cutAt !== undefined && read + chunk.length > cutAt) chunk = chunk.subarray(0, cutAt - read);
    read += chunk.length;
    buf += dec.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const frame = buf.slice(0, i + 2);
      buf = buf.slice(i + 2);
      text += frame;
      for (const line of frame.split("\n")) {
        if (line.startsWith("id:")) id = line.slice(3).trim();
        if (line === "data: [DONE]") done = true;
      }
    }
    if (cutAt !== undefined && read >= cutAt) break;
  }
  ctrl.abort();
  return { text, id, read, done };
}

// assemble parses SSE text with the SDK's parser and schema and assembles
// the message with readUIMessageStream; it returns the last message and
// the part types.
async function assemble(text) {
  const bytes = new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode(text));
      c.close();
    },
  });
  const types = [];
  const chunks = parseJsonEventStream({ stream: bytes, schema: uiMessageChunkSchema }).pipeThrough(
    new TransformStream({
      transform(r, c) {
        if (!r.success) throw new Error(`a part does not parse: ${r.error}`);
        types.push(r.value.type);
        c.enqueue(r.value);
      },
    }),
  );
  let message;
  for await (const m of readUIMessageStream({ stream: chunks, terminateOnError: true })) message = m;
  return { message, types };
}

for (url of urls) {
const out = { url, connections: 0 };
try {
  const whole = await readStream("", undefined);
  if (!whole.done) throw new Error("the uncut stream did not end with data: [DONE]");
  const want = await assemble(whole.text);
  out.types = [...new Set(want.types)].sort();
  out.parts = want.message?.parts?.length;
  let lastId = "", last;
  for (let n = 0; ; n++) {
    const cutAt = n < cuts ? Math.floor(random() * whole.read) : undefined;
    const c = await readStream(lastId, cutAt);
    out.connections++;
    last = await assemble(c.text);
    lastId = c.id;
    if (c.done) break;
    if (n > cuts + 50) throw new Error("no progress");
  }
  if (JSON.stringify(last.message) !== JSON.stringify(want.message)) {
    throw new Error(`resumed run assembles differently:\n got ${JSON.stringify(last.message)}\nwant ${JSON.stringify(want.message)}`);
  }
  out.ok = true;
  console.log(JSON.stringify(out));
} catch (e) {
  out.error = String(e?.stack ?? e);
  console.log(JSON.stringify(out));
  process.exit(1);
}
}

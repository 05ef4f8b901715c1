// Runs the AI SDK's own chat transport (ai 7.0.173 DefaultChatTransport,
// what useChat uses) against a Sluice aisdk.Chat endpoint, as the Go tests
// of wire/aisdk and cmd/sluice run it:
//
//   node chat.mjs <api URL> <chat ID> send|reconnect
//
// send posts a user message and reads the streamed answer; reconnect asks
// for the chat's active stream (null when the server answers 204). Either
// way the parts are assembled with readUIMessageStream (which does not stop
// at an error part: the errors are collected) and one JSON line is printed:
// the message, the chunk types in order, the errors and the finish reason.
import { DefaultChatTransport, readUIMessageStream } from "ai";

const [api, chatId, mode] = process.argv.slice(2);
try {
  const transport = new DefaultChatTransport({ api });
  let stream;
  if (mode === "send") {
    stream = await transport.sendMessages({
      chatId,
      trigger: "submit-message",
      messageId: undefined,
      messages: [{ id: "u1", role: "user", parts: [{ type: "text", text: "Weather in Paris?" }] }],
      abortSignal: undefined,
    });
  } else {
    stream = await transport.reconnectToStream({ chatId });
  }
  if (stream === null) {
    console.log(JSON.stringify({ ok: true, active: false }));
    process.exit(0);
  }
  const types = [], errors = [];
  let finishReason;
  const tapped = stream.pipeThrough(
    new TransformStream({
      transform(chunk, c) {
        types.push(chunk.type);
        if (chunk.type === "finish") finishReason = chunk.finishReason;
        c.enqueue(chunk);
      },
    }),
  );
  let message;
  for await (const m of readUIMessageStream({ stream: tapped, onError: (e) => errors.push(String(e?.message ?? e)) })) message = m;
  console.log(JSON.stringify({ ok: true, active: true, message, types, errors, finishReason }));
} catch (e) {
  console.log(JSON.stringify({ error: String(e?.stack ?? e) }));
  process.exit(1);
}

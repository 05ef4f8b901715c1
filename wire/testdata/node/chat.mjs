// Runs the AI SDK's own chat transport (ai 7.0.173 DefaultChatTransport,
// what useChat uses) against a Sluice aisdk.Chat endpoint, as the Go tests
// of wire/aisdk run it:
//
//   node chat.mjs <api URL> <chat ID> send|reconnect
//
// send posts a user message and reads the streamed answer; reconnect asks
// for the chat's active stream (null when the server answers 204). Either
// way the parts are assembled with readUIMessageStream and the message is
// printed as one JSON line.
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
  let message;
  for await (const m of readUIMessageStream({ stream, terminateOnError: true })) message = m;
  console.log(JSON.stringify({ ok: true, active: true, message }));
} catch (e) {
  console.log(JSON.stringify({ error: String(e?.stack ?? e) }));
  process.exit(1);
}

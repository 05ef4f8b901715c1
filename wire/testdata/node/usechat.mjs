// Runs the AI SDK's chat itself (ai 7.0.173 AbstractChat, the state
// machine under useChat, with a plain array as its state, as the framework
// bindings keep it) over its DefaultChatTransport against a Sluice
// aisdk.Chat endpoint, as the Go tests of wire/aisdk run it:
//
//   node usechat.mjs <api URL> <chat ID> send|cut|reload
//
// send: sendMessage and wait for the answer.
// cut: sendMessage, stop the chat (it aborts the request) once the
//   assistant message has a part, then resumeStream on the same chat, which
//   holds the partial message.
// reload: a new chat, as after a page reload, with the user's message
//   only, calls resumeStream.
// It prints the chat's status, error and messages as one JSON line.
import { AbstractChat, DefaultChatTransport } from "ai";

class ArrayState {
  status = "ready";
  error = undefined;
  constructor(messages) {
    this.messages = messages;
  }
  pushMessage = (m) => {
    this.messages = this.messages.concat(m);
  };
  popMessage = () => {
    this.messages = this.messages.slice(0, -1);
  };
  replaceMessage = (i, m) => {
    this.messages = [...this.messages.slice(0, i), this.snapshot(m), ...this.messages.slice(i + 1)];
  };
  snapshot = (x) => structuredClone(x);
}

class Chat extends AbstractChat {
  constructor({ messages = [], ...init }) {
    super({ ...init, state: new ArrayState(messages) });
  }
}

const [api, chatId, mode] = process.argv.slice(2);
const user = { id: "u1", role: "user", parts: [{ type: "text", text: "Weather in Paris?" }] };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
try {
  const transport = new DefaultChatTransport({ api });
  let chat, partial;
  if (mode === "reload") {
    chat = new Chat({ id: chatId, transport, messages: [user] });
    await chat.resumeStream();
  } else {
    chat = new Chat({ id: chatId, transport });
    const sending = chat.sendMessage({ text: "Weather in Paris?" });
    if (mode === "cut") {
      for (let i = 0; !(chat.messages.length === 2 && chat.messages[1].parts.length > 0); i++) {
        if (i > 3000) throw new Error("no part of the answer came");
        await sleep(10);
      }
      await chat.stop();
      await sending;
      partial = structuredClone(chat.messages);
      await chat.resumeStream();
    } else {
      await sending;
    }
  }
  console.log(JSON.stringify({ ok: true, status: chat.status, error: chat.error?.message, messages: chat.messages, partial }));
} catch (e) {
  console.log(JSON.stringify({ error: String(e?.stack ?? e) }));
  process.exit(1);
}

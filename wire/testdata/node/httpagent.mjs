// Runs the official AG-UI HttpAgent (@ag-ui/client 1.0.0) against a Sluice
// AG-UI handler, as the Go tests of wire/agui run it:
//
//   node httpagent.mjs <handler URL>
//
// It sends one user message and prints the messages the client assembled
// (its own pipeline verifies every event) and the messages of the
// RUN_ERROR events it got as one JSON line; it exits 1 if the run fails.
import { HttpAgent } from "@ag-ui/client";

const [url] = process.argv.slice(2);
try {
  const agent = new HttpAgent({ url, threadId: "thread-1", initialMessages: [{ id: "u1", role: "user", content: "Weather in Paris?" }] });
  const runErrors = [];
  agent.subscribe({ onRunErrorEvent: ({ event }) => void runErrors.push(event.message) });
  const res = await agent.runAgent({ runId: "run-1" });
  console.log(JSON.stringify({ ok: true, messages: agent.messages, newMessages: res.newMessages.length, runErrors }));
} catch (e) {
  console.log(JSON.stringify({ error: String(e?.stack ?? e) }));
  process.exit(1);
}

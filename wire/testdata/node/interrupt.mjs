// Runs the official AG-UI HttpAgent (@ag-ui/client 1.0.0) through an
// interrupt and its resume against a Sluice AG-UI handler, as the Go tests
// of wire/agui run it:
//
//   node interrupt.mjs <handler URL>
//
// 1. runAgent (run-1) ends with the interrupt outcome: the client keeps the
//    interrupts in agent.pendingInterrupts.
// 2. runAgent (run-2) with a resume that buildResumeArray made from them
//    (approve resolved with a payload, every other one cancelled): the
//    client checks the resume covers them, the continued run finishes with
//    success and pendingInterrupts is empty again.
// 3. A fresh HttpAgent posts run-2 again with the same resume: the handler
//    replays the run, and the client assembles the same messages.
// Every run's events pass verifyEvents (besides the client's own pipeline).
//
// It prints one JSON line with what it saw and exits 1 on any failure.
import { HttpAgent, buildResumeArray, verifyEvents } from "@ag-ui/client";
import { from, lastValueFrom, toArray } from "rxjs";

const [url] = process.argv.slice(2);
const user = { id: "u1", role: "user", content: "Book a flight to Paris" };

// runLogged runs agent with params and returns the events it received.
async function runLogged(agent, params) {
  const events = [];
  const sub = agent.subscribe({ onEvent: ({ event }) => void events.push(event) });
  try {
    await agent.runAgent(params);
  } finally {
    sub.unsubscribe();
  }
  await lastValueFrom(from(events).pipe(verifyEvents(false), toArray()));
  return events;
}

const outcome = (events) => events.findLast((e) => e.type === "RUN_FINISHED")?.outcome;
const out = {};
try {
  const agent = new HttpAgent({ url, threadId: "trip-node", initialMessages: [user] });
  const first = await runLogged(agent, { runId: "run-1" });
  out.first = { types: first.map((e) => e.type), outcome: outcome(first) };
  out.pending = agent.pendingInterrupts;
  if (out.pending.length === 0) throw new Error("no pending interrupts after run-1");

  const answers = Object.fromEntries(
    out.pending.map((i) => [i.id, i.id === "approve" ? { status: "resolved", payload: { flight: "AF1" } } : { status: "cancelled" }]),
  );
  const resume = buildResumeArray(out.pending, answers);
  const before = structuredClone(agent.messages);
  const second = await runLogged(agent, { runId: "run-2", resume });
  out.second = { types: second.map((e) => e.type), outcome: outcome(second) };
  out.pendingAfter = agent.pendingInterrupts;
  out.messages = agent.messages;

  const again = new HttpAgent({ url, threadId: "trip-node", initialMessages: before });
  const third = await runLogged(again, { runId: "run-2", resume });
  out.repeat = { types: third.map((e) => e.type), same: JSON.stringify(again.messages) === JSON.stringify(agent.messages) };
  out.ok = true;
  console.log(JSON.stringify(out));
} catch (e) {
  out.error = String(e?.stack ?? e);
  console.log(JSON.stringify(out));
  process.exit(1);
}

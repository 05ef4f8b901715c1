// Shared by agui.mjs and aisdk.mjs: the command line, a seeded random
// number generator for the cut points, and opening a stream with
// Last-Event-ID.

// args returns the number of cuts, a random number generator seeded from
// the command line (so that a failing run can be repeated), and the URLs.
export function args() {
  const [cutsArg, seedArg, ...urls] = process.argv.slice(2);
  let seed = Number(seedArg ?? 1);
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  return { cuts: Number(cutsArg ?? 3), random, urls };
}

// open GETs the SSE stream at url, resuming after lastId if set, and
// returns the response and the controller that aborts it.
export async function open(url, lastId) {
  const ctrl = new AbortController();
  const headers = { Accept: "text/event-stream" };
  if (lastId) headers["Last-Event-ID"] = lastId;
  const res = await fetch(url, { headers, signal: ctrl.signal });
  if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
  return { res, ctrl };
}

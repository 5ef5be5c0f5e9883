// Baseline (a): the machine's ceiling. An empty uWebSockets.js handler that
// answers every route with one fixed small JSON (a position's shape); a
// request with a body is answered once its last chunk arrived, so it does the
// same HTTP work as the real services and nothing else.
//
// Run by run.mjs: node bench/http/empty-uws.mjs   (prints omnistock's listening/ready lines)

import uWS from "uWebSockets.js";

const ANSWER = JSON.stringify({
  sku: "SKU-000000", location: "store-0001", available: 1000000, onHand: 1000000,
  reserved: 0, committed: 0, safetyStock: 0, shortfall: 0, version: 1,
});

const app = uWS.App();
app.any("/*", (res, req) => {
  const method = req.getMethod();
  if (method === "get" || method === "GET") {
    res.writeHeader("Content-Type", "application/json").end(ANSWER);
    return;
  }
  res.onAborted(() => {
    res.aborted = true;
  });
  res.onData((_chunk, isLast) => {
    if (isLast && !res.aborted) res.cork(() => res.writeHeader("Content-Type", "application/json").end(ANSWER));
  });
});

app.listen("127.0.0.1", Number(process.env.BENCH_PORT ?? 0), (socket) => {
  if (!socket) {
    process.stderr.write("empty-uws: cannot listen\n");
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ event: "listening", host: "127.0.0.1", port: uWS.us_socket_local_port(socket) })}\n`);
  process.stdout.write(`${JSON.stringify({ event: "ready" })}\n`);
});
process.on("SIGTERM", () => process.exit(0));

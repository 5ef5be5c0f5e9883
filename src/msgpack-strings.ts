// Imported first by the server's entry points (main.ts, threads/http-worker.ts),
// before anything loads msgpackr, which reads this switch once, at load.
//
// msgpackr decodes strings through a native addon (msgpackr-extract) when one
// loads. omnistock's messages are small, with a few short strings (ring
// commands and answers between threads, journal records, stream messages):
// there msgpackr's JavaScript decoder is faster, 431 against 538 ns for a
// hold's answer, and 2 HTTP workers took 29.1-30.2k durable holds/s with it
// against 27.3-28.6k with the addon (3 alternating runs each, 2026-11-23).
// An operator's own setting wins.
process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED ??= "true";

// Imported first by every entry point (main.ts, threads/http-worker.ts),
// before anything loads msgpackr, which reads this switch once, at load.
//
// msgpackr decodes strings through a native addon (msgpackr-extract) when one
// loads. omnistock's messages are small, with a few short strings, and often
// read straight out of SharedArrayBuffer rings; on that traffic the addon path
// took 13-14 % of an HTTP worker's CPU under a hold load against 1.5 % for
// msgpackr's JavaScript decoder, and 2 workers went from 38-40k to 45-52k
// holds/s with it off (bench/RESULTS.md). An operator's own setting wins.
process.env.MSGPACKR_NATIVE_ACCELERATION_DISABLED ??= "true";

// Epoch milliseconds as RFC 3339 UTC with milliseconds, the SPEC's time
// format (`ts` of stream messages, `expiresAt` of reservations). Under load
// dozens of commands share a millisecond, and Date#toISOString allocates a
// Date and formats on every call, so each formatter keeps its last answer.
// One formatter per use: a stream `ts` (now) and an `expiresAt` (now + TTL)
// alternating through one would miss every time.

export class IsoTime {
  private lastMs = Number.NaN;
  private lastText = "";

  format(ms: number): string {
    if (ms !== this.lastMs) {
      this.lastText = new Date(ms).toISOString(); // throws RangeError for a time Date cannot hold, as before
      this.lastMs = ms;
    }
    return this.lastText;
  }
}

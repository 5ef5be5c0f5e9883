// SPEC 2: every number in a request is an integer. JSON.parse rounds each
// literal to a double first, so 2.9999999999999999 arrives as 3 and 1e-400 as
// 0: the integer checks after parsing cannot see them. This looks at the
// literals themselves. The rule is the value's: a literal whose exact decimal
// value is whole (1.0, 1.5e1, 1e3) is an integer; one with a nonzero digit
// after the point, once its exponent is applied, is not.

const DOT = 0x2e, MINUS = 0x2d, PLUS = 0x2b, QUOTE = 0x22, BACKSLASH = 0x5c;
const ZERO = 0x30, NINE = 0x39, LOWER_E = 0x65, UPPER_E = 0x45;
/** A digit then a point, or a negative exponent: every literal that can be a fraction has one (ids may too). */
const MAYBE_FRACTION = /[0-9](?:\.|[eE]-)/;

const isDigit = (c: number): boolean => c >= ZERO && c <= NINE;

export const LITERAL_SHOWN_MAX = 40;
const shown = (literal: string): string => (literal.length <= LITERAL_SHOWN_MAX ? literal : `${literal.slice(0, LITERAL_SHOWN_MAX - 1)}…`);

/**
 * The first number literal of the JSON text whose exact value is not whole
 * but which JSON.parse rounds to an integer (cut to LITERAL_SHOWN_MAX
 * characters, as it goes into an error message), or null. Call on text that
 * JSON.parse accepted (the literals are well formed).
 * Most request bodies have neither: one regular-expression search, no scan
 * (67 ns for a one-line hold, against 582 for its JSON.parse: encode.bench.ts).
 */
export function nonIntegerLiteral(text: string): string | null {
  if (!MAYBE_FRACTION.test(text)) return null;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) i++;
        else if (d === QUOTE) break;
      }
      i++;
    } else if (c === MINUS || isDigit(c)) {
      const start = i;
      if (c === MINUS) i++;
      const intStart = i;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
      const intDigits = text.slice(intStart, i);
      let fraction = "";
      if (i < n && text.charCodeAt(i) === DOT) {
        const from = ++i;
        while (i < n && isDigit(text.charCodeAt(i))) i++;
        fraction = text.slice(from, i);
      }
      let exponent = 0;
      const mark = i < n ? text.charCodeAt(i) : 0;
      if (mark === LOWER_E || mark === UPPER_E) {
        i++;
        let sign = 1;
        const s = text.charCodeAt(i);
        if (s === MINUS || s === PLUS) {
          if (s === MINUS) sign = -1;
          i++;
        }
        const from = i;
        while (i < n && isDigit(text.charCodeAt(i))) i++;
        // Past the literal's digit count the exponent decides alone (all of them before the point, or
        // all after it), so it is clamped there: no precision lost on exponents of any length.
        exponent = sign * Math.min(Number(text.slice(from, i)), intDigits.length + fraction.length + 1);
      }
      if (!isWhole(intDigits + fraction, intDigits.length + exponent)) {
        const literal = text.slice(start, i);
        // One that parses to a fraction is left to the field checks, which name the field.
        if (Number.isInteger(Number(literal))) return shown(literal);
      }
    } else {
      i++;
    }
  }
  return null;
}

/** Whether the digits with the point after `point` of them (any integer) have only zeros after the point. */
function isWhole(digits: string, point: number): boolean {
  for (let k = Math.max(0, point); k < digits.length; k++) if (digits.charCodeAt(k) !== ZERO) return false;
  return true;
}

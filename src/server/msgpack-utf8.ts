// SPEC section 2 wants ids of valid UTF-8. A JSON body is decoded with a fatal
// UTF-8 decoder, but msgpackr decodes a msgpack str leniently, turning bytes
// that are not UTF-8 into U+FFFD: an invalid id would pass as a different,
// valid one. This walks the msgpack bytes once, without recursion, and checks
// the payload of every str (map keys too) with Node's native UTF-8 validator
// (which also refuses overlong forms, surrogates and code points above
// U+10FFFF); everything else is skipped by its length.

import { isUtf8 } from "node:buffer";

const MESSAGE_NOT_UTF8 = "a string is not valid UTF-8";

/**
 * Why the msgpack value in `bytes` holds a str that is not valid UTF-8, or
 * null when every str is valid. Call it on bytes msgpackr already decoded: it
 * stops quietly at anything malformed.
 */
export function msgpackUtf8Problem(bytes: Uint8Array): string | null {
  try {
    return walk(bytes);
  } catch {
    return null; // a length field past the end (DataView throws): msgpackr decoded only a prefix
  }
}

function walk(bytes: Uint8Array): string | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength;
  let at = 0;
  let remaining = 1; // values still to read
  while (remaining > 0 && at < n) {
    remaining--;
    const type = bytes[at++];
    let skip = 0; // payload bytes after the header
    let str = -1; // payload length when a str
    if (type <= 0x7f || type >= 0xe0) continue; // fixint
    if (type <= 0x8f) {
      remaining += 2 * (type & 0x0f); // fixmap
      continue;
    }
    if (type <= 0x9f) {
      remaining += type & 0x0f; // fixarray
      continue;
    }
    if (type <= 0xbf) {
      str = type & 0x1f; // fixstr
    } else {
      switch (type) {
        case 0xc0: case 0xc1: case 0xc2: case 0xc3: continue; // nil, (unused), false, true
        case 0xc4: skip = bytes[at]; at += 1; break; // bin 8
        case 0xc5: skip = view.getUint16(at); at += 2; break;
        case 0xc6: skip = view.getUint32(at); at += 4; break;
        case 0xc7: skip = bytes[at] + 1; at += 1; break; // ext 8 (+ its type byte)
        case 0xc8: skip = view.getUint16(at) + 1; at += 2; break;
        case 0xc9: skip = view.getUint32(at) + 1; at += 4; break;
        case 0xca: skip = 4; break; // float 32
        case 0xcb: skip = 8; break;
        case 0xcc: case 0xd0: skip = 1; break; // (u)int 8
        case 0xcd: case 0xd1: skip = 2; break;
        case 0xce: case 0xd2: skip = 4; break;
        case 0xcf: case 0xd3: skip = 8; break;
        case 0xd4: skip = 2; break; // fixext 1 (+ its type byte)
        case 0xd5: skip = 3; break;
        case 0xd6: skip = 5; break;
        case 0xd7: skip = 9; break;
        case 0xd8: skip = 17; break;
        case 0xd9: str = bytes[at]; at += 1; break; // str 8
        case 0xda: str = view.getUint16(at); at += 2; break;
        case 0xdb: str = view.getUint32(at); at += 4; break;
        case 0xdc: remaining += view.getUint16(at); at += 2; continue; // array 16
        case 0xdd: remaining += view.getUint32(at); at += 4; continue;
        case 0xde: remaining += 2 * view.getUint16(at); at += 2; continue; // map 16
        case 0xdf: remaining += 2 * view.getUint32(at); at += 4; continue;
      }
    }
    if (str >= 0) {
      const end = at + str;
      if (end > n) return null;
      for (let i = at; i < end; i++) {
        if (bytes[i] >= 0x80) {
          if (!isUtf8(bytes.subarray(at, end))) return MESSAGE_NOT_UTF8;
          break;
        }
      }
      at = end;
    } else {
      at += skip;
    }
  }
  return null;
}

// Percent-encoding of W3C baggage values: UTF-8, every byte that is not a baggage-octet (or is `%`) escaped.

// baggage-octet minus `%`: printable ASCII except space, DQUOTE, comma, semicolon, backslash and `%`.
const SAFE = /^[\x21\x23\x24\x26-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;
const SAFE_BYTE = Array.from({ length: 256 }, (_, byte) => SAFE.test(String.fromCharCode(byte)));
// Fatal, so a percent-encoded sequence that is not UTF-8 drops the header rather than becoming U+FFFD,
// which could re-encode longer than it arrived. ignoreBOM keeps a leading U+FEFF as data.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

function hexDigit(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1;
}

/**
 * The UTF-8 string a percent-encoded baggage value stands for, or `undefined` for a malformed escape or
 * bytes that are not UTF-8. `raw` must already be checked to hold only baggage octets.
 */
export function decodeBaggageValue(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  const bytes = new Uint8Array(raw.length);
  let length = 0;
  for (let i = 0; i < raw.length; i++) {
    const code = raw.charCodeAt(i);
    if (code !== 0x25) {
      bytes[length++] = code;
      continue;
    }
    const high = hexDigit(raw.charCodeAt(i + 1));
    const low = hexDigit(raw.charCodeAt(i + 2));
    if (high < 0 || low < 0) return undefined;
    bytes[length++] = high * 16 + low;
    i += 2;
  }
  try {
    return decoder.decode(bytes.subarray(0, length));
  } catch {
    return undefined;
  }
}

/** `value` percent-encoded as UTF-8, leaving only baggage octets other than `%` as they are. */
export function encodeBaggageValue(value: string): string {
  if (SAFE.test(value)) return value;
  let out = '';
  // TextEncoder turns lone surrogates into U+FFFD, so this never throws (encodeURIComponent would).
  for (const byte of encoder.encode(value)) {
    out += SAFE_BYTE[byte]
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Longest label value kept; longer values are cut so one bad input cannot bloat every scrape. */
export const MAX_LABEL_VALUE_LENGTH = 128;

/** The value every label of the single overflow series carries once a metric reaches its series cap. */
export const OVERFLOW_LABEL_VALUE = '_overflow';

/**
 * Coerces `value` to a bounded label value: a string of at most 128 characters without control characters.
 */
export function sanitizeLabelValue(value: unknown): string {
  let text = typeof value === 'string' ? value : String(value);
  // Cut before scanning, so a megabyte value costs no more than a short one.
  if (text.length > MAX_LABEL_VALUE_LENGTH) {
    const end = isHighSurrogate(text.charCodeAt(MAX_LABEL_VALUE_LENGTH - 1))
      ? MAX_LABEL_VALUE_LENGTH - 1
      : MAX_LABEL_VALUE_LENGTH;
    text = text.slice(0, end);
  }
  let i = 0;
  while (i < text.length && !isControl(text.charCodeAt(i))) i++;
  // The common case: nothing to strip, and nothing allocated.
  if (i === text.length) return text;
  let clean = text.slice(0, i);
  for (; i < text.length; i++) {
    if (!isControl(text.charCodeAt(i))) clean += text[i];
  }
  return clean;
}

// C0 and C1 control characters: they break line-oriented exposition formats and log viewers.
function isControl(code: number): boolean {
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f);
}

// A cut between the halves of a surrogate pair would leave a lone half that encodes as U+FFFD.
function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

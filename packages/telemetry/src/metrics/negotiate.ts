import type { ExpositionFormat } from './exposition.js';

// The Accept header is untrusted; past these bounds the rest is ignored rather than parsed.
const MAX_ACCEPT_LENGTH = 2048;
const MAX_MEDIA_RANGES = 32;

/**
 * Picks OpenMetrics when `accept` lists `application/openmetrics-text` with a quality at least that of plain
 * text (or a wildcard), and the Prometheus text format otherwise, including when `accept` is absent.
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (accept === undefined || accept === '') return 'prometheus';
  const ranges = accept.slice(0, MAX_ACCEPT_LENGTH).split(',', MAX_MEDIA_RANGES);
  let openQuality = 0;
  let plainQuality = 0;
  for (const range of ranges) {
    const [mediaType = '', ...parameters] = range.split(';');
    const type = mediaType.trim().toLowerCase();
    const quality = qualityOf(parameters);
    if (type === 'application/openmetrics-text') openQuality = Math.max(openQuality, quality);
    else if (type === 'text/plain' || type === 'text/*' || type === '*/*')
      plainQuality = Math.max(plainQuality, quality);
  }
  return openQuality > 0 && openQuality >= plainQuality ? 'openmetrics' : 'prometheus';
}

function qualityOf(parameters: readonly string[]): number {
  for (const parameter of parameters) {
    const [key = '', value = ''] = parameter.split('=');
    if (key.trim().toLowerCase() !== 'q') continue;
    const quality = Number(value.trim());
    return Number.isFinite(quality) ? Math.min(Math.max(quality, 0), 1) : 0;
  }
  return 1;
}

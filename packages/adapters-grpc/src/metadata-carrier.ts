import type { Metadata } from '@grpc/grpc-js';
import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';

// Binary metadata is never read into the context: nothing Keel propagates is binary, and a `-bin` value
// must never reach a span or a log line.
const isBinaryKey = (key: string): boolean => key.endsWith('-bin');

/**
 * Reads text metadata for the propagator: string values only, `-bin` keys never. The propagator bounds and
 * validates every value it parses, as it does for HTTP headers.
 */
export const metadataGetter: TextMapGetter<Metadata> = {
  get(carrier, key) {
    if (isBinaryKey(key)) return undefined;
    const values = carrier.get(key);
    if (values.length === 0) return undefined;
    if (values.length === 1) return typeof values[0] === 'string' ? values[0] : undefined;
    return values.filter((v): v is string => typeof v === 'string');
  },
  keys(carrier) {
    return Object.keys(carrier.getMap()).filter((key) => !isBinaryKey(key));
  },
};

/** Writes propagated fields into metadata; a value grpc-js would refuse is left out rather than thrown. */
export const metadataSetter: TextMapSetter<Metadata> = {
  set(carrier, key, value) {
    try {
      carrier.set(key, value);
    } catch {
      // Propagated values are ASCII by construction; this guards a custom propagator's output.
    }
  },
};

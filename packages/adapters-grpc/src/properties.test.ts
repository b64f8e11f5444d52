import { Metadata } from '@grpc/grpc-js';
import { rpcMethodOf } from '@keel/telemetry/adapter';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { grpcRetryOn } from './classify.js';
import { metadataGetter } from './metadata-carrier.js';
import { GrpcStatusError, PUSHBACK_HEADER, pushbackOf } from './status.js';

describe('properties', () => {
  it('reads any path as a bounded method name or _OTHER, never throwing', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 600 }), (path) => {
        const { service, method } = rpcMethodOf(path);
        expect(service.length).toBeLessThanOrEqual(256);
        expect(method.length).toBeLessThanOrEqual(128);
        expect(`${service}/${method}`).toMatch(/^[A-Za-z0-9_.$-]+\/[A-Za-z0-9_$-]+$/);
      }),
    );
  });

  it('reads any pushback value as a non-negative wait, a stop, or nothing', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (value) => {
        const trailers = new Metadata();
        try {
          trailers.set(PUSHBACK_HEADER, value);
        } catch {
          return;
        }
        const pushback = pushbackOf(trailers);
        expect(pushback === 'stop' || (typeof pushback === 'number' && pushback >= 0)).toBe(true);
      }),
    );
  });

  it('never retries a status other than UNAVAILABLE and RESOURCE_EXHAUSTED, whatever the trailers', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 16 }), fc.option(fc.nat(100_000)), (code, hint) => {
        const metadata = new Metadata();
        if (hint !== null) metadata.set(PUSHBACK_HEADER, String(hint));
        const retried = grpcRetryOn({
          ok: false,
          error: new GrpcStatusError({ code, details: '', metadata }),
        });
        if (code !== 14 && code !== 8) expect(retried).toBe(false);
        if (code === 8) expect(retried).toBe(hint !== null && hint <= 30_000);
      }),
    );
  });

  it('never hands a -bin value to the propagator', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9_.-]{1,20}$/),
        fc.uint8Array({ maxLength: 32 }),
        (name, bytes) => {
          const metadata = new Metadata();
          metadata.set(`${name}-bin`, Buffer.from(bytes));
          expect(metadataGetter.get(metadata, `${name}-bin`)).toBeUndefined();
          expect(metadataGetter.keys(metadata)).toEqual([]);
        },
      ),
    );
  });
});

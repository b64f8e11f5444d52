import type { InterceptingCall } from '@grpc/grpc-js';

// grpc-js exports `InterceptingCall` but not the interface its constructor takes; these name that shape.

/** What `new InterceptingCall(next)` wraps: one call in grpc-js's client interceptor chain. */
export type InterceptingCallInterface = ConstructorParameters<typeof InterceptingCall>[0];
/** The write context of `sendMessageWithContext`. */
export type MessageContext = Parameters<InterceptingCall['sendMessageWithContext']>[0];

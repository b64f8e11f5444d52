# A Python grpcio client: one call with trace context, a correlation ID and a 2 s deadline, one that fails.
import json
import sys

import grpc

target, traceparent = sys.argv[1], sys.argv[2]
with grpc.insecure_channel(target) as channel:
    call = channel.unary_unary("/test.Echo/Unary")
    metadata = (("traceparent", traceparent), ("x-correlation-id", "py-1"))
    reply, state = call.with_call(b'{"text":"from-python"}', timeout=2.0, metadata=metadata)
    print(json.dumps({"reply": json.loads(reply), "code": state.code().name}))
    try:
        call(b'{"text":"fail"}', timeout=2.0)
    except grpc.RpcError as error:
        trailers = {k: v for k, v in (error.trailing_metadata() or ())}
        print(json.dumps({"code": error.code().name, "details": error.details(), "trailers": trailers}))

# A Python grpcio server of test.Echo/Unary (JSON bytes): answers UNAVAILABLE with a pushback hint the
# first time, then echoes the text metadata it received and the time left of its deadline.
import json
import sys
from concurrent import futures

import grpc

calls = 0


def unary(request, context):
    global calls
    calls += 1
    if calls == 1:
        context.set_trailing_metadata((("grpc-retry-pushback-ms", "10"),))
        context.abort(grpc.StatusCode.UNAVAILABLE, "warming up")
    metadata = {k: v for k, v in context.invocation_metadata() if not k.endswith("-bin")}
    reply = {"text": "py", "metadata": metadata, "remaining": context.time_remaining(), "calls": calls}
    return json.dumps(reply).encode()


handler = grpc.method_handlers_generic_handler(
    "test.Echo", {"Unary": grpc.unary_unary_rpc_method_handler(unary)}
)
server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
server.add_generic_rpc_handlers((handler,))
port = server.add_insecure_port("127.0.0.1:0")
server.start()
print(port, flush=True)
sys.stdin.read()  # until the parent closes stdin
server.stop(0)

#!/usr/bin/python3
"""python-socketio test server that behaves like InvokeAI's socket layer.

Run with Debian's interpreter (needs python3-socketio and python3-uvicorn):

    /usr/bin/python3 test/support/pysio/server.py [--port 0] [--host 127.0.0.1] [--prefix /invoke]

Like InvokeAI (invokeai/app/api/sockets.py, see docs/protocol.md §1):
  * socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*") wrapped in socketio.ASGIApp,
    served by uvicorn; socket.io path is <prefix>/ws/socket.io (websocket and polling transports).
  * connect: accepted without auth (single-user mode), joins rooms user:system, workflows:shared, admin.
  * subscribe_queue {queue_id}: joins room <queue_id> (and re-joins user:system, admin); returns nothing,
    so python-socketio ACKs with no arguments. A malformed payload raises inside the handler: no ACK.
  * unsubscribe_queue {queue_id}: leaves room <queue_id>.

Readiness: once listening, the FIRST stdout line is JSON {"port": N, "path": "<prefix>/ws/socket.io"}.

Control channel (plain HTTP on the same port, JSON bodies/responses; not under the prefix):
  POST /control/emit            {"event": str, "data": any, "room": str | [str] | null, "namespace"?: str}
                                -> {"ok": true}; room null/absent = broadcast to everyone
  POST /control/disconnect_all  server-side disconnect of every connected sid -> {"ok": true, "disconnected": n}
  GET  /control/clients         -> {"clients": {sid: [rooms...]}}
  GET  /control/received        -> {"received": [{"sid", "event", "data", "ok"}...]} (client->server events)
  POST /control/stop            graceful stop (same as SIGTERM)

Stopping:
  * SIGTERM/SIGINT or POST /control/stop: uvicorn's graceful shutdown (websockets get a close frame 1012); open
    connections (e.g. a pending polling GET) get ~0.5 s, then they are dropped. Clients see a transport drop.
  * stdin EOF (parent closed the pipe or died): same, without the grace period (fast teardown, no orphans).
"""

import argparse
import asyncio
import inspect
import json
import os
import signal
import socket
import sys
import threading

try:
    import socketio
    import uvicorn
except ImportError as exc:  # pragma: no cover - reported to the TS helper through stderr + exit code
    sys.stderr.write(
        "pysio fixture: missing python module (%s). Install the Debian packages: "
        "apt-get install -y --no-install-recommends python3-socketio python3-uvicorn\n" % exc
    )
    sys.exit(3)

FORCE_EXIT_AFTER_S = 0.5
HARD_EXIT_AFTER_S = 5.0


async def _maybe_await(value):
    # enter_room/leave_room are plain methods in python-socketio 5.7 and coroutines in newer releases.
    if inspect.isawaitable(value):
        await value


def build_sio(received):
    sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")

    @sio.event
    async def connect(sid, environ, auth=None):
        for room in ("user:system", "workflows:shared", "admin"):
            await _maybe_await(sio.enter_room(sid, room))

    @sio.event
    async def disconnect(sid):
        pass

    def _queue_id(data):
        # Stand-in for InvokeAI's pydantic QueueSubscriptionEvent validation.
        if not isinstance(data, dict) or not isinstance(data.get("queue_id"), str):
            raise ValueError("invalid QueueSubscriptionEvent payload: %r" % (data,))
        return data["queue_id"]

    @sio.on("subscribe_queue")
    async def subscribe_queue(sid, data=None):
        record = {"sid": sid, "event": "subscribe_queue", "data": data, "ok": False}
        received.append(record)
        queue_id = _queue_id(data)
        await _maybe_await(sio.enter_room(sid, queue_id))
        await _maybe_await(sio.enter_room(sid, "user:system"))
        await _maybe_await(sio.enter_room(sid, "admin"))
        record["ok"] = True

    @sio.on("unsubscribe_queue")
    async def unsubscribe_queue(sid, data=None):
        record = {"sid": sid, "event": "unsubscribe_queue", "data": data, "ok": False}
        received.append(record)
        queue_id = _queue_id(data)
        await _maybe_await(sio.leave_room(sid, queue_id))
        record["ok"] = True

    return sio


def _connected_clients(sio, namespace="/"):
    rooms = sio.manager.rooms.get(namespace, {})
    clients = {}
    for room, members in rooms.items():
        for sid in list(members):
            if room is None:
                clients.setdefault(sid, [])
    for room, members in rooms.items():
        if room is None:
            continue
        for sid in list(members):
            if sid in clients and room != sid:
                clients[sid].append(room)
    for sid in clients:
        clients[sid].sort()
    return clients


def build_control_app(sio, received, request_stop):
    async def emit(event, data, room, namespace):
        if isinstance(room, list):
            # python-socketio >= 5.8 (InvokeAI pins 5.16.3) accepts a room list and sends one copy per sid;
            # Debian's 5.7.2 raises "unhashable type: 'list'", so resolve the union here.
            rooms = sio.manager.rooms.get(namespace, {})
            sids = []
            for name in room:
                for sid in list(rooms.get(name, {})):
                    if sid not in sids:
                        sids.append(sid)
            for sid in sids:
                await sio.emit(event, data, to=sid, namespace=namespace)
        else:
            await sio.emit(event, data, room=room, namespace=namespace)

    async def read_body(receive):
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if not message.get("more_body", False):
                return body

    async def respond(send, status, payload):
        body = json.dumps(payload).encode("utf-8")
        await send({
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        })
        await send({"type": "http.response.body", "body": body})

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return  # e.g. a websocket to an unknown path: closing without accept rejects it
        method, path = scope["method"], scope["path"]
        raw = await read_body(receive)
        if raw is None:
            return
        try:
            body = json.loads(raw) if raw else {}
        except ValueError as exc:
            await respond(send, 400, {"ok": False, "error": "bad JSON: %s" % exc})
            return
        try:
            if method == "POST" and path == "/control/emit":
                if not isinstance(body, dict) or not isinstance(body.get("event"), str):
                    await respond(send, 400, {"ok": False, "error": "body must be {event, data, room?}"})
                    return
                await emit(body["event"], body.get("data"), body.get("room"), body.get("namespace") or "/")
                await respond(send, 200, {"ok": True})
            elif method == "POST" and path == "/control/disconnect_all":
                sids = list(_connected_clients(sio).keys())
                for sid in sids:
                    await sio.disconnect(sid)
                await respond(send, 200, {"ok": True, "disconnected": len(sids)})
            elif method == "GET" and path == "/control/clients":
                await respond(send, 200, {"clients": _connected_clients(sio)})
            elif method == "GET" and path == "/control/received":
                await respond(send, 200, {"received": received})
            elif method == "POST" and path == "/control/stop":
                await respond(send, 200, {"ok": True})
                request_stop()
            else:
                await respond(send, 404, {"ok": False, "error": "not found: %s %s" % (method, path)})
        except Exception as exc:  # report instead of leaving the HTTP client hanging
            await respond(send, 500, {"ok": False, "error": repr(exc)})

    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    parser.add_argument("--prefix", default="", help="public path prefix, e.g. /invoke")
    parser.add_argument("prefix_pos", nargs="?", default=None, help="same as --prefix")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()

    prefix = (args.prefix_pos if args.prefix_pos is not None else args.prefix).rstrip("/")
    if prefix and not prefix.startswith("/"):
        prefix = "/" + prefix
    socketio_path = prefix + "/ws/socket.io"

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(128)
    sock.setblocking(False)
    port = sock.getsockname()[1]

    received = []
    server_box = {}

    def request_stop(force=False):
        server = server_box.get("server")
        if server is not None:
            server.should_exit = True
            if force:
                server.force_exit = True

    sio = build_sio(received)
    control = build_control_app(sio, received, request_stop)
    app = socketio.ASGIApp(sio, other_asgi_app=control, socketio_path=socketio_path)

    config = uvicorn.Config(app, log_level=args.log_level, lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    server_box["server"] = server

    async def run():
        loop = asyncio.get_running_loop()

        def watch_stdin():
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            except Exception:
                pass
            loop.call_soon_threadsafe(request_stop, True)

        if sys.stdin is not None and not sys.stdin.closed:
            threading.Thread(target=watch_stdin, name="stdin-eof", daemon=True).start()

        async def announce_when_started():
            while not server.started:
                if server.should_exit:
                    return
                await asyncio.sleep(0.01)
            sys.stdout.write(json.dumps({"port": port, "path": socketio_path}) + "\n")
            sys.stdout.flush()

        async def force_exit_watchdog():
            while not server.should_exit:
                await asyncio.sleep(0.05)
            await asyncio.sleep(FORCE_EXIT_AFTER_S)
            server.force_exit = True  # stop waiting for long-polls / websocket close handshakes
            await asyncio.sleep(HARD_EXIT_AFTER_S)
            sys.stderr.write("pysio fixture: shutdown stalled, hard exit\n")
            os._exit(1)

        tasks = [asyncio.ensure_future(announce_when_started()), asyncio.ensure_future(force_exit_watchdog())]
        try:
            await server.serve(sockets=[sock])
        finally:
            for task in tasks:
                task.cancel()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    # Daemon threads (stdin watcher) do not keep the process alive; leftover engine.io tasks were cancelled.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()

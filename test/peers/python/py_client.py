#!/usr/bin/python3
"""A python-socketio AsyncClient for sockgate's integration tests.

Usage: py_client.py --url URL --auth JSON [--ns / --ns /admin ...]

Connects over the websocket transport (no reconnection) and prints one JSON
line per happening, flushed at once:
  {"connected": SID, "ns": NS}         after each namespace connects
  {"event": E, "ns": NS, "args": [...]} for every event received (bytes as
                                        {"$bytes": "<base64>"})
  {"disconnected": NS}                 when a namespace is disconnected
It exits when stdin is closed or the connection ends.
"""
import argparse
import asyncio
import base64
import json
import sys
import threading

import socketio


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def plain(v):
    """Make a received value JSON-printable; bytes become {"$bytes": b64}."""
    if isinstance(v, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(v)).decode("ascii")}
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--auth", default="{}")
    ap.add_argument("--ns", action="append")
    args = ap.parse_args()
    namespaces = args.ns or ["/"]

    sio = socketio.AsyncClient(reconnection=False)

    def handlers(ns):
        async def on_connect():
            out({"connected": sio.get_sid(ns), "ns": ns})

        async def on_disconnect():
            out({"disconnected": ns})

        async def on_any(event, *a):
            out({"event": event, "ns": ns, "args": plain(list(a))})

        sio.on("connect", on_connect, namespace=ns)
        sio.on("disconnect", on_disconnect, namespace=ns)
        sio.on("*", on_any, namespace=ns)

    for ns in namespaces:
        handlers(ns)

    await sio.connect(args.url, auth=json.loads(args.auth),
                      transports=["websocket"], namespaces=namespaces,
                      wait_timeout=15)

    # Run until stdin closes (the test is done) or the connection ends. The
    # reader is a daemon thread so that it never holds up the exit.
    loop = asyncio.get_running_loop()
    stdin_closed = loop.create_future()

    def read_stdin():
        sys.stdin.read()
        loop.call_soon_threadsafe(
            lambda: stdin_closed.done() or stdin_closed.set_result(None))

    threading.Thread(target=read_stdin, daemon=True).start()
    ended = asyncio.ensure_future(sio.wait())
    await asyncio.wait([stdin_closed, ended],
                       return_when=asyncio.FIRST_COMPLETED)
    if sio.connected:
        await sio.disconnect()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass

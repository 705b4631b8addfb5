#!/usr/bin/python3
"""A python-socketio AsyncServer with AsyncRedisManager, for sockgate's
integration tests.

Usage: py_server.py --port P --redis-url URL --channel NAME [--room-ops]

--port 0 picks a free port. Once listening (and subscribed to the channel)
it prints one JSON line {"ready": PORT}. Every connection prints
{"connect": SID, "ns": NS, "user": ID, "rooms": [...]} and every disconnect
{"disconnect": SID, "ns": NS}. stdout is flushed after each line.

A client's auth dict {"user": "<id>", "rooms": [...]} puts it into room
"user:<id>" and into each listed room, on namespaces "/" and "/admin".

--room-ops teaches the manager the "enter_room" and "leave_room" queue
messages, which python-socketio 5.7.2 ignores (its pubsub thread only knows
emit, callback, disconnect and close_room; later releases handle them). The
handling mirrors what later releases do: act only when the sid is connected
to this server. It lets a test check that the messages a Go worker sends
carry the right sid, room and namespace.
"""
import argparse
import asyncio
import json
import pickle
import sys

import socketio
from aiohttp import web

NAMESPACES = ["/", "/admin"]


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class RoomOpsRedisManager(socketio.AsyncRedisManager):
    """AsyncRedisManager that also applies enter_room/leave_room messages."""

    async def _listen(self):
        async for raw in super()._listen():
            msg = decode(raw)
            method = msg.get("method") if isinstance(msg, dict) else None
            if method in ("enter_room", "leave_room"):
                sid, ns = msg.get("sid"), msg.get("namespace") or "/"
                room = msg.get("room")
                if self.is_connected(sid, ns):
                    if method == "enter_room":
                        self.enter_room(sid, ns, room)
                    else:
                        self.leave_room(sid, ns, room)
                out({"room_op": method, "sid": sid, "ns": ns, "room": room})
                continue
            yield raw


def decode(raw):
    # The same order as python-socketio's pubsub thread: pickle, then JSON.
    if isinstance(raw, bytes):
        try:
            return pickle.loads(raw)
        except Exception:
            pass
    try:
        return json.loads(raw)
    except Exception:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--redis-url", required=True)
    ap.add_argument("--channel", default="socketio")
    ap.add_argument("--room-ops", action="store_true")
    args = ap.parse_args()

    cls = RoomOpsRedisManager if args.room_ops else socketio.AsyncRedisManager
    mgr = cls(args.redis_url, channel=args.channel)
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=mgr)
    app = web.Application()
    sio.attach(app)

    def on_connect(ns):
        async def handler(sid, environ, auth=None):
            auth = auth if isinstance(auth, dict) else {}
            user = auth.get("user")
            rooms = []
            if user is not None:
                rooms.append("user:%s" % user)
            rooms.extend(auth.get("rooms") or [])
            for room in rooms:
                sio.enter_room(sid, room, namespace=ns)
            out({"connect": sid, "ns": ns, "user": user, "rooms": rooms})
        return handler

    def on_disconnect(ns):
        async def handler(sid):
            out({"disconnect": sid, "ns": ns})
        return handler

    for ns in NAMESPACES:
        sio.on("connect", on_connect(ns), namespace=ns)
        sio.on("disconnect", on_disconnect(ns), namespace=ns)

    async def run():
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", args.port)
        await site.start()
        port = runner.addresses[0][1]
        # python-socketio starts its queue listener on the first client
        # connection; start it now so the channel is subscribed before any
        # client exists (the tests poll PUBSUB NUMSUB for it).
        if not sio.manager_initialized:
            sio.manager_initialized = True
            sio.manager.initialize()
        out({"ready": port})
        await asyncio.Event().wait()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

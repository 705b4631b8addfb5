#!/usr/bin/python3
"""A python-socketio AsyncServer with AsyncRedisManager (unchanged: the
5.7.2 manager as Debian ships it), the python server of sockgate's
integration suites (test/integration, test/clusterint, test/fault) and of
bench/clusterbench.

Usage: py_server.py --port P --redis-url URL --channel NAME
                    [--room-ops] [--join ROOM] [--serve-forever]

--port 0 picks a free port. Once listening (and subscribed to the channel)
it prints one JSON line {"ready": PORT}. Every connection prints
{"connect": SID, "ns": NS, "user": ID, "rooms": [...]} and every disconnect
{"disconnect": SID, "ns": NS}. stdout is flushed after each line.

A client's auth dict {"user": "<id>", "rooms": [...]} puts it into room
"user:<id>" and into each listed room, on namespaces "/" and "/admin";
--join ROOM also puts every client into ROOM, before the CONNECT answer
(once a client has it, it is in the room).

--room-ops teaches the manager the "enter_room" and "leave_room" queue
messages, which python-socketio 5.7.2 ignores (its pubsub thread only knows
emit, callback, disconnect and close_room; later releases handle them). The
handling mirrors what later releases do: act only when the sid is connected
to this server. It lets a test check that the messages a Go worker sends
carry the right sid, room and namespace.

Control commands, one JSON object per line on stdin (end of stdin exits;
with --serve-forever stdin is not read and the server runs until killed):
  {"cmd": "emit", "id": N, "event": E, "data": D, "room": R, "ns": "/"}
      sio.emit(E, D, room=R, namespace=NS): python publishes it on the
      channel and delivers it to its own clients when it reads it back.
      Prints {"emitted": N}.
  {"cmd": "rooms", "id": N, "sid": SID, "ns": "/"}
      prints {"rooms": [...], "id": N}: the rooms SID is in on this server
      (sorted), or {"rooms": null, "id": N} when SID is not connected here.
"""
import argparse
import asyncio
import json
import pickle
import sys
import threading

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
    ap.add_argument("--join", action="append", default=[])
    ap.add_argument("--serve-forever", action="store_true")
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
            rooms.extend(args.join)
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

    async def command(c):
        ns = c.get("ns") or "/"
        if c["cmd"] == "emit":
            await sio.emit(c["event"], c.get("data"), room=c.get("room"),
                           namespace=ns)
            out({"emitted": c.get("id")})
        elif c["cmd"] == "rooms":
            sid = c["sid"]
            if not mgr.is_connected(sid, ns):
                out({"rooms": None, "id": c.get("id")})
            else:
                out({"rooms": sorted(sio.rooms(sid, namespace=ns)),
                     "id": c.get("id")})
        else:
            out({"error": "unknown command %r" % c["cmd"]})

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

        if args.serve_forever:
            out({"ready": port})
            await asyncio.Event().wait()

        loop = asyncio.get_running_loop()
        lines = asyncio.Queue()

        def read_stdin():
            for ln in sys.stdin:
                loop.call_soon_threadsafe(lines.put_nowait, ln)
            loop.call_soon_threadsafe(lines.put_nowait, None)

        threading.Thread(target=read_stdin, daemon=True).start()
        out({"ready": port})
        while True:
            ln = await lines.get()
            if ln is None:
                break
            if not ln.strip():
                continue
            try:
                await command(json.loads(ln))
            except Exception as e:  # reported; the test decides
                out({"error": "%s: %s" % (type(e).__name__, e)})
        await runner.cleanup()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""A python-socketio AsyncServer with AsyncRedisManager (unchanged: the
5.7.2 manager as Debian ships it), a node of the mixed cluster in sockgate's
cluster integration tests.

Usage: py_server.py --port P --redis-url URL --channel NAME

--port 0 picks a free port. Once listening (and subscribed to the channel)
it prints one JSON line {"ready": PORT}. Every connection prints
{"connect": SID, "ns": NS, "user": ID, "rooms": [...]} and every disconnect
{"disconnect": SID, "ns": NS}. stdout is flushed after each line.

A client's auth dict {"user": "<id>", "rooms": [...]} puts it into room
"user:<id>" and into each listed room, on namespace "/".

Control commands, one JSON object per line on stdin (end of stdin exits):
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
import sys
import threading

import socketio
from aiohttp import web


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--redis-url", required=True)
    ap.add_argument("--channel", default="socketio")
    args = ap.parse_args()

    mgr = socketio.AsyncRedisManager(args.redis_url, channel=args.channel)
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=mgr)
    app = web.Application()
    sio.attach(app)

    async def on_connect(sid, environ, auth=None):
        auth = auth if isinstance(auth, dict) else {}
        user = auth.get("user")
        rooms = []
        if user is not None:
            rooms.append("user:%s" % user)
        rooms.extend(auth.get("rooms") or [])
        for room in rooms:
            sio.enter_room(sid, room, namespace="/")
        out({"connect": sid, "ns": "/", "user": user, "rooms": rooms})

    async def on_disconnect(sid):
        out({"disconnect": sid, "ns": "/"})

    sio.on("connect", on_connect, namespace="/")
    sio.on("disconnect", on_disconnect, namespace="/")

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

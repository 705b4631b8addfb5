#!/usr/bin/python3
"""The python-socketio side of bench/clusterbench: an AsyncServer
(aiohttp) with AsyncRedisManager on one channel, which puts every client
connecting to "/" into room "bench". Events reach its clients only through
Redis: a Go gateway.Worker publishes them, the manager's listener receives
them and the server writes them to the websockets.

Usage: py_bench_server.py --redis-url URL --channel NAME [--port 0]

Once listening (and with the manager's listener started) it prints one JSON
line {"ready": PORT} on stdout; the Go program then waits until Redis shows
the channel's subscriber (PUBSUB NUMSUB).
"""
import argparse
import asyncio
import json
import sys

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

    @sio.event
    async def connect(sid, environ, auth=None):
        # Before the CONNECT answer: once the client has it, it is in the room.
        sio.enter_room(sid, "bench")

    async def run():
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", args.port)
        await site.start()
        port = runner.addresses[0][1]
        # python-socketio starts its listener on the first connection;
        # start it now so the channel is subscribed before any client.
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

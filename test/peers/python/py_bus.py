#!/usr/bin/python3
"""Bus-side helpers for sockgate's cluster integration tests.

  py_bus.py emit --redis-url URL --channel NAME --room ROOM --event E
            --data JSON [--ns /] [--bin-key K]
      --bin-key adds data[K] = bytes 00 01 fe ff (data must be a dict).
      Emits through python-socketio 5.7.2's write-only
      AsyncRedisManager(url, channel=NAME, write_only=True), which publishes
      a pickle, then prints {"published": true}.

  py_bus.py evil --room ROOM --marker PATH
      Prints {"pickle": "<base64>"}: pickle.dumps of a valid-looking emit
      whose data holds an object whose __reduce__ calls os.system("touch
      PATH") (GLOBAL/STACK_GLOBAL + REDUCE opcodes). Anyone who unpickles
      it (python-socketio 5.7.2's listener does, for every message) creates
      PATH; the tests check that PATH never appears.
"""
import argparse
import asyncio
import base64
import json
import os
import pickle
import sys

import socketio


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, ("touch " + self.marker,))


async def emit(args):
    mgr = socketio.AsyncRedisManager(args.redis_url, channel=args.channel,
                                     write_only=True)
    data = json.loads(args.data)
    if args.bin_key:
        data[args.bin_key] = b"\x00\x01\xfe\xff"
    await mgr.emit(args.event, data, namespace=args.ns,
                   room=args.room)
    out({"published": True})


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("emit")
    e.add_argument("--redis-url", required=True)
    e.add_argument("--channel", required=True)
    e.add_argument("--room", required=True)
    e.add_argument("--event", required=True)
    e.add_argument("--data", required=True)
    e.add_argument("--ns", default="/")
    e.add_argument("--bin-key")
    v = sub.add_parser("evil")
    v.add_argument("--room", required=True)
    v.add_argument("--marker", required=True)
    args = ap.parse_args()

    if args.cmd == "emit":
        asyncio.run(emit(args))
    else:
        msg = {"method": "emit", "event": "pwned", "data": Evil(args.marker),
               "namespace": "/", "room": args.room, "skip_sid": None,
               "callback": None, "host_id": "0" * 32}
        out({"pickle": base64.b64encode(pickle.dumps(msg)).decode("ascii")})


if __name__ == "__main__":
    main()

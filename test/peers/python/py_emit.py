"""Measure python-socketio's write-only Redis manager emitting to a user room.

Run by bench/benchcmp, or by hand with Debian's interpreter and
python3-socketio:

    /usr/bin/python3 test/peers/python/py_emit.py \
        --url redis://127.0.0.1:6379/0 --channel socketio -n 20000

Prints one JSON object: the library versions and, for the sequential and the
concurrent run, how many emits were made, how long they took and the rate.
"""

import argparse
import asyncio
import json
import sys
import time


def _version(dist):
    try:
        from importlib import metadata
        return metadata.version(dist)
    except Exception:  # not installed as a distribution, or no metadata
        return "unknown"


async def _sequential(mgr, n):
    start = time.perf_counter()
    for i in range(n):
        await mgr.emit("progress", {"job": "resize-42", "pct": i % 100},
                       room="user:42")
    return time.perf_counter() - start


async def _concurrent(mgr, n, tasks):
    # Each task emits its share back to back, so `tasks` emits are in flight
    # at any moment (the redis client opens up to that many connections).
    shares = [n // tasks + (1 if t < n % tasks else 0) for t in range(tasks)]

    async def run(share):
        for i in range(share):
            await mgr.emit("progress", {"job": "resize-42", "pct": i % 100},
                           room="user:42")

    start = time.perf_counter()
    await asyncio.gather(*(run(s) for s in shares))
    return time.perf_counter() - start


def _result(n, seconds):
    return {"n": n, "seconds": seconds,
            "rate": n / seconds if seconds > 0 else 0.0}


async def _main(args):
    import socketio

    mgr = socketio.AsyncRedisManager(args.url, channel=args.channel,
                                     write_only=True)
    # Open the first connection outside the timed runs.
    await mgr.emit("warmup", None, room="user:42")
    out = {
        "python": sys.version.split()[0],
        "python_socketio": _version("python-socketio"),
        "redis_py": _version("redis"),
    }
    if args.n > 0:
        out["sequential"] = _result(args.n, await _sequential(mgr, args.n))
    if args.concurrent_n > 0 and args.concurrency > 0:
        secs = await _concurrent(mgr, args.concurrent_n, args.concurrency)
        out["concurrent"] = _result(args.concurrent_n, secs)
        out["concurrent"]["tasks"] = args.concurrency
    await mgr.redis.close()
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True, help="redis:// URL")
    p.add_argument("--channel", default="socketio")
    p.add_argument("-n", type=int, default=20000,
                   help="emits in the sequential run (0 skips it)")
    p.add_argument("--concurrent-n", type=int, default=50000,
                   help="emits in the concurrent run (0 skips it)")
    p.add_argument("--concurrency", type=int, default=100,
                   help="tasks emitting at once in the concurrent run")
    args = p.parse_args()
    print(json.dumps(asyncio.run(_main(args))))


if __name__ == "__main__":
    main()

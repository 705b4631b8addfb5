"""py_sio_client.py: a real python-socketio (Debian 5.7.2) AsyncClient driven by
test/sioint's integration tests over the same line protocol as
test/peers/node/sio_client.js.

    /usr/bin/python3 -u py_sio_client.py '<options JSON>'

options: {"url": "http://127.0.0.1:port", "ns": "/", "transports":
["websocket"] | ["polling"] | ["polling", "websocket"], "auth": {...},
"reconnection": bool (default true)}

Prints one JSON object per line on stdout:
  {"connected": "<sid>", "ns": "/x", "transport": "<name>"}
  {"connect_error": "<message>", "data": ...}
  {"disconnect": "<reason>"}              (5.7.2 gives no reason: "")
  {"event": "<name>", "args": [...], "acked": bool}
  {"ack": <id>, "args": [...]} or {"ack": <id>, "error": "<message>"}
  {"transport": "<name>", "id": <id>}
  {"error": "<message>"}
Binary (bytes) is printed as {"$bytes": "<base64>"} and {"$bytes": ...} in
commands becomes bytes.

python-socketio hands the client no ack request flag, so every received
event is answered (when the server asked for an ack) with the arguments
["client-ack", *args]; "acked" is true when the server asked.

Commands on stdin, one JSON object per line:
  {"cmd": "emit", "event": "e", "args": [...], "ack": <id>?}
  {"cmd": "transport", "id": <id>}
  {"cmd": "disconnect"}
End of stdin disconnects and exits.
"""

import asyncio
import base64
import json
import sys
import threading

import socketio


def out(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def to_json(v):
    if isinstance(v, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(v)).decode()}
    if isinstance(v, (list, tuple)):
        return [to_json(x) for x in v]
    if isinstance(v, dict):
        return {k: to_json(x) for k, x in v.items()}
    return v


def from_json(v):
    if isinstance(v, list):
        return [from_json(x) for x in v]
    if isinstance(v, dict):
        if list(v.keys()) == ["$bytes"]:
            return base64.b64decode(v["$bytes"])
        return {k: from_json(x) for k, x in v.items()}
    return v


async def main():
    opts = json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}")
    ns = opts.get("ns") or "/"
    sio = socketio.AsyncClient(
        reconnection=opts.get("reconnection", True),
        reconnection_delay=0.1,
        reconnection_delay_max=0.5,
        randomization_factor=0,
    )
    loop = asyncio.get_running_loop()

    async def on_connect():
        out({"connected": sio.get_sid(ns), "ns": ns, "transport": sio.transport()})

    async def on_connect_error(data=None, *rest):
        msg = data.get("message", "") if isinstance(data, dict) else str(data)
        out({"connect_error": msg, "data": to_json(data.get("data")) if isinstance(data, dict) else None})

    async def on_disconnect(*args):
        out({"disconnect": str(args[0]) if args else ""})

    # The server's ack request is not visible to a '*' handler in 5.7.2;
    # _handle_event is wrapped to know whether an ack id came with it.
    acked = {}
    orig_handle_event = sio._handle_event

    async def handle_event(namespace, id, data):
        acked["last"] = id is not None
        await orig_handle_event(namespace, id, data)

    sio._handle_event = handle_event

    async def on_any(event, *args):
        out({"event": event, "args": to_json(list(args)), "acked": acked.get("last", False)})
        return ("client-ack", *args)

    sio.on("connect", on_connect, namespace=ns)
    sio.on("connect_error", on_connect_error, namespace=ns)
    sio.on("disconnect", on_disconnect, namespace=ns)
    sio.on("*", on_any, namespace=ns)

    lines = asyncio.Queue()

    def read_stdin():
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read_stdin, daemon=True).start()

    try:
        await sio.connect(
            opts["url"],
            namespaces=[ns],
            auth=opts.get("auth") or {},
            transports=opts.get("transports") or ["polling", "websocket"],
            wait_timeout=10,
        )
    except socketio.exceptions.ConnectionError as e:
        out({"connect_failed": str(e)})
        # Keep reading stdin until the test closes it.

    async def wait_ack(ack_id, fut):
        try:
            resp = await asyncio.wait_for(fut, 10)
            out({"ack": ack_id, "args": to_json(list(resp))})
        except asyncio.TimeoutError:
            out({"ack": ack_id, "error": "operation has timed out"})

    async def emit(c):
        # Sent in command order; only the ack is awaited in the background.
        args = tuple(from_json(c.get("args") or []))
        ack_id = c.get("ack")
        if ack_id is None:
            await sio.emit(c["event"], args, namespace=ns)
            return
        fut = loop.create_future()
        await sio.emit(c["event"], args, namespace=ns,
                       callback=lambda *resp: fut.done() or fut.set_result(resp))
        t = asyncio.ensure_future(wait_ack(ack_id, fut))
        pending.add(t)
        t.add_done_callback(pending.discard)

    pending = set()
    while True:
        line = await lines.get()
        if line is None:
            break
        if not line.strip():
            continue
        c = json.loads(line)
        try:
            if c["cmd"] == "emit":
                await emit(c)
            elif c["cmd"] == "transport":
                out({"transport": sio.transport() if sio.eio.state == "connected" else None, "id": c.get("id")})
            elif c["cmd"] == "disconnect":
                await sio.disconnect()
            else:
                out({"error": "unknown command " + json.dumps(c["cmd"])})
        except Exception as e:  # reported, the test decides
            out({"error": "%s: %s" % (type(e).__name__, e)})
    try:
        await asyncio.wait_for(sio.disconnect(), 2)
    except Exception:
        pass


if __name__ == "__main__":
    asyncio.run(main())

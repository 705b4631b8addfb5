"""Drives Debian's python3-engineio client against the Go server for the
integration tests. Usage: eio_client.py URL TRANSPORTS(comma list) SECONDS

Prints one JSON line per event; sends a text and a binary message on open,
stays connected SECONDS (several ping intervals), then disconnects."""
import json
import sys
import threading
import time

import engineio

url, transports, seconds = sys.argv[1], sys.argv[2].split(","), float(sys.argv[3])
out_lock = threading.Lock()


def out(**kw):
    with out_lock:
        print(json.dumps(kw), flush=True)


eio = engineio.Client()


@eio.on("connect")
def on_connect():
    out(event="open", transport=eio.transport())


@eio.on("message")
def on_message(data):
    if isinstance(data, (bytes, bytearray)):
        out(event="message", binary=True, data=bytes(data).hex())
    else:
        out(event="message", binary=False, data=data)


@eio.on("disconnect")
def on_disconnect():
    out(event="close")


eio.connect(url, transports=transports, engineio_path="engine.io")
eio.send("hello from python")
eio.send(b"\x01\x02\x03\xfa")
time.sleep(seconds)
out(event="finish", transport=eio.transport())
eio.disconnect()

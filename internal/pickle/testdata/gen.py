#!/usr/bin/python3
"""Generate the pickle test corpus in testdata/generated/.

Run it from the repository root with Debian's CPython (not a virtualenv's
python3, so that the output is reproducible):

    /usr/bin/python3 internal/pickle/testdata/gen.py

It rewrites testdata/generated/*.bin and testdata/generated/manifest.json.
The manifest lists, for every file, either the value the Go decoder must
produce ("expect", in a tagged JSON form described below) or the sentinel
error it must return ("error": "malformed" | "unsafe" | "unsupported").

Tagged JSON form of an expected value (see expectEqual in the Go tests):
    None/True/False/str -> null/true/false/"..."
    int                 -> {"$int": "<exact decimal>"}
    float               -> {"$float": "<repr>"}
    bytes, bytearray    -> {"$bytes": "<base64>"}
    list                -> [...]
    tuple               -> {"$tuple": [...]}
    dict                -> {"$dict": {"<str key or decimal int key>": ...}}
"""

import base64
import codecs
import datetime
import json
import os
import pickle
import shutil
import sys

sys.set_int_max_str_digits(0)  # protocol 0 writes huge ints as text
sys.setrecursionlimit(20000)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "generated")
PROTOCOLS = range(0, 6)


def tag(v):
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return {"$int": str(v)}
    if isinstance(v, float):
        return {"$float": repr(v)}
    if isinstance(v, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(v)).decode("ascii")}
    if isinstance(v, pickle.PickleBuffer):
        return tag(bytes(v))
    if isinstance(v, list):
        return [tag(x) for x in v]
    if isinstance(v, tuple):
        return {"$tuple": [tag(x) for x in v]}
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            assert type(k) in (str, int), k
            out[str(k)] = tag(x)
        return {"$dict": out}
    raise TypeError(type(v))


# ---- values that must decode ----

shared_list = [1, 2]
shared_dict = {"k": "v"}
shared_bytes = b"ab"

GOOD = {
    # Non-finite floats decode to json.dumps's spelling (NaN, Infinity,
    # -Infinity); the codec turns them into null.
    "nan": float("nan"),
    "inf_in_list": [1.0, float("inf")],
    "neg_inf": float("-inf"),
    "ints": [0, -1, 1, 127, 128, 255, 256, 65535, 65536, 2**31 - 1, 2**31,
             -2**31, -2**31 - 1, 2**63 - 1, 2**63, -2**63, -2**63 - 1, 2**64,
             2**100, -2**100, 2**1000, -(2**1000)],
    "int_top": 7,
    "int_top_big": 2**100,
    "floats": [0.0, -0.0, 1.0, 1.5, -2.25, 0.1, 3.5, 1e100, 1e-300, 5e-324,
               1.7976931348623157e308, 1234567.0, 1e16, 123456789.123],
    "float_top": 2.5,
    "containers": {
        "l0": [], "l1": [1], "l2": [1, "a"], "l3": [1, 2, 3], "l4": [1, 2, 3, 4],
        "t0": (), "t1": (1,), "t2": (1, "a"), "t3": (1, 2, 3), "t4": (1, 2, 3, 4),
        "d0": {}, "d1": {"a": 1}, "d2": {"a": 1, "b": 2},
        "d3": {"a": 1, "b": 2, "c": 3}, "d4": {"a": 1, "b": 2, "c": 3, "d": 4},
        "nested": [[[[]]], ((),), {"x": [{"y": (1, [2, {"z": None}])}]}],
    },
    "tuple_top": (1, "two", None, 3.5),
    "list_top": [],
    "bytes": [b"", b"\x00", b"\x00\xff", bytes(range(256)), b"x" * 300],
    "bytes_top": b"\x00\x01\xff",
    "bytes_empty_top": b"",
    "bytearray": [bytearray(), bytearray(b"\x00\xff"), bytearray(range(256))],
    "bytearray_top": bytearray(b"xy"),
    "unicode": ["", "ascii", "h\xe9llo w\xf6rld", "\u65e5\u672c\u8a9e",
                "\U0001f600 astral \U0001d11e", "\xff\u0100\uffff\U0010ffff",
                "back\\slash\nnewline\rcr\x00nul\x1asub",
                "\\u0041 is not an escape", "\\", "x" * 300],
    "str_top": "hello",
    "int_keys": {1: "a", -5: "b", 2**70: "c", 0: "zero", "s": "str key"},
    "consts": [True, False, None],
    "true_top": True,
    "false_top": False,
    "none_top": None,
    "shared": [shared_list, shared_list, {"a": shared_list}, (shared_list,),
               shared_dict, shared_dict, shared_bytes, shared_bytes,
               "same string", "same string"],
    "message": {"method": "emit", "event": "multi",
                "data": (1, "two", None, 3.5, b"\x00\xff", [1, {"k": (True,)}]),
                "namespace": "/", "room": ["a", "b"], "skip_sid": None,
                "callback": None, "host_id": "0" * 32},
}

# Only for some protocols.
GOOD_PROTO = {
    # Protocol 5 writes in-band PickleBuffers as BYTEARRAY8 / bytes.
    "picklebuffer_rw": ([5], pickle.PickleBuffer(bytearray(b"xy")), bytearray(b"xy")),
    "picklebuffer_ro": ([5], pickle.PickleBuffer(b"xy"), b"xy"),
    "bytearray8": ([5], [bytearray(b"\x00\xff"), bytearray()], None),
    # A value bigger than a frame: protocol 4+ writes it outside frames.
    "big_frame": ([5], {"a": "s" * 10, "blob": b"\x01" * 70000, "z": [1, 2]}, None),
}


# ---- values that must be refused ----

class Foo:
    pass


class Reduce:
    """Pickles as REDUCE of an arbitrary callable and arguments."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def recursive_list():
    l = []
    l.append(l)
    return l


def recursive_dict():
    d = {}
    d["self"] = d
    return d


def recursive_via_tuple():
    l = []
    l.append((l,))
    return l


def proto_ge(n, yes, no):
    return lambda p: yes if p >= n else no


BAD = {
    "os_system": (os.system, "unsafe"),
    "eval": (eval, "unsafe"),
    "instance": (Foo(), "unsafe"),
    "reduce_os_system": (Reduce(os.system, ("echo pwned",)), "unsafe"),
    "reduce_eval_in_list": ([1, Reduce(eval, ("1+1",))], "unsafe"),
    "set": ({1, 2}, proto_ge(4, "unsupported", "unsafe")),
    "empty_set": (set(), proto_ge(4, "unsupported", "unsafe")),
    "frozenset": (frozenset({1}), proto_ge(4, "unsupported", "unsafe")),
    "recursive_list": (recursive_list(), "unsupported"),
    "recursive_dict": (recursive_dict(), "unsupported"),
    "recursive_via_tuple": (recursive_via_tuple(), "unsupported"),
    "codecs_utf8": (Reduce(codecs.encode, ("abc", "utf-8")), "unsafe"),
    "codecs_one_arg": (Reduce(codecs.encode, ("abc",)), "unsafe"),
    "codecs_nonlatin": (Reduce(codecs.encode, ("\u20ac", "latin1")), "malformed"),
    "bytes_with_arg": (Reduce(bytes, (b"abc",)), "unsafe"),
    "bytearray_utf8": (Reduce(bytearray, ("abc", "utf-8")), "unsafe"),
    "callable_value": (codecs.encode, "unsafe"),
    "callable_in_list": ([bytearray], "unsafe"),
    "callable_in_dict": ({"f": bytes}, "unsafe"),
    "tuple_key": ({(1, 2): 3}, "unsupported"),
    "float_key": ({1.5: 1}, "unsupported"),
    "bytes_key": ({b"k": 1}, "unsupported"),
    "none_key": ({None: 1}, "unsupported"),
    "bool_key": ({True: 1}, "unsupported"),
    "complex": (1 + 2j, "unsafe"),
    "datetime": (datetime.datetime(2020, 1, 2, 3, 4, 5), "unsafe"),
    "lone_surrogate": ("a\ud800b", "unsupported"),
    "huge_int": (2**(8 * 5000), "unsupported"),
    "too_deep": (None, "unsupported"),  # filled in below
}


def deep(n):
    v = []
    for _ in range(n):
        v = [v]
    return v


BAD["too_deep"] = (deep(1500), "unsupported")

BAD_PROTO = {
    "out_of_band_buffer": ([5], lambda p: pickle.dumps(
        pickle.PickleBuffer(b"xy"), protocol=p, buffer_callback=lambda b: False),
        "unsupported"),
}


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    manifest = {"python": sys.version.split()[0], "cases": []}

    def write(name, p, data, entry):
        fname = "%s.p%d.bin" % (name, p)
        with open(os.path.join(OUT, fname), "wb") as f:
            f.write(data)
        entry = dict(entry, file=fname, protocol=p)
        manifest["cases"].append(entry)

    for name, value in GOOD.items():
        for p in PROTOCOLS:
            data = pickle.dumps(value, protocol=p)
            assert _roundtrip_ok(data, value), name
            write(name, p, data, {"expect": tag(value)})
    for name, (protos, value, expect) in GOOD_PROTO.items():
        for p in protos:
            data = pickle.dumps(value, protocol=p)
            write(name, p, data, {"expect": tag(value if expect is None else expect)})
    for name, (value, err) in BAD.items():
        for p in PROTOCOLS:
            data = pickle.dumps(value, protocol=p)
            e = err(p) if callable(err) else err
            write(name, p, data, {"error": e})
    for name, (protos, make, err) in BAD_PROTO.items():
        for p in protos:
            write(name, p, make(p), {"error": err})

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        # One case per line keeps diffs of regenerated corpora readable.
        f.write('{"python": %s, "cases": [\n' % json.dumps(manifest["python"]))
        f.write(",\n".join(json.dumps(c, sort_keys=True) for c in manifest["cases"]))
        f.write("\n]}\n")
    print("wrote %d cases to %s" % (len(manifest["cases"]), OUT))


def _roundtrip_ok(data, value):
    back = pickle.loads(data)
    return repr(back) == repr(value) or back == value


if __name__ == "__main__":
    main()

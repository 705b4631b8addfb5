// Package pickle is a safe decoder for Python pickles (protocols 0 to 5),
// limited to the plain data that python-socketio's Redis manager publishes:
// python-socketio before 5.14 pickles its pub/sub messages.
//
// # Safety model
//
// Unpickling in Python can import any module and call any callable. Decode
// never does either: it runs the pickle virtual machine over plain Go
// values only, and refuses with ErrUnsafe every opcode that imports or
// calls (GLOBAL, STACK_GLOBAL, REDUCE, INST, OBJ, NEWOBJ, NEWOBJ_EX, BUILD,
// EXT1, EXT2, EXT4, PERSID, BINPERSID), with one exception.
//
// CPython pickles bytes and bytearray values in protocols 0 to 2 (and
// bytearray up to 4) as calls, so Decode emulates, without importing
// anything, exactly these callables with exactly the arguments CPython's
// picklers write:
//
//	_codecs.encode(str, 'latin1' or 'latin-1')   → bytes (the str's code points, each ≤ 255)
//	__builtin__.bytes() / builtins.bytes()         → empty bytes
//	__builtin__.bytearray() / builtins.bytearray()  → empty bytearray
//	bytearray(bytes)                               → bytearray
//	bytearray(str, 'latin-1' or 'latin1')           → bytearray (Python 2)
//
// Any other module or name in GLOBAL or STACK_GLOBAL is refused at once.
// An allowed callable may only be consumed by REDUCE: one that ends up in
// a container or as the result, is called with other arguments, or is
// imported and never called is refused too (ErrUnsafe). A code point above
// 255 given to a latin-1 encode is ErrMalformed.
//
// # Values without a plain Go form
//
// Sets and frozensets (EMPTY_SET, ADDITEMS, FROZENSET), out-of-band buffers
// (NEXT_BUFFER, READONLY_BUFFER), dict keys other than str and int (int
// keys become their decimal text, as json.dumps does; bool keys are refused
// although json.dumps would write "true"), strings
// containing surrogate code points and cyclic values are refused with
// ErrUnsupported. Python 2 byte strings (STRING, BINSTRING, SHORT_BINSTRING)
// are decoded as latin-1 text. A str key and an int key with the same
// decimal text collide in the resulting map; the one set last wins.
//
// # Limits against hostile input
//
// Decode never panics and bounds its work and memory by the input length:
//   - a length prefix is checked against the remaining input before
//     anything is allocated for it;
//   - integers are at most 4096 bytes (LONG1/LONG4) or 9865 digits
//     (INT/LONG text), or ErrUnsupported;
//   - containers nest at most 1000 deep and at most 1001 MARKs are open at
//     once (ErrUnsupported);
//   - the memo grows by at most one entry per opcode, so by the input length;
//   - the result is built from the memo's shared references with a size
//     budget of 64 units per input byte plus 4096 (a value costs 1 plus the
//     length of its text or bytes), so exponential expansion ("billion
//     laughs") fails with ErrUnsupported after linear work;
//   - a container that contains itself is ErrUnsupported.
//
// The input must be exactly one pickle: bytes after STOP, or values or
// MARKs left on the stack at STOP, are ErrMalformed. FRAME opcodes are
// checked (the frame must fit in the input) and otherwise ignored, as in
// CPython's C unpickler.
package pickle

package pickle

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// Tuple is a decoded Python tuple. It is kept distinct from a list ([]any)
// because a tuple as python-socketio's top-level "data" field means several
// event arguments, while a list is a single argument.
type Tuple []any

var (
	// ErrMalformed is wrapped by every error caused by input that is not a
	// valid pickle: truncated input, an unknown opcode, stack underflow, a
	// missing MARK, a bad memo index, bytes after STOP, invalid text, ...
	ErrMalformed = errors.New("pickle: malformed")

	// ErrUnsafe is wrapped by every error caused by a pickle that would
	// import or call anything outside the package's small allow-list (see
	// the package documentation): GLOBAL, STACK_GLOBAL, REDUCE, INST, OBJ,
	// NEWOBJ, NEWOBJ_EX, BUILD, EXT1/2/4, PERSID and BINPERSID.
	ErrUnsafe = errors.New("pickle: unsafe")

	// ErrUnsupported is wrapped by every error caused by a well-formed and
	// safe pickle whose value has no plain Go equivalent or exceeds a limit:
	// sets, dict keys other than str and int, strings with lone surrogates, out-of-band buffers, cyclic values,
	// values nested too deeply or expanding too much through shared
	// references, integers that are too large.
	ErrUnsupported = errors.New("pickle: unsupported value")
)

// errRecovered marks an error produced by the last-resort recover in Decode.
// It is never expected to occur; the tests and the fuzz target check that.
var errRecovered = errors.New("internal error (recovered panic)")

// Limits against hostile input.
const (
	// maxDepth is the deepest container nesting accepted in the result
	// (CPython's own pickler cannot produce much deeper values either,
	// because of its recursion limit).
	maxDepth = 1000
	// maxMarks is the most MARKs that may be open at once.
	maxMarks = maxDepth + 1
	// maxIntBytes caps the two's complement size of LONG1/LONG4 integers.
	maxIntBytes = 4096
	// maxIntDigits caps decimal INT/LONG text; 10^9865 > 2^(8*4096).
	maxIntDigits = 9865
	// budgetPerByte and budgetBase set the size budget of the result:
	// every reached value costs 1, plus the length of its text or bytes.
	// The budget is budgetPerByte*len(data)+budgetBase.
	budgetPerByte = 64
	budgetBase    = 4096
)

// Decode decodes one pickle (protocols 0 to 5) into plain Go values:
//
//	dict            → map[string]any (str keys; int keys as decimal text)
//	list            → []any
//	tuple           → Tuple
//	str             → string (also Python 2 STRING opcodes, read as latin-1)
//	bytes/bytearray → []byte
//	int             → json.Number with the exact decimal text
//	float           → json.Number formatted by strconv.FormatFloat(f, 'g', -1, 64);
//	                  NaN and ±inf as json.Number(NaN), (PosInfinity) and
//	                  (NegInfinity), json.dumps's spelling, which is not JSON
//	True/False      → bool (also protocol 0's INT "01"/"00")
//	None            → nil
//
// The input must hold exactly one pickle: bytes after its STOP are an error.
// Every error wraps exactly one of ErrMalformed, ErrUnsafe or
// ErrUnsupported and names the opcode and its byte offset where there is
// one. Decode never imports or calls anything, whatever the input; see the
// package documentation for the allow-list of callables it emulates.
//
// Containers in the result are never shared with each other or cyclic,
// even when the pickle shares them through its memo, but identical bytes
// values referenced several times through the memo share one backing
// array. The result does not alias data.
func Decode(data []byte) (v any, err error) {
	d := decoder{data: data}
	d.stack = d.stackBuf[:0]
	d.marks = d.marksBuf[:0]
	// Pickles memoize nearly every value: size the memo for one entry
	// per few input bytes, within reason.
	d.memo = make([]any, 0, min(len(data)/8+1, 256))
	defer func() {
		// Last-resort safety net only: every input is bounds-checked
		// explicitly, and the fuzz target asserts this is never reached.
		if r := recover(); r != nil {
			v = nil
			err = fmt.Errorf("%w: %w at offset %d: %v", ErrMalformed, errRecovered, d.op, r)
		}
	}()
	root, err := d.run()
	if err != nil {
		return nil, err
	}
	d.budget = budgetBase
	if len(data) < (math.MaxInt-budgetBase)/budgetPerByte {
		d.budget += budgetPerByte * len(data)
	} else {
		d.budget = math.MaxInt
	}
	d.budgetTotal = d.budget
	v, err = d.convert(root, 0)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Intermediate values on the decoder's stack and in its memo. Containers
// are pointers so that the memo gives them Python's reference semantics
// (a list may be appended to after it was put in another container).
type (
	listNode struct {
		items    []any
		off      int // offset of the opcode that created it
		visiting bool
	}
	tupleNode struct {
		items    []any
		off      int
		visiting bool
	}
	dictNode struct {
		items    []dictItem // in insertion order, duplicates included
		off      int
		visiting bool
	}
	// dictItem is one key and value set in a dict.
	dictItem struct {
		key string
		val any
	}
	// pyFloat is a float, already formatted as JSON number text.
	pyFloat string
	// byteArray is a Python bytearray (bytes are plain []byte).
	byteArray []byte
	// callable identifies one of the allow-listed callables.
	callable uint8
	// callRef is an allow-listed callable pushed by GLOBAL or STACK_GLOBAL
	// at offset off. It may only be consumed by REDUCE, and must be before
	// STOP: an allowed name imported for any other purpose is refused.
	callRef struct {
		fn     callable
		off    int
		called bool
	}
)

// Python ints are held as json.Number, strings as string, None as nil.

const (
	callCodecsEncode callable = iota + 1
	callBytes
	callByteArray
)

func (c callable) String() string {
	switch c {
	case callCodecsEncode:
		return "_codecs.encode"
	case callBytes:
		return "builtins.bytes"
	case callByteArray:
		return "builtins.bytearray"
	}
	return "callable"
}

// lookupCallable is the allow-list of GLOBAL/STACK_GLOBAL names: exactly the
// names CPython's pickler writes for bytes and bytearray in protocols 0-2.
func lookupCallable(module, name string) (callable, bool) {
	switch {
	case module == "_codecs" && name == "encode":
		return callCodecsEncode, true
	case (module == "__builtin__" || module == "builtins") && name == "bytes":
		return callBytes, true
	case (module == "__builtin__" || module == "builtins") && name == "bytearray":
		return callByteArray, true
	}
	return 0, false
}

// typeName returns the Python type name of an intermediate value, for errors.
func typeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case json.Number:
		return "int"
	case pyFloat:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case byteArray:
		return "bytearray"
	case *listNode:
		return "list"
	case *tupleNode:
		return "tuple"
	case *dictNode:
		return "dict"
	case *callRef:
		return "callable " + x.fn.String()
	}
	return fmt.Sprintf("%T", v)
}

package pickle

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func le32(v uint32) string {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	return string(b[:])
}

func le64(v uint64) string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	return string(b[:])
}

// binUnicode returns a BINUNICODE opcode for s.
func binUnicode(s string) string { return "X" + le32(uint32(len(s))) + s }

// Hand-built pickles that must decode, checked against CPython 3.11's
// pickle.loads when they were written.
var goodPickles = []struct {
	name string
	in   string
	want any
}{
	{"none", "N.", nil},
	{"proto2 none", "\x80\x02N.", nil},
	{"proto5 frame", "\x80\x05\x95" + le64(2) + "N.", nil},
	{"frame of zero", "\x80\x04\x95" + le64(0) + "N.", nil},
	{"int true", "I01\n.", true},
	{"int false", "I00\n.", false},
	{"int", "I42\n.", json.Number("42")},
	{"int plus", "I+42\n.", json.Number("42")},
	{"int negative", "I-42\n.", json.Number("-42")},
	{"int zero", "I0\n.", json.Number("0")},
	{"int minus zero is a bool", "I-0\n.", false},
	{"int plus one is a bool", "I+1\n.", true},
	{"int minus zero three chars", "I-00\n.", json.Number("0")},
	{"int zeros", "I000\n.", json.Number("0")},
	{"int big", "I123456789012345678901234567890\n.", json.Number("123456789012345678901234567890")},
	{"long with L", "L-123456789012345678901234567890L\n.", json.Number("-123456789012345678901234567890")},
	{"long without L", "L5\n.", json.Number("5")},
	{"binint", "J\xff\xff\xff\xff.", json.Number("-1")},
	{"binint min", "J\x00\x00\x00\x80.", json.Number("-2147483648")},
	{"binint1", "K\xff.", json.Number("255")},
	{"binint2", "M\xff\xff.", json.Number("65535")},
	{"long1 zero", "\x8a\x00.", json.Number("0")},
	{"long1 -1", "\x8a\x01\xff.", json.Number("-1")},
	{"long1 255", "\x8a\x02\xff\x00.", json.Number("255")},
	{"long1 -2**63", "\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80.", json.Number("-9223372036854775808")},
	{"long1 2**64", "\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.", json.Number("18446744073709551616")},
	{"long1 -2**64", "\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\xff.", json.Number("-18446744073709551616")},
	{"long4", "\x8b" + le32(2) + "\x00\x80.", json.Number("-32768")},
	{"float", "F1.5\n.", json.Number("1.5")},
	{"float exp", "F1e+100\n.", json.Number("1e+100")},
	{"float minus zero", "F-0.0\n.", json.Number("-0")},
	{"float dot", "F.5\n.", json.Number("0.5")},
	{"float trailing dot", "F2.\n.", json.Number("2")},
	{"float underflow", "F1e-400\n.", json.Number("0")},
	// Non-finite floats in json.dumps's spelling (the codec turns them
	// into null).
	{"float nan text", "Fnan\n.", json.Number(NaN)},
	{"float inf text", "F-inf\n.", json.Number(NegInfinity)},
	{"float infinity text", "FInfinity\n.", json.Number(PosInfinity)},
	{"float plus inf text", "F+INF\n.", json.Number(PosInfinity)},
	{"float overflow text", "F1e400\n.", json.Number(PosInfinity)},
	{"float negative overflow text", "F-1e400\n.", json.Number(NegInfinity)},
	{"binfloat nan", "G\x7f\xf8\x00\x00\x00\x00\x00\x00.", json.Number(NaN)},
	{"binfloat inf", "G\x7f\xf0\x00\x00\x00\x00\x00\x00.", json.Number(PosInfinity)},
	{"binfloat -inf", "G\xff\xf0\x00\x00\x00\x00\x00\x00.", json.Number(NegInfinity)},
	{"binfloat", "G\x40\x0c\x00\x00\x00\x00\x00\x00.", json.Number("3.5")},
	{"string", "S'abc'\n.", "abc"},
	{"string double quotes", "S\"it's\"\n.", "it's"},
	{"string escapes", `S'\x00\xff\n\t\'q\\\a\b\f\r\v'` + "\n.", "\x00\u00ff\n\t'q\\\a\b\f\r\v"},
	{"string octal", `S'\101\0\777'` + "\n.", "A\x00\u00ff"},
	{"string unknown escape", `S'\q'` + "\n.", `\q`},
	{"string latin1", "S'\xe9'\n.", "é"},
	{"binstring", "T" + le32(3) + "a\xe9c.", "aéc"},
	{"short binstring", "U\x02\xe9\xff.", "éÿ"},
	{"unicode", "Vh\xe9llo\n.", "héllo"},
	{"unicode escapes", `V\u20ac\U0001f600\u005c\x\` + "\n.", "€😀\\\\x\\"},
	{"unicode even backslashes", `V\\u0041` + "\n.", `\\u0041`},
	{"unicode odd backslashes", `V\\\u0041` + "\n.", `\\A`},
	{"binunicode", binUnicode("日本") + ".", "日本"},
	{"short binunicode", "\x8c\x04\xf0\x9f\x98\x80.", "😀"},
	{"binunicode8", "\x8d" + le64(2) + "hi.", "hi"},
	{"short binbytes", "C\x02\x00\xff.", []byte{0x00, 0xff}},
	{"binbytes", "B" + le32(1) + "x.", []byte("x")},
	{"binbytes8", "\x8e" + le64(0) + ".", []byte{}},
	{"bytearray8", "\x96" + le64(2) + "ab.", []byte("ab")},
	{"true false", "\x88\x89\x86.", Tuple{true, false}},
	{"empty tuple", ").", Tuple{}},
	{"tuple1", "N\x85.", Tuple{nil}},
	{"tuple3", "NNN\x87.", Tuple{nil, nil, nil}},
	{"tuple mark", "(NNNNt.", Tuple{nil, nil, nil, nil}},
	{"list mark", "(K\x01K\x02l.", []any{json.Number("1"), json.Number("2")}},
	{"empty list", "].", []any{}},
	{"appends", "](K\x01K\x02e.", []any{json.Number("1"), json.Number("2")}},
	{"appends empty", "](e.", []any{}},
	{"append", "]K\x01a.", []any{json.Number("1")}},
	{"empty dict", "}.", map[string]any{}},
	{"dict mark", "(Vk\nI1\nd.", map[string]any{"k": json.Number("1")}},
	{"setitem", "}Vk\nNs.", map[string]any{"k": nil}},
	{"setitems int keys", "}(K\x01Va\nJ\xff\xff\xff\xffVb\nu.", map[string]any{"1": "a", "-1": "b"}},
	{"dict duplicate keys", "}(" + binUnicode("a") + "K\x01" + binUnicode("a") + "K\x02u.", map[string]any{"a": json.Number("2")}},
	{"dict str and int key collide", "}(" + binUnicode("1") + "K\x01K\x01K\x02u.", map[string]any{"1": json.Number("2")}},
	{"put get text", "I1\np5\n0(g5\ng5\nl.", []any{json.Number("1"), json.Number("1")}},
	{"binput binget", "K\x07q\x00h\x00\x86.", Tuple{json.Number("7"), json.Number("7")}},
	{"long binput", "K\x07r" + le32(1<<31) + "j" + le32(1<<31) + "\x86.", Tuple{json.Number("7"), json.Number("7")}},
	{"memoize after sparse put", "Nq\x050\x88\x940(h\x01h\x05t.", Tuple{true, nil}},
	{"put overwrites", "K\x01q\x000K\x02q\x000h\x00.", json.Number("2")},
	{"pop", "NK\x010.", nil},
	{"pop pops an empty mark", "N(0.", nil},
	{"pop mark", "N(K\x01K\x021.", nil},
	{"dup", "K\x012\x86.", Tuple{json.Number("1"), json.Number("1")}},
	{"shared list is copied", "]q\x00K\x01ah\x00\x86.", Tuple{[]any{json.Number("1")}, []any{json.Number("1")}}},
	{"list mutated after sharing", "]q\x00\x85h\x00K\x01aK\x02a\x86.", nil}, // checked below
	{"codecs encode", "c_codecs\nencode\n(Va\xff\nVlatin1\ntR.", []byte{'a', 0xff}},
	{"codecs encode latin-1", "\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x07\x00\x00\x00latin-1\x86R.", []byte("a")},
	{"builtins bytes", "\x80\x03cbuiltins\nbytes\n)R.", []byte{}},
	{"bytearray empty", "c__builtin__\nbytearray\n)R.", []byte{}},
	{"bytearray of bytes", "\x80\x03cbuiltins\nbytearray\nC\x02ab\x85R.", []byte("ab")},
	{"bytearray python2", "c__builtin__\nbytearray\n(V\xe9\nS'latin-1'\ntR.", []byte{0xe9}},
	{"stack global bytearray", "\x80\x04\x8c\x08builtins\x8c\x09bytearray\x93C\x01z\x85R.", []byte("z")},
	{"callable reused from memo", "c_codecs\nencode\nq\x00(Va\nVlatin1\ntR0h\x00(Vb\nVlatin1\ntR.", []byte("b")},
	{"nested 1000 deep", strings.Repeat("]", 1000) + strings.Repeat("a", 999) + ".", nil}, // checked below
}

func TestGoodPickles(t *testing.T) {
	for _, tc := range goodPickles {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Decode([]byte(tc.in))
			require.NoError(t, err)
			switch tc.name {
			case "list mutated after sharing":
				// The tuple holds the list, which gets a second item later.
				two := []any{json.Number("1"), json.Number("2")}
				require.Equal(t, Tuple{Tuple{two}, two}, v)
			case "nested 1000 deep":
				depth := 0
				for l, ok := v.([]any); ok; l, ok = l[0].([]any) {
					depth++
					if len(l) == 0 {
						break
					}
				}
				require.Equal(t, 1000, depth)
			default:
				require.Equal(t, tc.want, v)
			}
		})
	}
}

// Hand-built pickles that must be refused, with the sentinel.
var badPickles = []struct {
	name string
	in   string
	want error
}{
	// Framing and structure.
	{"empty input", "", ErrMalformed},
	{"only proto", "\x80\x04", ErrMalformed},
	{"proto 6", "\x80\x06N.", ErrMalformed},
	{"unknown opcode", "\x99N.", ErrMalformed},
	{"unknown opcode z", "zN.", ErrMalformed},
	{"no stop", "N", ErrMalformed},
	{"stop on empty stack", ".", ErrMalformed},
	{"trailing byte after stop", "N..", ErrMalformed},
	{"trailing garbage after stop", "N.garbage", ErrMalformed},
	{"two values left", "NN.", ErrMalformed},
	{"mark left", "(N.", ErrMalformed},
	{"frame beyond input", "\x80\x04\x95" + le64(1000) + "N.", ErrMalformed},
	{"frame huge", "\x80\x04\x95" + le64(1<<63) + "N.", ErrMalformed},
	// Stack.
	{"append underflow", "a.", ErrMalformed},
	{"pop underflow", "0.", ErrMalformed},
	{"dup underflow", "2.", ErrMalformed},
	{"tuple1 underflow", "\x85.", ErrMalformed},
	{"tuple3 underflow", "NN\x87.", ErrMalformed},
	{"tuple2 across mark", "N(N\x86.", ErrMalformed},
	{"append across mark", "](K\x01a.", ErrMalformed},
	{"appends target across mark", "]((e.", ErrMalformed},
	{"setitem across mark", "}(NNs.", ErrMalformed},
	{"stop across mark", "N(.", ErrMalformed},
	{"list without mark", "l.", ErrMalformed},
	{"tuple without mark", "t.", ErrMalformed},
	{"dict without mark", "d.", ErrMalformed},
	{"appends without mark", "]e.", ErrMalformed},
	{"setitems without mark", "}u.", ErrMalformed},
	{"pop mark without mark", "1.", ErrMalformed},
	{"append to non-list", "NNa.", ErrMalformed},
	{"appends to non-list", "N(Ne.", ErrMalformed},
	{"setitem on non-dict", "]NNs.", ErrMalformed},
	{"setitems on non-dict", "](NNu.", ErrMalformed},
	{"odd dict", "(Nd.", ErrMalformed},
	{"odd setitems", "}(Nu.", ErrMalformed},
	{"stack global of non-str", "NN\x93.", ErrMalformed},
	// Memo.
	{"binget missing", "h\x00.", ErrMalformed},
	{"long binget missing", "j" + le32(5) + ".", ErrMalformed},
	{"get missing", "g0\n.", ErrMalformed},
	{"put on empty stack", "p0\n.", ErrMalformed},
	{"binput on empty stack", "q\x00.", ErrMalformed},
	{"memoize on empty stack", "\x94.", ErrMalformed},
	{"memoize across mark", "N(\x94.", ErrMalformed},
	{"put negative", "Np-1\n.", ErrMalformed},
	{"put empty", "Np\n.", ErrMalformed},
	{"put huge", "Np99999999999999999999\n.", ErrMalformed},
	{"get not a number", "Ng1a\n.", ErrMalformed},
	// Text arguments.
	{"int no newline", "I12", ErrMalformed},
	{"int float text", "I1.5\n.", ErrMalformed},
	{"int hex", "I0x10\n.", ErrMalformed},
	{"int octal-looking", "I010\n.", ErrMalformed},
	{"int empty", "I\n.", ErrMalformed},
	{"int sign only", "I-\n.", ErrMalformed},
	{"int space", "I 1\n.", ErrMalformed},
	{"int underscore", "I1_0\n.", ErrMalformed},
	{"long double L", "L12LL\n.", ErrMalformed},
	{"float garbage", "Fabc\n.", ErrMalformed},
	{"float bad exponent", "F1e\n.", ErrMalformed},
	{"float hex", "F0x1p3\n.", ErrMalformed},
	{"float empty", "F\n.", ErrMalformed},
	{"string unquoted", "Sabc\n.", ErrMalformed},
	{"string mismatched quotes", "S'abc\"\n.", ErrMalformed},
	{"string single quote char", "S'\n.", ErrMalformed},
	{"string bad x escape", `S'\x4'` + "\n.", ErrMalformed},
	{"string bad x digits", `S'\xzz'` + "\n.", ErrMalformed},
	{"string trailing backslash", `S'abc\'` + "\n.", ErrMalformed},
	{"unicode truncated escape", `V\u12` + "\n.", ErrMalformed},
	{"unicode bad escape digits", `V\uzzzz` + "\n.", ErrMalformed},
	{"unicode escape beyond max", `V\U00110000` + "\n.", ErrMalformed},
	{"unicode no newline", "Vabc", ErrMalformed},
	{"invalid utf8", "X" + le32(1) + "\xff.", ErrMalformed},
	{"truncated utf8", "\x8c\x02\xe6\x97.", ErrMalformed},
	{"global no name", "c_codecs\nencode", ErrMalformed},
	{"codecs encode beyond latin1", "c_codecs\nencode\n(V\\u20ac\nVlatin1\ntR.", ErrMalformed},
	// Lengths: never trusted beyond the input.
	{"binunicode8 2**60", "\x8d" + le64(1<<60) + "abc.", ErrMalformed},
	{"binunicode8 max", "\x8d" + le64(1<<64-1) + "abc.", ErrMalformed},
	{"binbytes8 2**63", "\x8e" + le64(1<<63) + "abc.", ErrMalformed},
	{"bytearray8 2**62", "\x96" + le64(1<<62) + "abc.", ErrMalformed},
	{"binunicode 4GiB", "X" + le32(0xffffffff) + "abc.", ErrMalformed},
	{"binbytes 4GiB", "B" + le32(0xffffffff) + "abc.", ErrMalformed},
	{"binstring 2GiB", "T" + le32(0x7fffffff) + "abc.", ErrMalformed},
	{"binstring negative", "T" + le32(0xffffffff) + "abc.", ErrMalformed},
	{"short binunicode beyond", "\x8c\xffabc.", ErrMalformed},
	{"short binbytes beyond", "C\xffabc.", ErrMalformed},
	{"short binstring beyond", "U\xffabc.", ErrMalformed},
	{"long1 beyond", "\x8a\x05\x01.", ErrMalformed},
	{"long4 2GiB", "\x8b" + le32(0x7fffffff) + "\x01.", ErrMalformed},
	{"long4 negative", "\x8b" + le32(0xffffffff) + "\x01.", ErrMalformed},
	{"binint truncated", "J\x01\x02.", ErrMalformed},
	{"binfloat truncated", "G\x40\x0c.", ErrMalformed},

	// Imports and calls.
	{"global os system", "cos\nsystem\n(Vid\ntR.", ErrUnsafe},
	{"global posix system", "cposix\nsystem\n.", ErrUnsafe},
	{"global attribute of allowed module", "c_codecs\nencode.__globals__\n.", ErrUnsafe},
	{"global builtins eval", "cbuiltins\neval\n.", ErrUnsafe},
	{"global near miss", "cbuiltin\nbytes\n)R.", ErrUnsafe},
	{"stack global os system", "\x80\x04\x8c\x02os\x8c\x06system\x93.", ErrUnsafe},
	{"inst", "(ios\nsystem\n.", ErrUnsafe},
	{"inst allowed name", "(i__builtin__\nbytes\n.", ErrUnsafe},
	{"obj", "(c__builtin__\nbytes\no.", ErrUnsafe},
	{"newobj", "\x80\x02c__builtin__\nbytes\n)\x81.", ErrUnsafe},
	{"newobj_ex", "\x80\x04c__builtin__\nbytes\n)}\x92.", ErrUnsafe},
	{"build", "}}b.", ErrUnsafe},
	{"build on allowed result", "c__builtin__\nbytearray\n)R}b.", ErrUnsafe},
	{"ext1", "\x82\x01.", ErrUnsafe},
	{"ext2", "\x83\x01\x00.", ErrUnsafe},
	{"ext4", "\x84\x01\x00\x00\x00.", ErrUnsafe},
	{"persid", "P1\n.", ErrUnsafe},
	{"binpersid", "NQ.", ErrUnsafe},
	{"reduce non-callable", "N)R.", ErrUnsafe},
	{"reduce list", "]]R.", ErrUnsafe},
	{"reduce args not tuple", "c_codecs\nencode\n]R.", ErrUnsafe},
	{"reduce args none", "c_codecs\nencode\nNR.", ErrUnsafe},
	{"codecs utf-8", "c_codecs\nencode\n(Va\nVutf-8\ntR.", ErrUnsafe},
	{"codecs three args", "c_codecs\nencode\n(Va\nVlatin1\nVstrict\ntR.", ErrUnsafe},
	{"codecs bytes arg", "\x80\x03c_codecs\nencode\nC\x01aVlatin1\n\x86R.", ErrUnsafe},
	{"bytes with str", "c__builtin__\nbytes\n(Va\ntR.", ErrUnsafe},
	{"bytearray with list", "c__builtin__\nbytearray\n]\x85R.", ErrUnsafe},
	{"bytearray of bytearray", "\x80\x05cbuiltins\nbytearray\n\x96" + le64(1) + "a\x85R.", ErrUnsafe},
	{"callable as value", "c_codecs\nencode\n.", ErrUnsafe},
	{"callable as dict key", "}c_codecs\nencode\nNs.", ErrUnsafe},
	{"callable in tuple", "c_codecs\nencode\n\x85.", ErrUnsafe},
	{"callable never called", "c_codecs\nencode\n0N.", ErrUnsafe},
	{"callable memoized never called", "c_codecs\nencode\nq\x000N.", ErrUnsafe},
	{"reduce result then callable via memo", "c__builtin__\nbytes\nq\x00)R0h\x00.", ErrUnsafe},

	// Unsupported values.
	{"empty set", "\x8f.", ErrUnsupported},
	{"additems", "\x8f(K\x01\x90.", ErrUnsupported},
	{"frozenset", "(K\x01\x91.", ErrUnsupported},
	{"next buffer", "\x97.", ErrUnsupported},
	{"readonly buffer", "N\x98.", ErrUnsupported},
	{"long4 over 4096 bytes", "\x8b" + le32(4097) + strings.Repeat("\x01", 4097) + ".", ErrUnsupported},
	{"int over the digit limit", "I" + strings.Repeat("9", maxIntDigits+1) + "\n.", ErrUnsupported},
	{"long over the digit limit", "L" + strings.Repeat("9", maxIntDigits+1) + "L\n.", ErrUnsupported},
	{"surrogate in binunicode", "X" + le32(3) + "\xed\xa0\x80.", ErrUnsupported},
	{"surrogate in unicode", `V\ud800` + "\n.", ErrUnsupported},
	{"surrogate U escape", `V\U0000dfff` + "\n.", ErrUnsupported},
	{"tuple key", "}(NN\x86K\x01u.", ErrUnsupported},
	{"bytes key", "}C\x01kK\x01s.", ErrUnsupported},
	{"none key", "}NK\x01s.", ErrUnsupported},
	{"bool key", "}\x88K\x01s.", ErrUnsupported},
	{"float key", "}F1.5\nK\x01s.", ErrUnsupported},
	{"list key in DICT", "(]K\x01d.", ErrUnsupported},
	{"self-append", "]q\x00h\x00a.", ErrUnsupported},
	{"cycle through tuple", "]q\x00h\x00\x85a.", ErrUnsupported},
	{"cycle through dict", "}q\x00Vk\nh\x00s.", ErrUnsupported},
	{"cycle via dup", "]2a.", ErrUnsupported},
	{"too many marks", strings.Repeat("(", 2000) + strings.Repeat("l", 2000) + ".", ErrUnsupported},
	{"too deep lists", strings.Repeat("]", 2000) + strings.Repeat("a", 1999) + ".", ErrUnsupported},
	{"1001 deep", strings.Repeat("]", 1001) + strings.Repeat("a", 1000) + ".", ErrUnsupported},
	{"too deep protocol 0", strings.Repeat("(l", 2000) + strings.Repeat("a", 1999) + ".", ErrUnsupported},
	{"billion laughs", billionLaughs(60), ErrUnsupported},
	{"billion laughs via dup", billionLaughsDup(60), ErrUnsupported},
	{"billion laughs string", billionLaughsString(40), ErrUnsupported},
}

// billionLaughs builds a tuple of two references to a tuple of two
// references to ... levels deep: 2**levels leaves from a few bytes each.
func billionLaughs(levels int) string {
	var b strings.Builder
	b.WriteString("\x80\x02]r" + le32(0))
	for i := 1; i <= levels; i++ {
		b.WriteString("0j" + le32(uint32(i-1)) + "j" + le32(uint32(i-1)) + "\x86r" + le32(uint32(i)))
	}
	b.WriteString(".")
	return b.String()
}

// billionLaughsDup doubles with DUP, in protocol 0 opcodes plus TUPLE.
func billionLaughsDup(levels int) string {
	return "(l" + strings.Repeat("2\x86", levels) + "."
}

// billionLaughsString doubles references to one 4 KiB string.
func billionLaughsString(levels int) string {
	return "X" + le32(4096) + strings.Repeat("x", 4096) + strings.Repeat("2\x86", levels) + "."
}

func TestBadPickles(t *testing.T) {
	for _, tc := range badPickles {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			v, err := Decode([]byte(tc.in))
			require.Error(t, err, "value %#v", v)
			require.Nil(t, v)
			checkErrShape(t, tc.name, err)
			require.ErrorIs(t, err, tc.want)
			require.Less(t, time.Since(start), 5*time.Second)
			t.Log(err)
		})
	}
}

// TestErrorDetail checks that errors name the opcode and offset.
func TestErrorDetail(t *testing.T) {
	_, err := Decode([]byte("\x80\x02cos\nsystem\n."))
	require.ErrorIs(t, err, ErrUnsafe)
	require.EqualError(t, err, `pickle: unsafe: opcode GLOBAL at offset 2: "os system" is not allowed`)

	_, err = Decode([]byte("\x80\x02N\x97."))
	require.ErrorIs(t, err, ErrUnsupported)
	require.Contains(t, err.Error(), "NEXT_BUFFER at offset 3")

	_, err = Decode([]byte("N.x"))
	require.ErrorIs(t, err, ErrMalformed)
	require.Contains(t, err.Error(), "STOP at offset 1")

	_, err = Decode([]byte("}(N\x85K\x01u."))
	require.ErrorIs(t, err, ErrUnsupported)
	require.Contains(t, err.Error(), "SETITEMS at offset 6")
	require.Contains(t, err.Error(), "tuple")

	// Hostile text does not make error messages huge.
	for _, in := range []string{
		"c" + strings.Repeat("m", 1<<20) + "\n" + strings.Repeat("n", 1<<20) + "\n.",
		"(i" + strings.Repeat("m", 1<<20) + "\nn\n.",
		"Np" + strings.Repeat("1", 1<<20) + "\n.",
		"I" + strings.Repeat("1", 1<<20) + "x\n.",
		"F" + strings.Repeat("1", 1<<20) + "x\n.",
	} {
		_, err = Decode([]byte(in))
		require.Error(t, err)
		require.Less(t, len(err.Error()), 300, err.Error())
	}

	_, err = Decode([]byte(billionLaughs(40)))
	require.ErrorIs(t, err, ErrUnsupported)
	require.Contains(t, err.Error(), "budget")
}

// TestHugeLengthsDoNotAllocate checks that length prefixes are checked
// against the input before anything is allocated for them.
func TestHugeLengthsDoNotAllocate(t *testing.T) {
	inputs := []string{
		"\x8d" + le64(1<<60) + "abc.",
		"\x8e" + le64(1<<62) + "abc.",
		"\x96" + le64(1<<40) + "abc.",
		"X" + le32(0xfffffff0) + "abc.",
		"B" + le32(0xfffffff0) + "abc.",
		"\x8b" + le32(0x7ffffff0) + "abc.",
		"\x80\x04\x95" + le64(1<<50) + "N.",
	}
	for _, in := range inputs {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := Decode([]byte(in))
		runtime.ReadMemStats(&after)
		require.ErrorIs(t, err, ErrMalformed)
		require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<10), "%q allocated too much", in)
	}
}

// TestBillionLaughsIsCheap checks that exponential sharing is cut off
// after work proportional to the input.
func TestBillionLaughsIsCheap(t *testing.T) {
	for _, in := range []string{billionLaughs(64), billionLaughsDup(64), billionLaughsString(64)} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		_, err := Decode([]byte(in))
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		require.ErrorIs(t, err, ErrUnsupported)
		require.Less(t, elapsed, 2*time.Second)
		require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20))
	}
	// Moderate legitimate sharing still decodes: 2**8 references.
	v, err := Decode([]byte(billionLaughs(8)))
	require.NoError(t, err)
	leaves := 0
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case Tuple:
			for _, e := range x {
				walk(e)
			}
		case []any:
			leaves++
		}
	}
	walk(v)
	require.Equal(t, 256, leaves)
}

// TestDecodeDoesNotAliasInput checks that the result shares no memory
// with the input buffer.
func TestDecodeDoesNotAliasInput(t *testing.T) {
	in := []byte("\x80\x04C\x03abc\x96" + le64(2) + "xy" + binUnicode("str") + "\x87.")
	v, err := Decode(in)
	require.NoError(t, err)
	for i := range in {
		in[i] = 0
	}
	require.Equal(t, Tuple{[]byte("abc"), []byte("xy"), "str"}, v)
}

// TestNoPanicOnMutations flips and drops bytes of every testdata pickle
// and checks Decode only ever returns an error or a well-formed value.
func TestNoPanicOnMutations(t *testing.T) {
	n := 0
	for _, f := range allTestdataPickles(t) {
		data := mustRead(t, f)
		if len(data) > 1024 {
			continue
		}
		for i := range data {
			for _, mut := range [][]byte{
				replaceAt(data, i, data[i]^0xff),
				replaceAt(data, i, data[i]+1),
				replaceAt(data, i, '('),
				append(bytes.Clone(data[:i]), data[i+1:]...),
			} {
				checkDecodeInvariants(t, mut)
				n++
			}
		}
	}
	t.Logf("%d mutated inputs", n)
}

func replaceAt(b []byte, i int, c byte) []byte {
	m := bytes.Clone(b)
	m[i] = c
	return m
}

// checkDecodeInvariants decodes data and checks: no panic (no recovered
// panic either), errors wrap exactly one sentinel, and a returned value is
// acyclic, within the depth limit and json.Marshal-able.
func checkDecodeInvariants(t testing.TB, data []byte) {
	t.Helper()
	v, err := Decode(data)
	if err != nil {
		checkErrShape(t, fmt.Sprintf("%q", data), err)
		if v != nil {
			t.Fatalf("%q: value %#v returned with error %v", data, v, err)
		}
		return
	}
	j, jerr := jsonable(v, maxDepth+1)
	if jerr != nil {
		t.Fatalf("%q: %v", data, jerr)
	}
	if _, jerr := json.Marshal(j); jerr != nil {
		t.Fatalf("%q: json.Marshal: %v", data, jerr)
	}
}

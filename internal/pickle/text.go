package pickle

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// decimalInt validates the text of an INT or LONG argument and returns it
// normalized (no '+', no leading zeros, "-0" → "0"). Only what CPython's
// picklers write is accepted: an optional sign and decimal digits; leading
// zeros only in zero itself ("00" is False and handled by the caller).
// Hexadecimal, octal, underscores and spaces, which some Python versions'
// int() would also take, are refused rather than guessed at.
func (d *decoder) decimalInt(s []byte) (json.Number, error) {
	orig := s
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 {
		return "", d.malformed("bad integer %q", orig)
	}
	zero := true
	for _, c := range s {
		if c < '0' || c > '9' {
			return "", d.malformed("bad integer %q", truncateForError(orig))
		}
		if c != '0' {
			zero = false
		}
	}
	if zero {
		return smallInts[0], nil
	}
	if s[0] == '0' {
		return "", d.malformed("integer %q has leading zeros", truncateForError(orig))
	}
	if len(s) > maxIntDigits {
		return "", d.unsupported("integer of %d digits exceeds the limit of %d", len(s), maxIntDigits)
	}
	if neg {
		return json.Number("-" + string(s)), nil
	}
	if len(s) <= 3 {
		if v, err := strconv.Atoi(string(s)); err == nil && v < len(smallInts) {
			return smallInts[v], nil
		}
	}
	return json.Number(s), nil
}

func truncateForError(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// decodeLong decodes the little-endian two's complement argument of LONG1
// and LONG4 (the caller bounds its length).
func decodeLong(b []byte) json.Number {
	n := len(b)
	if n == 0 {
		return smallInts[0]
	}
	if n <= 8 {
		var u uint64
		for i := n - 1; i >= 0; i-- {
			u = u<<8 | uint64(b[i])
		}
		// Sign-extend from 8*n bits.
		shift := uint(64 - 8*n)
		v := int64(u<<shift) >> shift
		if v >= 0 && v < int64(len(smallInts)) {
			return smallInts[v]
		}
		return json.Number(strconv.FormatInt(v, 10))
	}
	be := make([]byte, n)
	for i, c := range b {
		be[n-1-i] = c
	}
	x := new(big.Int).SetBytes(be)
	if b[n-1]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*n)))
	}
	return json.Number(x.String())
}

// Non-finite floats are spelled as python's json.dumps writes them; they
// are not JSON numbers, and the caller decides what to make of them.
const (
	NaN         = "NaN"
	PosInfinity = "Infinity"
	NegInfinity = "-Infinity"
)

// float converts a float to its JSON number text, or to NaN, PosInfinity
// or NegInfinity.
func (d *decoder) float(f float64) (pyFloat, error) {
	switch {
	case math.IsNaN(f):
		return NaN, nil
	case math.IsInf(f, 1):
		return PosInfinity, nil
	case math.IsInf(f, -1):
		return NegInfinity, nil
	}
	return pyFloat(strconv.FormatFloat(f, 'g', -1, 64)), nil
}

// floatText parses the argument of FLOAT: Python's repr of a float.
// Accepted: [sign] (digits [. [digits]] | . digits) [(e|E) [sign] digits],
// plus nan/inf/infinity (any case, any sign), which become NaN,
// PosInfinity or NegInfinity like a float out of range.
func (d *decoder) floatText(s []byte) (pyFloat, error) {
	body := s
	if len(body) > 0 && (body[0] == '-' || body[0] == '+') {
		body = body[1:]
	}
	switch strings.ToLower(string(body)) {
	case "nan":
		return NaN, nil
	case "inf", "infinity":
		if s[0] == '-' {
			return NegInfinity, nil
		}
		return PosInfinity, nil
	}
	if !isFloatLiteral(body) {
		return "", d.malformed("bad float %q", truncateForError(s))
	}
	f, err := strconv.ParseFloat(string(s), 64)
	if err != nil && !math.IsInf(f, 0) {
		// Only an out-of-range error is possible for a checked literal,
		// and it yields ±Inf, as in Python.
		return "", d.malformed("bad float %q", truncateForError(s))
	}
	return d.float(f)
}

func isFloatLiteral(s []byte) bool {
	i, n := 0, len(s)
	digits := func() int {
		start := i
		for i < n && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	mant := digits()
	if i < n && s[i] == '.' {
		i++
		mant += digits()
	}
	if mant == 0 {
		return false
	}
	if i < n && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < n && (s[i] == '-' || s[i] == '+') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == n
}

// pushUTF8 pushes the UTF-8 text b as a string. Python decodes it with the
// 'surrogatepass' error handler; a string containing surrogates has no
// valid Go (UTF-8) form and is unsupported, anything else invalid is
// malformed.
func (d *decoder) pushUTF8(b []byte) error {
	if !utf8.Valid(b) {
		for i := 0; i < len(b); {
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size <= 1 {
				if isEncodedSurrogate(b[i:]) {
					return d.unsupported("string contains a surrogate code point at byte %d of its text", i)
				}
				return d.malformed("invalid UTF-8 at byte %d of the text", i)
			}
			i += size
		}
	}
	d.push(string(b))
	return nil
}

// isEncodedSurrogate reports whether b starts with the 3-byte generalized
// UTF-8 encoding of a code point in U+D800..U+DFFF.
func isEncodedSurrogate(b []byte) bool {
	return len(b) >= 3 && b[0] == 0xed && b[1] >= 0xa0 && b[1] <= 0xbf && b[2] >= 0x80 && b[2] <= 0xbf
}

// latin1String converts latin-1 bytes to a string.
func latin1String(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) * 2)
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// rawUnicodeEscape decodes the argument of UNICODE like CPython's
// 'raw-unicode-escape' codec: every byte is a latin-1 character, except
// that a backslash followed by 'u' and 4 hex digits or 'U' and 8 hex digits
// is that code point. A backslash followed by anything else is literal,
// and so is that next byte (so that an even run of backslashes escapes
// nothing).
func (d *decoder) rawUnicodeEscape(b []byte) (string, error) {
	simple := true
	for _, c := range b {
		if c >= utf8.RuneSelf || c == '\\' {
			simple = false
			break
		}
	}
	if simple {
		return string(b), nil
	}
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/2)
	for i := 0; i < len(b); {
		c := b[i]
		i++
		if c != '\\' || i >= len(b) {
			sb.WriteRune(rune(c))
			continue
		}
		if b[i] != 'u' && b[i] != 'U' {
			// A backslash escapes nothing but \u and \U, and takes the
			// next byte with it: in CPython, "\\\\u0041" stays as is.
			sb.WriteByte('\\')
			sb.WriteRune(rune(b[i]))
			i++
			continue
		}
		count := 4
		if b[i] == 'U' {
			count = 8
		}
		i++
		if len(b)-i < count {
			return "", d.malformed("truncated \\%c escape", b[i-1])
		}
		var r rune
		for _, h := range b[i : i+count] {
			v, ok := hexVal(h)
			if !ok {
				return "", d.malformed("bad hex digit %q in \\%c escape", h, b[i-1])
			}
			r = r<<4 | rune(v)
		}
		i += count
		if r < 0 || r > utf8.MaxRune {
			return "", d.malformed("escape \\U%08x is beyond U+10FFFF", uint32(r))
		}
		if r >= 0xd800 && r <= 0xdfff {
			return "", d.unsupported("string contains surrogate code point U+%04X", r)
		}
		sb.WriteRune(r)
	}
	return sb.String(), nil
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// escapeDecode decodes the quoted argument of STRING like CPython's
// codecs.escape_decode: Python 2 string-literal escapes.
func (d *decoder) escapeDecode(b []byte) ([]byte, error) {
	if !containsByte(b, '\\') {
		return b, nil
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		i++
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i >= len(b) {
			return nil, d.malformed("trailing backslash in string")
		}
		c = b[i]
		i++
		switch c {
		case '\n':
			// Line continuation: nothing.
		case '\\', '\'', '"':
			out = append(out, c)
		case 'a':
			out = append(out, '\a')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'v':
			out = append(out, '\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for k := 0; k < 2 && i < len(b) && b[i] >= '0' && b[i] <= '7'; k++ {
				v = v*8 + int(b[i]-'0')
				i++
			}
			out = append(out, byte(v)) // CPython keeps the low 8 bits
		case 'x':
			if len(b)-i < 2 {
				return nil, d.malformed("truncated \\x escape in string")
			}
			hi, ok1 := hexVal(b[i])
			lo, ok2 := hexVal(b[i+1])
			if !ok1 || !ok2 {
				return nil, d.malformed("bad \\x escape in string")
			}
			out = append(out, hi<<4|lo)
			i += 2
		default:
			// Unknown escapes are kept as is.
			out = append(out, '\\', c)
		}
	}
	return out, nil
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

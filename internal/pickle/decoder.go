package pickle

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// decoder is the pickle virtual machine. It only builds plain values; the
// few callables it knows are emulated, never imported.
type decoder struct {
	data  []byte
	pos   int // next byte to read
	op    int // offset of the opcode being executed
	stack []any
	marks []int // stack lengths at each open MARK
	memo  []any // dense memo: indices 0..len-1
	// sparse holds memo entries whose index was beyond the dense part when
	// they were set. Its keys are always >= len(memo).
	sparse map[uint64]any
	// calls holds every callable pushed by GLOBAL or STACK_GLOBAL.
	calls []*callRef

	budget      int // remaining size budget of the result (see convert)
	budgetTotal int

	stackBuf [32]any // initial storage of stack
	marksBuf [8]int  // initial storage of marks
}

// errAt builds an error wrapping sentinel that names the current opcode and
// its offset.
func (d *decoder) errAt(sentinel error, format string, args ...any) error {
	name := "?"
	if d.op < len(d.data) {
		name = opName(d.data[d.op])
	}
	return fmt.Errorf("%w: opcode %s at offset %d: %s", sentinel, name, d.op, fmt.Sprintf(format, args...))
}

func (d *decoder) malformed(format string, args ...any) error {
	return d.errAt(ErrMalformed, format, args...)
}

func (d *decoder) unsafe(format string, args ...any) error {
	return d.errAt(ErrUnsafe, format, args...)
}

func (d *decoder) unsupported(format string, args ...any) error {
	return d.errAt(ErrUnsupported, format, args...)
}

// ---- reading the input ----

func (d *decoder) remaining() int { return len(d.data) - d.pos }

// read returns the next n bytes (aliasing the input).
func (d *decoder) read(n int) ([]byte, error) {
	if n < 0 || n > d.remaining() {
		return nil, d.malformed("truncated: argument needs %d bytes, %d left", n, d.remaining())
	}
	b := d.data[d.pos : d.pos+n]
	d.pos += n
	return b, nil
}

func (d *decoder) readUint8() (int, error) {
	b, err := d.read(1)
	if err != nil {
		return 0, err
	}
	return int(b[0]), nil
}

func (d *decoder) readUint16() (int, error) {
	b, err := d.read(2)
	if err != nil {
		return 0, err
	}
	return int(binary.LittleEndian.Uint16(b)), nil
}

func (d *decoder) readUint32() (uint32, error) {
	b, err := d.read(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (d *decoder) readInt32() (int32, error) {
	u, err := d.readUint32()
	return int32(u), err
}

func (d *decoder) readUint64() (uint64, error) {
	b, err := d.read(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// checkLen validates a length prefix against the remaining input before
// anything is allocated for it.
func (d *decoder) checkLen(n uint64) (int, error) {
	if n > uint64(d.remaining()) {
		return 0, d.malformed("length %d exceeds the %d bytes of input left", n, d.remaining())
	}
	return int(n), nil
}

// readLen1, readLen4 and readLen8 read a length prefix and then that many
// bytes.
func (d *decoder) readLen1() ([]byte, error) {
	n, err := d.readUint8()
	if err != nil {
		return nil, err
	}
	return d.read(n)
}

func (d *decoder) readLen4() ([]byte, error) {
	u, err := d.readUint32()
	if err != nil {
		return nil, err
	}
	n, err := d.checkLen(uint64(u))
	if err != nil {
		return nil, err
	}
	return d.read(n)
}

func (d *decoder) readLen4Signed() ([]byte, error) {
	s, err := d.readInt32()
	if err != nil {
		return nil, err
	}
	if s < 0 {
		return nil, d.malformed("negative length %d", s)
	}
	n, err := d.checkLen(uint64(s))
	if err != nil {
		return nil, err
	}
	return d.read(n)
}

func (d *decoder) readLen8() ([]byte, error) {
	u, err := d.readUint64()
	if err != nil {
		return nil, err
	}
	n, err := d.checkLen(u)
	if err != nil {
		return nil, err
	}
	return d.read(n)
}

// readLine returns the bytes up to the next newline (excluded) and skips
// the newline.
func (d *decoder) readLine() ([]byte, error) {
	i := bytes.IndexByte(d.data[d.pos:], '\n')
	if i < 0 {
		return nil, d.malformed("truncated: argument has no terminating newline")
	}
	line := d.data[d.pos : d.pos+i]
	d.pos += i + 1
	return line, nil
}

// ---- the stack ----

// fence is the stack length at the innermost open MARK: items below it
// cannot be popped without popping the mark.
func (d *decoder) fence() int {
	if n := len(d.marks); n > 0 {
		return d.marks[n-1]
	}
	return 0
}

func (d *decoder) push(v any) { d.stack = append(d.stack, v) }

func (d *decoder) pop() (any, error) {
	n := len(d.stack)
	if n <= d.fence() {
		return nil, d.malformed("stack underflow")
	}
	v := d.stack[n-1]
	d.stack[n-1] = nil
	d.stack = d.stack[:n-1]
	return v, nil
}

func (d *decoder) top() (any, error) {
	n := len(d.stack)
	if n <= d.fence() {
		return nil, d.malformed("stack underflow")
	}
	return d.stack[n-1], nil
}

// below returns the item just below stack position m (where a MARK that
// has just been popped was), which must be above the current fence.
func (d *decoder) below(m int) (any, error) {
	if m <= d.fence() {
		return nil, d.malformed("stack underflow")
	}
	return d.stack[m-1], nil
}

// popMark pops the innermost MARK and returns the stack length at it; the
// marked items are d.stack[m:], and the caller must call d.truncate(m)
// once it has used them.
func (d *decoder) popMark() (int, error) {
	n := len(d.marks)
	if n == 0 {
		return 0, d.malformed("no MARK on the stack")
	}
	m := d.marks[n-1]
	d.marks = d.marks[:n-1]
	return m, nil
}

func (d *decoder) truncate(m int) {
	clear(d.stack[m:])
	d.stack = d.stack[:m]
}

// popMarkCopy pops the innermost MARK and returns a copy of the items above it.
func (d *decoder) popMarkCopy() ([]any, error) {
	m, err := d.popMark()
	if err != nil {
		return nil, err
	}
	items := make([]any, len(d.stack)-m)
	copy(items, d.stack[m:])
	d.truncate(m)
	return items, nil
}

// checkValue refuses a callable being used as a value: the allow-listed
// callables exist only to be consumed by REDUCE.
func (d *decoder) checkValue(v any) error {
	if c, ok := v.(*callRef); ok {
		return d.unsafe("%s may only be called by REDUCE, not used as a value", c.fn)
	}
	return nil
}

func (d *decoder) checkValues(items []any) error {
	for _, v := range items {
		if err := d.checkValue(v); err != nil {
			return err
		}
	}
	return nil
}

// dictKey converts a Python dict key to a Go map key: str as is, int as its
// decimal text (as json.dumps does); anything else is unsupported.
func (d *decoder) dictKey(k any) (string, error) {
	switch x := k.(type) {
	case string:
		return x, nil
	case json.Number:
		return string(x), nil
	}
	if err := d.checkValue(k); err != nil {
		return "", err
	}
	return "", d.unsupported("dict key of type %s (only str and int keys are supported)", typeName(k))
}

// fillDict adds alternating keys and values to dict.
func (d *decoder) fillDict(dict *dictNode, items []any) error {
	if len(items)%2 != 0 {
		return d.malformed("odd number of items (%d) for a dict", len(items))
	}
	dict.items = slices.Grow(dict.items, len(items)/2)
	for i := 0; i < len(items); i += 2 {
		k, err := d.dictKey(items[i])
		if err != nil {
			return err
		}
		if err := d.checkValue(items[i+1]); err != nil {
			return err
		}
		dict.items = append(dict.items, dictItem{k, items[i+1]})
	}
	return nil
}

// ---- the memo ----

func (d *decoder) memoLen() uint64 { return uint64(len(d.memo)) + uint64(len(d.sparse)) }

func (d *decoder) memoSet(idx uint64) error {
	v, err := d.top()
	if err != nil {
		return err
	}
	switch n := uint64(len(d.memo)); {
	case idx < n:
		d.memo[idx] = v
	case idx == n:
		d.memo = append(d.memo, v)
		if d.sparse != nil {
			delete(d.sparse, idx)
		}
	default:
		if d.sparse == nil {
			d.sparse = make(map[uint64]any)
		}
		d.sparse[idx] = v
	}
	return nil
}

func (d *decoder) memoGet(idx uint64) error {
	if idx < uint64(len(d.memo)) {
		d.push(d.memo[idx])
		return nil
	}
	if v, ok := d.sparse[idx]; ok {
		d.push(v)
		return nil
	}
	return d.malformed("memo has no entry %d", idx)
}

// parseMemoIndex parses the decimal argument of PUT and GET.
func (d *decoder) parseMemoIndex(line []byte) (uint64, error) {
	if len(line) == 0 || len(line) > 19 {
		return 0, d.malformed("bad memo index %q", truncateForError(line))
	}
	for _, c := range line {
		if c < '0' || c > '9' {
			return 0, d.malformed("bad memo index %q", truncateForError(line))
		}
	}
	idx, err := strconv.ParseUint(string(line), 10, 63)
	if err != nil {
		return 0, d.malformed("bad memo index %q", truncateForError(line))
	}
	return idx, nil
}

// ---- the machine ----

// run executes opcodes up to STOP and returns the value it pops.
func (d *decoder) run() (any, error) {
	for {
		if d.pos >= len(d.data) {
			d.op = d.pos
			if len(d.data) == 0 {
				return nil, fmt.Errorf("%w: empty input", ErrMalformed)
			}
			return nil, fmt.Errorf("%w: truncated: input ends at offset %d without STOP", ErrMalformed, d.pos)
		}
		d.op = d.pos
		code := d.data[d.pos]
		d.pos++
		if code == opStop {
			return d.stop()
		}
		if err := d.step(code); err != nil {
			return nil, err
		}
	}
}

func (d *decoder) stop() (any, error) {
	v, err := d.pop()
	if err != nil {
		return nil, err
	}
	if len(d.marks) != 0 || len(d.stack) != 0 {
		return nil, d.malformed("%d marks and %d other values left on the stack", len(d.marks), len(d.stack))
	}
	if d.pos != len(d.data) {
		return nil, d.malformed("%d bytes of trailing data after STOP", len(d.data)-d.pos)
	}
	if err := d.checkValue(v); err != nil {
		return nil, err
	}
	for _, c := range d.calls {
		if !c.called {
			return nil, fmt.Errorf("%w: opcode %s at offset %d: %s is imported but never called by REDUCE",
				ErrUnsafe, opName(d.data[c.off]), c.off, c.fn)
		}
	}
	return v, nil
}

// step executes one opcode (other than STOP) whose byte has been consumed.
func (d *decoder) step(code byte) error {
	switch code {
	// ---- protocol and framing ----
	case opProto:
		v, err := d.readUint8()
		if err != nil {
			return err
		}
		if v > 5 {
			return d.malformed("unsupported protocol %d", v)
		}
	case opFrame:
		n, err := d.readUint64()
		if err != nil {
			return err
		}
		// A frame only groups the opcodes that follow; check that they
		// are all there (CPython's C unpickler checks the same).
		if _, err := d.checkLen(n); err != nil {
			return err
		}

	// ---- the stack ----
	case opMark:
		if len(d.marks) >= maxMarks {
			return d.unsupported("more than %d nested MARKs", maxMarks)
		}
		d.marks = append(d.marks, len(d.stack))
	case opPop:
		// Like CPython: POP with nothing above the innermost MARK pops
		// the MARK.
		if n := len(d.marks); n > 0 && d.marks[n-1] == len(d.stack) {
			d.marks = d.marks[:n-1]
			return nil
		}
		_, err := d.pop()
		return err
	case opPopMark:
		m, err := d.popMark()
		if err != nil {
			return err
		}
		d.truncate(m)
	case opDup:
		v, err := d.top()
		if err != nil {
			return err
		}
		d.push(v)

	// ---- the memo ----
	case opPut:
		line, err := d.readLine()
		if err != nil {
			return err
		}
		idx, err := d.parseMemoIndex(line)
		if err != nil {
			return err
		}
		return d.memoSet(idx)
	case opBinPut:
		idx, err := d.readUint8()
		if err != nil {
			return err
		}
		return d.memoSet(uint64(idx))
	case opLongBinPut:
		idx, err := d.readUint32()
		if err != nil {
			return err
		}
		return d.memoSet(uint64(idx))
	case opMemoize:
		return d.memoSet(d.memoLen())
	case opGet:
		line, err := d.readLine()
		if err != nil {
			return err
		}
		idx, err := d.parseMemoIndex(line)
		if err != nil {
			return err
		}
		return d.memoGet(idx)
	case opBinGet:
		idx, err := d.readUint8()
		if err != nil {
			return err
		}
		return d.memoGet(uint64(idx))
	case opLongBinGet:
		idx, err := d.readUint32()
		if err != nil {
			return err
		}
		return d.memoGet(uint64(idx))

	// ---- constants ----
	case opNone:
		d.push(nil)
	case opNewTrue:
		d.push(true)
	case opNewFalse:
		d.push(false)

	// ---- integers ----
	case opInt:
		line, err := d.readLine()
		if err != nil {
			return err
		}
		// Protocol 0 writes True and False as "01" and "00"; like
		// CPython's C unpickler, any two-character argument whose value is
		// 0 or 1 is a bool.
		switch string(line) {
		case "01", "+1":
			d.push(true)
			return nil
		case "00", "-0", "+0":
			d.push(false)
			return nil
		}
		n, err := d.decimalInt(line)
		if err != nil {
			return err
		}
		d.push(n)
	case opLong:
		line, err := d.readLine()
		if err != nil {
			return err
		}
		if n := len(line); n > 0 && line[n-1] == 'L' {
			line = line[:n-1]
		}
		n, err := d.decimalInt(line)
		if err != nil {
			return err
		}
		d.push(n)
	case opBinInt:
		v, err := d.readInt32()
		if err != nil {
			return err
		}
		d.push(json.Number(strconv.FormatInt(int64(v), 10)))
	case opBinInt1:
		v, err := d.readUint8()
		if err != nil {
			return err
		}
		d.push(smallInt(v))
	case opBinInt2:
		v, err := d.readUint16()
		if err != nil {
			return err
		}
		d.push(smallInt(v))
	case opLong1:
		b, err := d.readLen1()
		if err != nil {
			return err
		}
		d.push(decodeLong(b))
	case opLong4:
		n, err := d.readInt32()
		if err != nil {
			return err
		}
		if n < 0 {
			return d.malformed("negative byte count %d", n)
		}
		if _, err := d.checkLen(uint64(n)); err != nil {
			return err
		}
		if n > maxIntBytes {
			return d.unsupported("integer of %d bytes exceeds the limit of %d", n, maxIntBytes)
		}
		b, err := d.read(int(n))
		if err != nil {
			return err
		}
		d.push(decodeLong(b))

	// ---- floats ----
	case opFloat:
		line, err := d.readLine()
		if err != nil {
			return err
		}
		f, err := d.floatText(line)
		if err != nil {
			return err
		}
		d.push(f)
	case opBinFloat:
		b, err := d.read(8)
		if err != nil {
			return err
		}
		f, err := d.float(math.Float64frombits(binary.BigEndian.Uint64(b)))
		if err != nil {
			return err
		}
		d.push(f)

	// ---- text ----
	case opUnicode:
		line, err := d.readLine()
		if err != nil {
			return err
		}
		s, err := d.rawUnicodeEscape(line)
		if err != nil {
			return err
		}
		d.push(s)
	case opShortBinUnicode:
		b, err := d.readLen1()
		if err != nil {
			return err
		}
		return d.pushUTF8(b)
	case opBinUnicode:
		b, err := d.readLen4()
		if err != nil {
			return err
		}
		return d.pushUTF8(b)
	case opBinUnicode8:
		b, err := d.readLen8()
		if err != nil {
			return err
		}
		return d.pushUTF8(b)
	case opString:
		line, err := d.readLine()
		if err != nil {
			return err
		}
		n := len(line)
		if n < 2 || line[0] != line[n-1] || (line[0] != '\'' && line[0] != '"') {
			return d.malformed("argument must be quoted")
		}
		b, err := d.escapeDecode(line[1 : n-1])
		if err != nil {
			return err
		}
		d.push(latin1String(b))
	case opBinString:
		b, err := d.readLen4Signed()
		if err != nil {
			return err
		}
		d.push(latin1String(b))
	case opShortBinString:
		b, err := d.readLen1()
		if err != nil {
			return err
		}
		d.push(latin1String(b))

	// ---- bytes ----
	case opShortBinBytes:
		b, err := d.readLen1()
		if err != nil {
			return err
		}
		d.push(cloneBytes(b))
	case opBinBytes:
		b, err := d.readLen4()
		if err != nil {
			return err
		}
		d.push(cloneBytes(b))
	case opBinBytes8:
		b, err := d.readLen8()
		if err != nil {
			return err
		}
		d.push(cloneBytes(b))
	case opByteArray8:
		b, err := d.readLen8()
		if err != nil {
			return err
		}
		d.push(byteArray(cloneBytes(b)))

	// ---- lists ----
	case opEmptyList:
		d.push(&listNode{off: d.op})
	case opList:
		items, err := d.popMarkCopy()
		if err != nil {
			return err
		}
		if err := d.checkValues(items); err != nil {
			return err
		}
		d.push(&listNode{items: items, off: d.op})
	case opAppend:
		v, err := d.pop()
		if err != nil {
			return err
		}
		if err := d.checkValue(v); err != nil {
			return err
		}
		t, err := d.top()
		if err != nil {
			return err
		}
		list, ok := t.(*listNode)
		if !ok {
			return d.malformed("target is a %s, not a list", typeName(t))
		}
		list.items = append(list.items, v)
	case opAppends:
		m, err := d.popMark()
		if err != nil {
			return err
		}
		items := d.stack[m:]
		if err := d.checkValues(items); err != nil {
			return err
		}
		t, err := d.below(m)
		if err != nil {
			return err
		}
		list, ok := t.(*listNode)
		if !ok {
			return d.malformed("target is a %s, not a list", typeName(t))
		}
		list.items = append(list.items, items...)
		d.truncate(m)

	// ---- tuples ----
	case opEmptyTuple:
		d.push(&tupleNode{items: []any{}, off: d.op})
	case opTuple:
		items, err := d.popMarkCopy()
		if err != nil {
			return err
		}
		if err := d.checkValues(items); err != nil {
			return err
		}
		d.push(&tupleNode{items: items, off: d.op})
	case opTuple1, opTuple2, opTuple3:
		n := int(code-opTuple1) + 1
		if len(d.stack)-d.fence() < n {
			return d.malformed("stack underflow")
		}
		items := make([]any, n)
		copy(items, d.stack[len(d.stack)-n:])
		if err := d.checkValues(items); err != nil {
			return err
		}
		d.truncate(len(d.stack) - n)
		d.push(&tupleNode{items: items, off: d.op})

	// ---- dicts ----
	case opEmptyDict:
		d.push(&dictNode{off: d.op})
	case opDict:
		m, err := d.popMark()
		if err != nil {
			return err
		}
		dict := &dictNode{off: d.op}
		if err := d.fillDict(dict, d.stack[m:]); err != nil {
			return err
		}
		d.truncate(m)
		d.push(dict)
	case opSetItem:
		v, err := d.pop()
		if err != nil {
			return err
		}
		k, err := d.pop()
		if err != nil {
			return err
		}
		t, err := d.top()
		if err != nil {
			return err
		}
		dict, ok := t.(*dictNode)
		if !ok {
			return d.malformed("target is a %s, not a dict", typeName(t))
		}
		return d.fillDict(dict, []any{k, v})
	case opSetItems:
		m, err := d.popMark()
		if err != nil {
			return err
		}
		t, err := d.below(m)
		if err != nil {
			return err
		}
		dict, ok := t.(*dictNode)
		if !ok {
			return d.malformed("target is a %s, not a dict", typeName(t))
		}
		if err := d.fillDict(dict, d.stack[m:]); err != nil {
			return err
		}
		d.truncate(m)

	// ---- globals and calls: refused except for the allow-list ----
	case opGlobal:
		module, err := d.readLine()
		if err != nil {
			return err
		}
		name, err := d.readLine()
		if err != nil {
			return err
		}
		c, ok := lookupCallable(string(module), string(name))
		if !ok {
			return d.unsafe("%q is not allowed", globalName(string(module), string(name)))
		}
		d.pushCallable(c)
	case opStackGlobal:
		nameV, err := d.pop()
		if err != nil {
			return err
		}
		moduleV, err := d.pop()
		if err != nil {
			return err
		}
		name, ok1 := nameV.(string)
		module, ok2 := moduleV.(string)
		if !ok1 || !ok2 {
			return d.malformed("requires two str, got %s and %s", typeName(moduleV), typeName(nameV))
		}
		c, ok := lookupCallable(module, name)
		if !ok {
			return d.unsafe("%q is not allowed", globalName(module, name))
		}
		d.pushCallable(c)
	case opReduce:
		args, err := d.pop()
		if err != nil {
			return err
		}
		fn, err := d.pop()
		if err != nil {
			return err
		}
		c, ok := fn.(*callRef)
		if !ok {
			return d.unsafe("would call a %s; only allow-listed callables may be called", typeName(fn))
		}
		c.called = true
		t, ok := args.(*tupleNode)
		if !ok {
			return d.unsafe("arguments of %s are a %s, not a tuple", c.fn, typeName(args))
		}
		v, err := d.call(c.fn, t.items)
		if err != nil {
			return err
		}
		d.push(v)
	case opInst:
		module, err := d.readLine()
		if err != nil {
			return err
		}
		name, err := d.readLine()
		if err != nil {
			return err
		}
		return d.unsafe("instantiating %q is not allowed", globalName(string(module), string(name)))
	case opObj, opNewObj, opNewObjEx:
		return d.unsafe("instantiating objects is not allowed")
	case opBuild:
		return d.unsafe("setting object state is not allowed")
	case opExt1, opExt2, opExt4:
		return d.unsafe("extension registry lookups are not allowed")
	case opPersID, opBinPersID:
		return d.unsafe("persistent IDs are not allowed")

	// ---- unsupported values ----
	case opEmptySet, opAddItems, opFrozenSet:
		return d.unsupported("sets are not supported")
	case opNextBuffer, opReadonlyBuffer:
		return d.unsupported("out-of-band buffers are not supported")

	default:
		return d.malformed("unknown opcode")
	}
	return nil
}

func (d *decoder) pushCallable(c callable) {
	ref := &callRef{fn: c, off: d.op}
	d.calls = append(d.calls, ref)
	d.push(ref)
}

// call emulates one allow-listed callable, accepting exactly the arguments
// CPython's picklers write for bytes and bytearray values.
func (d *decoder) call(c callable, args []any) (any, error) {
	switch c {
	case callCodecsEncode:
		// _codecs.encode(str, 'latin1'): bytes in protocols 0-2.
		if len(args) == 2 {
			s, ok1 := args[0].(string)
			enc, ok2 := args[1].(string)
			if ok1 && ok2 && isLatin1Name(enc) {
				return d.encodeLatin1(s)
			}
		}
	case callBytes:
		// bytes(): empty bytes in protocols 0-2.
		if len(args) == 0 {
			return []byte{}, nil
		}
	case callByteArray:
		switch len(args) {
		case 0:
			// bytearray(): empty bytearray in protocols 0-4.
			return byteArray{}, nil
		case 1:
			// bytearray(bytes): protocols 0-4 (bytes from
			// _codecs.encode in 0-2, BINBYTES in 3-4).
			if b, ok := args[0].([]byte); ok {
				return byteArray(cloneBytes(b)), nil
			}
		case 2:
			// bytearray(str, 'latin-1'): Python 2.
			s, ok1 := args[0].(string)
			enc, ok2 := args[1].(string)
			if ok1 && ok2 && isLatin1Name(enc) {
				b, err := d.encodeLatin1(s)
				if err != nil {
					return nil, err
				}
				return byteArray(b), nil
			}
		}
	}
	types := make([]string, len(args))
	for i, a := range args {
		types[i] = typeName(a)
		if s, ok := a.(string); ok && len(s) <= 32 {
			types[i] = strconv.Quote(s)
		}
	}
	return nil, d.unsafe("calling %s with arguments %v is not allowed", c, types)
}

func isLatin1Name(enc string) bool { return enc == "latin1" || enc == "latin-1" }

// encodeLatin1 returns the latin-1 encoding of s.
func (d *decoder) encodeLatin1(s string) ([]byte, error) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			return nil, d.malformed("code point U+%04X cannot be encoded as latin-1", r)
		}
		b = append(b, byte(r))
	}
	return b, nil
}

// cloneBytes copies b into a new, non-nil slice.
func cloneBytes(b []byte) []byte {
	c := make([]byte, len(b))
	copy(c, b)
	return c
}

// smallInts caches the json.Number text of 0..255.
var smallInts = func() (t [256]json.Number) {
	for i := range t {
		t[i] = json.Number(strconv.Itoa(i))
	}
	return t
}()

func smallInt(v int) json.Number {
	if v >= 0 && v < len(smallInts) {
		return smallInts[v]
	}
	return json.Number(strconv.Itoa(v))
}

// globalName formats a module and name for an error message, shortened
// so that a hostile pickle cannot make the message huge.
func globalName(module, name string) string {
	const max = 64
	short := func(s string) string {
		if len(s) > max {
			return s[:max] + "..."
		}
		return s
	}
	return short(module) + " " + short(name)
}

package wsclient

import (
	"bytes"
	"errors"
	"testing"
)

// serverFrame builds an unmasked server frame.
func serverFrame(fin bool, op byte, p []byte) []byte {
	b := op
	if fin {
		b |= 0x80
	}
	f := []byte{b}
	switch n := len(p); {
	case n < 126:
		f = append(f, byte(n))
	case n < 1<<16:
		f = append(f, 126, byte(n>>8), byte(n))
	default:
		f = append(f, 127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(f, p...)
}

func TestReadMessage(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 70000)
	var in bytes.Buffer
	in.Write(serverFrame(false, OpText, []byte("hel")))
	in.Write(serverFrame(true, OpPing, []byte("p")))
	in.Write(serverFrame(true, OpContinuation, []byte("lo")))
	in.Write(serverFrame(true, OpBinary, big))
	in.Write(serverFrame(true, OpClose, []byte{3, 232}))
	var pongs [][]byte
	pong := func(p []byte) error { pongs = append(pongs, p); return nil }
	m, err := ReadMessage(&in, nil, 1<<20, pong)
	if err != nil || string(m) != "hello" || len(pongs) != 1 || string(pongs[0]) != "p" {
		t.Fatalf("got %q %v pongs %q", m, err, pongs)
	}
	if m, err = ReadMessage(&in, m, 1<<20, pong); err != nil || !bytes.Equal(m, big) {
		t.Fatalf("big: %d bytes, %v", len(m), err)
	}
	if _, err = ReadMessage(&in, m, 1<<20, pong); !errors.Is(err, ErrClosed) {
		t.Fatalf("close: %v", err)
	}
	if _, err = ReadMessage(bytes.NewReader(serverFrame(true, OpText, big)), nil, 100, nil); !errors.Is(err, ErrFrame) {
		t.Fatalf("too large: %v", err)
	}
	masked := serverFrame(true, OpText, []byte("x"))
	masked[1] |= 0x80
	if _, err = ReadMessage(bytes.NewReader(masked), nil, 100, nil); !errors.Is(err, ErrFrame) {
		t.Fatalf("masked: %v", err)
	}
}

func TestAppendFrameMasks(t *testing.T) {
	for _, n := range []int{0, 5, 125, 126, 70000} {
		p := bytes.Repeat([]byte("a"), n)
		f := AppendFrame(nil, OpText, p)
		if f[0] != 0x81 || f[1]&0x80 == 0 {
			t.Fatalf("%d: header %x", n, f[:2])
		}
		hdr := 2
		switch {
		case n >= 1<<16:
			hdr += 8
		case n >= 126:
			hdr += 2
		}
		mask, body := f[hdr:hdr+4], f[hdr+4:]
		for i := range body {
			body[i] ^= mask[i&3]
		}
		if !bytes.Equal(body, p) {
			t.Fatalf("%d: payload does not unmask", n)
		}
	}
}

func TestScanInt(t *testing.T) {
	v, ok := ScanInt([]byte(`{"i": 42,"t":7}`), `"i"`)
	if !ok || v != 42 {
		t.Fatalf("%d %v", v, ok)
	}
	if _, ok := ScanInt([]byte(`{"x":1}`), `"i"`); ok {
		t.Fatal("absent key found")
	}
}

package pack

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	msgs := [][]byte{[]byte("a"), {}, bytes.Repeat([]byte{0, 0xff}, 300), []byte("\x00")}
	got, err := Split(Append(nil, msgs), len(msgs))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(msgs) {
		t.Fatalf("%d messages, want %d", len(got), len(msgs))
	}
	for i := range msgs {
		if !bytes.Equal(got[i], msgs[i]) {
			t.Errorf("message %d: %q, want %q", i, got[i], msgs[i])
		}
	}
}

func TestSplitRefusesMalformed(t *testing.T) {
	good := Append(nil, [][]byte{[]byte("one"), []byte("two")})
	cases := map[string]struct {
		n    int
		data []byte
	}{
		"count zero":      {0, good},
		"count too high":  {3, good},
		"count too low":   {1, good},
		"truncated":       {2, good[:len(good)-1]},
		"length past end": {1, []byte{0x7f, 'a'}},
		"bad varint":      {1, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		"varint cut":      {1, []byte{0x80}},
		"over-long zero":  {1, []byte{0x80, 0x00}},
		"over-long one":   {1, []byte{0x81, 0x80, 0x00, 'a'}},
	}
	for name, c := range cases {
		if _, err := Split(c.data, c.n); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v, want ErrMalformed", name, err)
		}
	}
}

// The fuzz target's first crasher: an over-long length was accepted, so
// the frame did not come back the same. The error names the problem.
func TestSplitNamesNonCanonicalLength(t *testing.T) {
	_, err := Split([]byte{0x80, 0x00}, 1)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "non-canonical") {
		t.Fatalf("Split(80 00) error %v, want ErrMalformed naming the non-canonical varint", err)
	}
	// The canonical forms of lengths at the one-byte and two-byte edges
	// are accepted.
	for _, l := range []int{0, 127, 128, 16383, 16384} {
		msg := bytes.Repeat([]byte("z"), l)
		got, err := Split(Append(nil, [][]byte{msg}), 1)
		if err != nil || len(got) != 1 || len(got[0]) != l {
			t.Fatalf("length %d: %v", l, err)
		}
	}
}

func TestChunkFitsLimit(t *testing.T) {
	msg := bytes.Repeat([]byte("x"), 100)
	msgs := make([][]byte, 50)
	for i := range msgs {
		msgs[i] = msg
	}
	// Each message counts as 5 (the longest length prefix) + 100 bytes.
	if k := Chunk(msgs, 1000); k != 9 || len(Append(nil, msgs[:k])) > 1000 {
		t.Fatalf("Chunk = %d for 100-byte messages in 1000 bytes, want 9", k)
	}
	if k := Chunk([][]byte{bytes.Repeat([]byte("y"), 5000), msg}, 1000); k != 1 {
		t.Fatalf("a message above the limit: Chunk = %d, want 1 (alone)", k)
	}
	if k := Chunk(msgs[:3], 1<<20); k != 3 {
		t.Fatalf("Chunk = %d, want all 3", k)
	}
}

func TestCountdownAcksOnceWhenAllAcked(t *testing.T) {
	acked := 0
	acks := Countdown(3, func() { acked++ })
	acks[0]()
	acks[0]() // twice counts once
	acks[2]()
	if acked != 0 {
		t.Fatal("acked before every message was")
	}
	acks[1]()
	acks[1]()
	if acked != 1 {
		t.Fatalf("acked %d times, want 1", acked)
	}
}

func FuzzSplit(f *testing.F) {
	f.Add(Append(nil, [][]byte{[]byte("a"), []byte("bc")}), 2)
	f.Add([]byte{0x80}, 1)
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		msgs, err := Split(data, n)
		if err != nil {
			return
		}
		if len(msgs) != n || !bytes.Equal(Append(nil, msgs), data) {
			t.Fatalf("Split(%q, %d) = %q does not frame back to the input", data, n, msgs)
		}
	})
}

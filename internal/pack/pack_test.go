package pack

import (
	"bytes"
	"errors"
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
	}
	for name, c := range cases {
		if _, err := Split(c.data, c.n); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v, want ErrMalformed", name, err)
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

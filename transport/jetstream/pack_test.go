package jetstream

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

func TestPackRoundTrip(t *testing.T) {
	msgs := [][]byte{[]byte("a"), {}, bytes.Repeat([]byte{0, 0xff}, 300), []byte("\x00")}
	data := pack(nil, msgs)
	got, err := unpack(nats.Header{packHeader: []string{"4"}}, data)
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
	// Without the header the data is one message, as published before
	// packing.
	plain, err := unpack(nats.Header{}, []byte("raw"))
	if err != nil || len(plain) != 1 || string(plain[0]) != "raw" {
		t.Fatalf("unpack without header: %q, %v", plain, err)
	}
}

func TestUnpackRefusesMalformed(t *testing.T) {
	good := pack(nil, [][]byte{[]byte("one"), []byte("two")})
	cases := map[string]struct {
		hdr  string
		data []byte
	}{
		"count not a number": {"x", good},
		"count zero":         {"0", good},
		"count too high":     {"3", good},
		"count too low":      {"1", good},
		"truncated":          {"2", good[:len(good)-1]},
		"length past end":    {"1", []byte{0x7f, 'a'}},
		"bad varint":         {"1", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
	}
	for name, c := range cases {
		_, err := unpack(nats.Header{packHeader: []string{c.hdr}}, c.data)
		if !errors.Is(err, errPack) {
			t.Errorf("%s: error %v, want errPack", name, err)
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
	if k := chunk(msgs, 1000); k != 9 || len(pack(nil, msgs[:k])) > 1000 {
		t.Fatalf("chunk = %d for 100-byte messages in 1000 bytes, want 9", k)
	}
	big := [][]byte{bytes.Repeat([]byte("y"), 5000), msg}
	if k := chunk(big, 1000); k != 1 {
		t.Fatalf("a message above the limit: chunk = %d, want 1 (alone)", k)
	}
	if k := chunk(msgs[:3], 1<<20); k != 3 {
		t.Fatalf("chunk = %d, want all 3", k)
	}
}

func TestCountdownAcksOnceWhenAllAcked(t *testing.T) {
	acked := 0
	acks := countdown(3, func() { acked++ })
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

func TestPackedID(t *testing.T) {
	if got := packedID(42, 0, false); got != "42" {
		t.Errorf("unpacked: %q", got)
	}
	if got := packedID(42, 7, true); !strings.HasPrefix(got, "42-") || got != "42-7" {
		t.Errorf("packed: %q", got)
	}
}

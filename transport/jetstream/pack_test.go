package jetstream

import (
	"errors"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/sockgate/sockgate/internal/pack"
)

func TestUnpack(t *testing.T) {
	plain, err := unpack(nats.Header{}, []byte("raw"))
	if err != nil || len(plain) != 1 || string(plain[0]) != "raw" {
		t.Fatalf("without the header the data is one message: %q, %v", plain, err)
	}
	msgs, err := unpack(nats.Header{packHeader: []string{"2"}}, pack.Append(nil, [][]byte{[]byte("a"), []byte("b")}))
	if err != nil || len(msgs) != 2 || string(msgs[1]) != "b" {
		t.Fatalf("a pack of two: %q, %v", msgs, err)
	}
	if _, err := unpack(nats.Header{packHeader: []string{"x"}}, []byte{0}); !errors.Is(err, pack.ErrMalformed) {
		t.Fatalf("a count that is not a number: %v", err)
	}
}

func TestPackedID(t *testing.T) {
	if got := packedID(42, 0, false); got != "42" {
		t.Errorf("unpacked: %q", got)
	}
	if got := packedID(42, 7, true); got != "42-7" {
		t.Errorf("packed: %q", got)
	}
}

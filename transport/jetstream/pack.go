package jetstream

import (
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/sockgate/sockgate/internal/pack"
)

// packHeader marks a JetStream message that carries several sockgate
// messages, framed by internal/pack (its value is how many). A message
// without it is one sockgate message, as published by a single-message
// Publish or by versions before packing. Packing makes a batch one stored
// message, one ack and one duplicate-window entry instead of one per event:
// JetStream's cost is per stored message, not per byte (docs/transports.md,
// Throughput).
const packHeader = "Sockgate-Pack"

// packSlack leaves room in a server max payload smaller than pack.Limit
// for the headers.
const packSlack = 4096

// unpack returns the sockgate messages a stored message carries: its data
// alone when it has no pack header.
func unpack(hdr nats.Header, data []byte) ([][]byte, error) {
	v := hdr.Get(packHeader)
	if v == "" {
		return [][]byte{data}, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s header %q", pack.ErrMalformed, packHeader, v)
	}
	return pack.Split(data, n)
}

// packedID is the Delivery.ID of message i of the stored message seq:
// "<seq>" for an unpacked one, "<seq>-<i>" in a pack; both order like
// stream sequences, then positions.
func packedID(seq uint64, i int, packed bool) string {
	s := strconv.FormatUint(seq, 10)
	if !packed {
		return s
	}
	return s + "-" + strconv.Itoa(i)
}

package jetstream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"
)

// packHeader marks a JetStream message that carries several sockgate
// messages (its value is how many): each as its length (uvarint) and its
// bytes, in publish order. A message without the header is one sockgate
// message, as published by a single-message Publish or by versions before
// packing. Packing makes a batch one stored message, one ack and one
// duplicate-window entry instead of one per event: JetStream's cost is per
// stored message, not per byte (docs/transports.md, Throughput).
const packHeader = "Sockgate-Pack"

// packLimit bounds a pack's size whatever the server's max payload, so
// that a retry after a restart chunks a batch as the first attempt did;
// packSlack leaves room in a smaller max payload for the headers.
const (
	packLimit = 64 << 10
	packSlack = 4096
)

// errPack reports a packed message that does not decode.
var errPack = errors.New("jetstream: malformed packed message")

// chunk returns the end of the chunk of msgs that starts at msgs[0]: as
// many messages as fit in limit bytes once packed, at least one.
func chunk(msgs [][]byte, limit int) int {
	size := 0
	for i, m := range msgs {
		size += binary.MaxVarintLen32 + len(m)
		if size > limit && i > 0 {
			return i
		}
	}
	return len(msgs)
}

// pack appends msgs, packed, to dst.
func pack(dst []byte, msgs [][]byte) []byte {
	for _, m := range msgs {
		dst = binary.AppendUvarint(dst, uint64(len(m)))
		dst = append(dst, m...)
	}
	return dst
}

// unpack returns the sockgate messages a stored message carries: its data
// alone when it has no pack header.
func unpack(hdr nats.Header, data []byte) ([][]byte, error) {
	v := hdr.Get(packHeader)
	if v == "" {
		return [][]byte{data}, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return nil, fmt.Errorf("%w: %s header %q", errPack, packHeader, v)
	}
	out := make([][]byte, 0, n)
	b := data
	for len(b) > 0 {
		l, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < l {
			return nil, fmt.Errorf("%w: message %d of %d is truncated", errPack, len(out)+1, n)
		}
		out = append(out, b[k:k+int(l):k+int(l)])
		b = b[k+int(l):]
	}
	if len(out) != n {
		return nil, fmt.Errorf("%w: %d messages where the header says %d", errPack, len(out), n)
	}
	return out, nil
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

// countdown returns n Ack funcs, each idempotent, that ack m once all n
// were called: a pack is acknowledged when every message in it is.
func countdown(n int, ack func()) []func() {
	if n == 1 {
		var once sync.Once
		return []func(){func() { once.Do(ack) }}
	}
	var left atomic.Int64
	left.Store(int64(n))
	out := make([]func(), n)
	for i := range out {
		var once sync.Once
		out[i] = func() {
			once.Do(func() {
				if left.Add(-1) == 0 {
					ack()
				}
			})
		}
	}
	return out
}

// Package pack frames several sockgate messages as one broker message, for
// the persistent transports (JetStream, Redis Streams), whose cost is per
// stored message rather than per byte: each message as its length
// (uvarint) and its bytes, in publish order. The count travels beside the
// frame (a header, a stream field), so that a frame is checked whole.
package pack

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Limit is the largest pack the transports build, whatever their broker
// accepts: fixed, so that a retry after a broker restart chunks a batch
// as the first attempt did.
const Limit = 64 << 10

// ErrMalformed reports a frame that does not decode to its count.
var ErrMalformed = errors.New("pack: malformed packed message")

// Chunk returns how many messages, from msgs[0], fit in limit bytes once
// packed; at least one (a message above limit goes alone).
func Chunk(msgs [][]byte, limit int) int {
	size := 0
	for i, m := range msgs {
		size += binary.MaxVarintLen32 + len(m)
		if size > limit && i > 0 {
			return i
		}
	}
	return len(msgs)
}

// Append appends msgs, framed, to dst.
func Append(dst []byte, msgs [][]byte) []byte {
	for _, m := range msgs {
		dst = binary.AppendUvarint(dst, uint64(len(m)))
		dst = append(dst, m...)
	}
	return dst
}

// Split returns the n messages framed in data; they share data's memory.
// Every length must be written as Append writes it, in the fewest bytes:
// an over-long length (such as 0x80 0x00 for 0) is refused, so that a
// frame that Split accepts has exactly one form.
func Split(data []byte, n int) ([][]byte, error) {
	if n < 1 {
		return nil, fmt.Errorf("%w: count %d", ErrMalformed, n)
	}
	out := make([][]byte, 0, min(n, len(data)+1))
	for len(data) > 0 {
		l, k := binary.Uvarint(data)
		switch {
		case k == 0:
			return nil, fmt.Errorf("%w: message %d of %d: its length is truncated", ErrMalformed, len(out)+1, n)
		case k < 0:
			return nil, fmt.Errorf("%w: message %d of %d: its length overflows 64 bits", ErrMalformed, len(out)+1, n)
		case k > 1 && data[k-1] == 0:
			return nil, fmt.Errorf("%w: message %d of %d: its length %d is written in %d bytes, not the fewest (non-canonical varint)",
				ErrMalformed, len(out)+1, n, l, k)
		case uint64(len(data)-k) < l:
			return nil, fmt.Errorf("%w: message %d of %d is truncated", ErrMalformed, len(out)+1, n)
		}
		end := k + int(l)
		out = append(out, data[k:end:end])
		data = data[end:]
	}
	if len(out) != n {
		return nil, fmt.Errorf("%w: %d messages where %d were announced", ErrMalformed, len(out), n)
	}
	return out, nil
}

// Countdown returns n Ack funcs, each idempotent, that call ack once all
// n were called: a pack is acknowledged when every message in it is.
func Countdown(n int, ack func()) []func() {
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

package transport

import "errors"

// ErrClosed is returned by operations on a closed Publisher or Subscriber.
var ErrClosed = errors.New("transport: closed")

// ErrNotSent is wrapped by a Publish error when msgs[n:] (n as returned)
// certainly did not reach the broker: nothing of them was written (no
// connection could be made, the context ended first). Retrying them cannot
// duplicate a message. A Publish error that does not wrap it leaves the
// outcome of msgs[n:] unknown: they may have reached the broker (a read
// timeout, a connection lost after the write).
var ErrNotSent = errors.New("transport: not sent")

package transport

import "errors"

// ErrClosed is returned by operations on a closed Publisher or Subscriber.
var ErrClosed = errors.New("transport: closed")

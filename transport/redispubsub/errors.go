package redispubsub

import "errors"

// ErrNoClient is returned by New when Config.Client is nil. (Operations on
// a closed PubSub return transport.ErrClosed.)
var ErrNoClient = errors.New("redispubsub: Config.Client is nil")

// Package redispubsub is the Redis pub/sub transport: PubSub implements
// transport.Publisher, transport.Subscriber and transport.Pinger on an
// injected go-redis client (single node, Sentinel or Cluster), speaking to
// the same channel python-socketio's RedisManager uses.
//
// Publish sends a batch as PUBLISH commands in one pipelined round trip and
// reports how many leading messages Redis acknowledged. go-redis's own
// retry of a failed pipeline is disabled for these commands, because it
// would publish the acknowledged prefix again; the caller retries msgs[n:]
// (an error wrapping transport.ErrNotSent says none of them was written).
// PublishCounted also returns PUBLISH's replies, the subscriptions each
// message reached, and Receivers asks PUBSUB NUMSUB
// (transport.ReceiverCounter).
//
// Subscribe gives each subscription its own connection and its own receive
// loop (not go-redis's PubSub.Channel, which drops messages when its Go
// channel stays full). go-redis reconnects and resubscribes after a
// connection loss; messages published meanwhile are lost, as always with
// Redis pub/sub: delivery is at most once.
//
// The client belongs to the caller: PubSub.Close stops subscriptions and
// never closes it.
package redispubsub

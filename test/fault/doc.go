// Package fault is sockgate's fault suite: a worker emitting 1,000 events a
// second through a real redis-server (internal/redisserver, one per test)
// while the broker is killed and restarted, hung past the client's read
// timeout, or has its client connections killed, with two kinds of
// receivers on their own channels:
//
//   - a python-socketio 5.7.2 AsyncServer on AsyncRedisManager, unchanged,
//     with a python-socketio client;
//   - our Go server as a cluster node (socketio.Server with a
//     cluster.Manager over transport/redispubsub), with a python-socketio
//     client.
//
// Every client checks the sequence numbers it receives. For each fault the
// tests show what the worker's Stats promise: every event a client missed
// is counted (Unreceived, Dropped), none is counted as published that no
// subscriber received, a client of a Go node never sees a duplicate, and
// Emitted = Published + Unreceived + Dropped + Queued holds in every
// snapshot taken while the worker runs.
//
// The tests are behind the "integration" build tag:
//
//	go test -race -tags integration ./test/fault/
//
// They need redis-server and /usr/bin/python3 with python3-socketio,
// python3-aiohttp and python3-redis. Missing peers skip the tests, except
// with CI=true, where they fail. docs/reliability.md describes each fault
// and the figures these tests log.
package fault

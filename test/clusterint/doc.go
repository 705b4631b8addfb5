// Package clusterint holds the integration and fault tests of package
// cluster: our Go server (socketio.Server with a cluster.Manager over
// transport/redispubsub) as a node of a python-socketio cluster on one real
// redis-server (internal/testenv, one per test) and one channel.
//
//   - mixed_test.go: a python-socketio 5.7.2 AsyncServer on AsyncRedisManager
//     (test/peers/python/py_server.py) and our server, one user with one python client
//     on each; python's write-only manager (pickle, test/peers/python/py_bus.py), a Go
//     worker, our server's gateway and the python server each emit to the
//     user, and both clients get every event exactly once. Room operations
//     from a Go worker act on our clients; python-socketio 5.7.2 ignores
//     enter_room and leave_room from the bus and applies close_room and
//     disconnect (the tests assert what 5.7.2 does).
//   - fault_test.go: our server started with its Redis down, and Redis
//     killed and restarted while a worker emits every 5 ms.
//   - hostile_test.go: garbage, truncated JSON, wrong types, a pickle that
//     calls os.system, a 50 MB message and an unknown method, published
//     through Redis.
//
// The tests are behind the "integration" build tag:
//
//	go test -race -tags integration ./test/clusterint/
//
// They need redis-server and /usr/bin/python3 with python3-socketio,
// python3-aiohttp and python3-redis (SOCKGATE_PYTHON selects another
// interpreter). Missing peers skip the tests, except with CI=true, where they
// fail. docs/testing.md describes them and the figures they log.
package clusterint

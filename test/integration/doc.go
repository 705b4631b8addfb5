// Package integration holds sockgate's integration and fault tests: a Go
// gateway.Worker publishes over a real redis-server to a real python-socketio
// 5.7.2 AsyncServer (AsyncRedisManager) whose python-socketio clients print
// what they receive.
//
// The tests are behind the "integration" build tag, so plain `go test ./...`
// does not run them:
//
//	go test -race -tags integration ./test/integration/
//
// They need redis-server and /usr/bin/python3 with the Debian packages
// python3-socketio, python3-aiohttp and python3-redis (set SOCKGATE_PYTHON to
// use another interpreter). Missing tools skip the tests, except with CI=true,
// where they fail. The python helpers live in test/peers/python/; docs/testing.md
// describes the tiers.
package integration

// Package sioint holds the integration tests of package socketio against
// real Socket.IO clients: socket.io-client 4.8 on Node
// (test/peers/node/sio_client.js) and the python-socketio 5.7.2
// AsyncClient (test/peers/python/py_sio_client.py), over websocket, over polling and
// with the polling-to-websocket upgrade.
//
// Every scenario runs against our server (socketio.NewServer) and against
// the reference Node socket.io 4.8 server (test/peers/node/ref_server.js)
// with the same behaviour, so a failure on both points at the test or the
// client scripts, a failure on ours only at package socketio.
//
// The tests are behind the "integration" build tag:
//
//	go test -race -tags integration ./test/sioint/
//
// They need node with the npm packages of test/peers/node (npm ci) and
// /usr/bin/python3 with python3-socketio, python3-aiohttp (SOCKGATE_PYTHON
// and SOCKGATE_NODE select other interpreters). Missing peers skip the tests,
// except with CI=true, where they fail. docs/testing.md describes them.
package sioint

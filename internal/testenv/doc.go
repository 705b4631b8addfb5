// Package testenv is the one test environment of sockgate's tests and
// benches: it runs the real peers (python-socketio, Node scripts) as child
// processes that speak JSON lines (Start, StartPython, LineLog), starts a
// real redis-server (StartRedis) or nats-server (StartNATS) on a free port
// (FreePort) for one test, and collects a child's or a logger's output
// (Buffer). Its sub-package wsclient is the raw websocket client of the
// attack tests and the load clients of the benches.
//
// Each line a peer prints is collected with the time it was read, and a
// test waits for the line it expects with a generous deadline. A missing
// peer or server skips a test on a developer's machine and fails it under
// CI=true, where .ci/run installs every one.
//
// It is a support package for tests and for the bench/ module: no library
// package imports it.
package testenv

// Package attack is the attack suite of sockgate's Socket.IO server (build
// tag integration). It builds test/attack/attackserver, a server process
// with token auth on "/" and the default bounds, and attacks it the way
// issue 12 found it could be attacked, 20 connections of each kind:
//
//   - an attachment bomb: a BINARY_EVENT announcing 1000 attachments, then
//     binary messages of almost MaxPayload each, over websocket and over
//     polling, before any namespace connection (and after a refused one)
//     and on a socket signed in with a valid token;
//   - a signed-in socket whose handler takes 20 s, sent 1,024 events of
//     almost MaxPayload each;
//   - a handshake flood from one address, against the rate limit and
//     against a cap on sessions per address.
//
// Each test shows that the server refuses (or, for the slow handler,
// stops reading) after at most the bound, that every refusal is counted
// (read from the server's /stats and /metrics), and that the server's
// resident memory (VmRSS in /proc/PID/status, sampled through the attack)
// stays under 150 MB. The measured figures are logged (go test -v) and
// recorded in docs/server.md.
//
//	go test -tags integration -v ./test/attack
package attack

package servermetrics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sockgate/sockgate/metrics"
	"github.com/sockgate/sockgate/metrics/servermetrics"
	"github.com/sockgate/sockgate/socketio"
)

type fakeServer struct{ s socketio.Stats }

func (f *fakeServer) Stats() socketio.Stats { return f.s }

func TestCollector(t *testing.T) {
	t.Parallel()
	src := &fakeServer{s: socketio.Stats{
		Clients: 3, Connected: 2, Connects: 10, SlowDisconnects: 1, PayloadTooBig: 4,
		AttachmentsRefused: 5, EarlyBinary: 6, HandshakesLimited: 7, SessionsLimited: 8, EventQueueWaits: 9,
		TokenExpiries: 11, TokenRefreshes: 12, TokenRefreshRefused: 13,
	}}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(servermetrics.NewCollector(src, metrics.CollectorOptions{ConstLabels: prometheus.Labels{"role": "server"}}))
	want := `
# HELP sockgate_server_clients Engine.IO connections open now.
# TYPE sockgate_server_clients gauge
sockgate_server_clients{role="server"} 3
# HELP sockgate_server_clients_closed_total Clients the server closed for going beyond a bound or breaking the protocol, by reason.
# TYPE sockgate_server_clients_closed_total counter
sockgate_server_clients_closed_total{reason="attachments_too_large",role="server"} 5
sockgate_server_clients_closed_total{reason="binary_before_connect",role="server"} 6
sockgate_server_clients_closed_total{reason="connect_timeout",role="server"} 0
sockgate_server_clients_closed_total{reason="payload_too_large",role="server"} 4
sockgate_server_clients_closed_total{reason="protocol_error",role="server"} 0
sockgate_server_clients_closed_total{reason="send_queue_full",role="server"} 1
# HELP sockgate_server_handshakes_refused_total Handshakes refused with HTTP 429 by the per-address limits, by limit.
# TYPE sockgate_server_handshakes_refused_total counter
sockgate_server_handshakes_refused_total{reason="rate",role="server"} 7
sockgate_server_handshakes_refused_total{reason="sessions",role="server"} 8
# HELP sockgate_server_event_queue_waits_total Times reading from a client paused because its handlers were behind (backpressure).
# TYPE sockgate_server_event_queue_waits_total counter
sockgate_server_event_queue_waits_total{role="server"} 9
# HELP sockgate_server_token_expiries_total Sockets disconnected because their token expired.
# TYPE sockgate_server_token_expiries_total counter
sockgate_server_token_expiries_total{role="server"} 11
# HELP sockgate_server_token_refreshes_total Tokens sent on the sockgate:refresh event, by result: accepted or refused.
# TYPE sockgate_server_token_refreshes_total counter
sockgate_server_token_refreshes_total{result="accepted",role="server"} 12
sockgate_server_token_refreshes_total{result="refused",role="server"} 13
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "sockgate_server_clients",
		"sockgate_server_clients_closed_total", "sockgate_server_handshakes_refused_total",
		"sockgate_server_event_queue_waits_total", "sockgate_server_token_expiries_total",
		"sockgate_server_token_refreshes_total"); err != nil {
		t.Fatal(err)
	}
	n, err := testutil.GatherAndCount(reg)
	if err != nil || n != 17-3+6+2+2 { // 17 names, three of them with 6, 2 and 2 series
		t.Fatalf("series: %d, %v", n, err)
	}
}

func TestCollectorOverRealServer(t *testing.T) {
	t.Parallel()
	srv, err := socketio.NewServer(socketio.Config{HandshakeRate: 1.0 / 60, HandshakeBurst: 1})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Close(context.Background())
		hs.Close()
	})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(servermetrics.NewCollector(srv, metrics.CollectorOptions{}))
	for want, status := range []int{http.StatusOK, http.StatusTooManyRequests} {
		resp, err := http.Get(hs.URL + "/socket.io/?EIO=4&transport=polling")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Fatalf("handshake %d: %d, want %d", want, resp.StatusCode, status)
		}
	}
	want := `
# HELP sockgate_server_clients Engine.IO connections open now.
# TYPE sockgate_server_clients gauge
sockgate_server_clients 1
# HELP sockgate_server_handshakes_refused_total Handshakes refused with HTTP 429 by the per-address limits, by limit.
# TYPE sockgate_server_handshakes_refused_total counter
sockgate_server_handshakes_refused_total{reason="rate"} 1
sockgate_server_handshakes_refused_total{reason="sessions"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "sockgate_server_clients",
		"sockgate_server_handshakes_refused_total"); err != nil {
		t.Fatal(err)
	}
}

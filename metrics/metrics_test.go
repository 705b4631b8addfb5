package metrics_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/metrics"
)

// fakeSource returns whatever Stats the test sets, safely for concurrent
// scrapes.
type fakeSource struct {
	mu sync.Mutex
	s  gateway.Stats
	n  int // Stats calls
}

func (f *fakeSource) Stats() gateway.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	return f.s
}

func (f *fakeSource) set(s gateway.Stats) {
	f.mu.Lock()
	f.s = s
	f.mu.Unlock()
}

const help = `
# HELP sockgate_broker_connected 1 when the last publish attempt succeeded, 0 otherwise.
# TYPE sockgate_broker_connected gauge
# HELP sockgate_dropped_total Messages given up: queue full, no broker configured, or closed with messages left.
# TYPE sockgate_dropped_total counter
# HELP sockgate_emitted_total Messages accepted by an emit or room call.
# TYPE sockgate_emitted_total counter
# HELP sockgate_failed_total Publish attempts that failed; a message retried is counted again.
# TYPE sockgate_failed_total counter
# HELP sockgate_published_total Messages the broker confirmed.
# TYPE sockgate_published_total counter
# HELP sockgate_queued Messages waiting in the queue now.
# TYPE sockgate_queued gauge
# HELP sockgate_receivers Subscribers the last published message reached; -1 when the transport does not tell.
# TYPE sockgate_receivers gauge
# HELP sockgate_reconnects_total Times publishing resumed after a broker failure.
# TYPE sockgate_reconnects_total counter
# HELP sockgate_resent_total Messages sent again after a publish with an unknown outcome (at-least-once); at most this many were delivered twice.
# TYPE sockgate_resent_total counter
# HELP sockgate_resume_holds_total Times the backlog waited for the subscribers to resubscribe (after the broker came back, or after they left).
# TYPE sockgate_resume_holds_total counter
# HELP sockgate_unconfirmed_total Messages of sockgate_dropped_total given up after a publish with an unknown outcome (at-most-once); some may have been delivered.
# TYPE sockgate_unconfirmed_total counter
# HELP sockgate_unreceived_total Messages the broker confirmed that reached no subscriber (Redis pub/sub: PUBLISH answered 0).
# TYPE sockgate_unreceived_total counter
`

// exposition interleaves help with the sample lines, in the order the text
// format sorts metric families.
func exposition(samples map[string]string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(help), "\n") {
		b.WriteString(line + "\n")
		if strings.HasPrefix(line, "# TYPE ") {
			name := strings.Fields(line)[2]
			b.WriteString(name + samples[name] + "\n")
		}
	}
	return b.String()
}

func TestCollectorValues(t *testing.T) {
	src := &fakeSource{s: gateway.Stats{
		Emitted: 14, Published: 6, Unreceived: 4, Dropped: 1, Unconfirmed: 1, Resent: 8, Failed: 4, Queued: 3,
		Reconnects: 2, Holds: 1, Receivers: 3, Connected: true,
	}}
	c := metrics.NewCollector(src, metrics.CollectorOptions{})
	want := exposition(map[string]string{
		"sockgate_broker_connected":   " 1",
		"sockgate_dropped_total":      " 1",
		"sockgate_emitted_total":      " 14",
		"sockgate_failed_total":       " 4",
		"sockgate_published_total":    " 6",
		"sockgate_queued":             " 3",
		"sockgate_receivers":          " 3",
		"sockgate_reconnects_total":   " 2",
		"sockgate_resent_total":       " 8",
		"sockgate_resume_holds_total": " 1",
		"sockgate_unconfirmed_total":  " 1",
		"sockgate_unreceived_total":   " 4",
	})
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}

	// A later scrape sees the new snapshot; a disconnected broker reads 0.
	// Receivers -1: the transport does not tell.
	src.set(gateway.Stats{Emitted: 12, Published: 6, Dropped: 1, Failed: 9, Queued: 5, Reconnects: 2, Receivers: -1})
	want = exposition(map[string]string{
		"sockgate_broker_connected":   " 0",
		"sockgate_dropped_total":      " 1",
		"sockgate_emitted_total":      " 12",
		"sockgate_failed_total":       " 9",
		"sockgate_published_total":    " 6",
		"sockgate_queued":             " 5",
		"sockgate_receivers":          " -1",
		"sockgate_reconnects_total":   " 2",
		"sockgate_resent_total":       " 0",
		"sockgate_resume_holds_total": " 0",
		"sockgate_unconfirmed_total":  " 0",
		"sockgate_unreceived_total":   " 0",
	})
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
}

func TestCollectorConstLabels(t *testing.T) {
	src := &fakeSource{s: gateway.Stats{Emitted: 1 << 40, Published: 1 << 40, Connected: true}}
	c := metrics.NewCollector(src, metrics.CollectorOptions{
		ConstLabels: prometheus.Labels{"role": "worker", "channel": "socketio"},
	})
	const l = `{channel="socketio",role="worker"}`
	want := exposition(map[string]string{
		"sockgate_broker_connected": l + " 1",
		"sockgate_dropped_total":    l + " 0",
		"sockgate_emitted_total":    l + " 1.099511627776e+12",
		"sockgate_failed_total":     l + " 0",
		"sockgate_published_total":  l + " 1.099511627776e+12",
		"sockgate_queued":           l + " 0",
		"sockgate_reconnects_total": l + " 0",

		"sockgate_receivers":          l + " 0",
		"sockgate_resent_total":       l + " 0",
		"sockgate_resume_holds_total": l + " 0",
		"sockgate_unconfirmed_total":  l + " 0",
		"sockgate_unreceived_total":   l + " 0",
	})
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	// Only the named metrics are compared when names are given.
	if err := testutil.CollectAndCompare(c, strings.NewReader(`
# HELP sockgate_queued Messages waiting in the queue now.
# TYPE sockgate_queued gauge
sockgate_queued`+l+` 0
`), "sockgate_queued"); err != nil {
		t.Fatal(err)
	}
}

func TestCollectorOneSnapshotPerScrape(t *testing.T) {
	src := &fakeSource{}
	c := metrics.NewCollector(src, metrics.CollectorOptions{})
	if n := testutil.CollectAndCount(c); n != 12 {
		t.Fatalf("CollectAndCount = %d, want 12", n)
	}
	src.mu.Lock()
	n := src.n
	src.mu.Unlock()
	if n != 1 {
		t.Fatalf("Stats called %d times for one scrape, want 1", n)
	}
}

func TestCollectorLint(t *testing.T) {
	c := metrics.NewCollector(&fakeSource{}, metrics.CollectorOptions{})
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestCollectorRegistration(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	a := metrics.NewCollector(&fakeSource{}, metrics.CollectorOptions{ConstLabels: prometheus.Labels{"role": "a"}})
	b := metrics.NewCollector(&fakeSource{}, metrics.CollectorOptions{ConstLabels: prometheus.Labels{"role": "b"}})
	if err := reg.Register(a); err != nil {
		t.Fatalf("register a: %v", err)
	}
	if err := reg.Register(b); err != nil {
		t.Fatalf("register b (other const labels): %v", err)
	}
	dup := metrics.NewCollector(&fakeSource{}, metrics.CollectorOptions{ConstLabels: prometheus.Labels{"role": "a"}})
	if err := reg.Register(dup); err == nil {
		t.Fatal("registering a second collector with the same const labels succeeded")
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	if len(mfs) != 12 {
		t.Fatalf("gathered %d families, want 12", len(mfs))
	}
	for _, mf := range mfs {
		if len(mf.GetMetric()) != 2 {
			t.Errorf("%s: %d series, want 2 (one per role)", mf.GetName(), len(mf.GetMetric()))
		}
	}
}

func TestCollectorConcurrentScrapes(t *testing.T) {
	src := &fakeSource{}
	c := metrics.NewCollector(src, metrics.CollectorOptions{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 20 {
				src.set(gateway.Stats{Emitted: uint64(i*100 + j)})
				if _, err := reg.Gather(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

package gateway

import (
	"context"
	"sync"
	"sync/atomic"
)

type ctxKey struct{}

// NewContext returns a copy of ctx that carries g, so request handlers and
// jobs can emit without knowing which process they run in (FromContext).
func NewContext(ctx context.Context, g Gateway) context.Context {
	return context.WithValue(ctx, ctxKey{}, g)
}

// FromContext returns the Gateway NewContext put in ctx, if any.
func FromContext(ctx context.Context) (Gateway, bool) {
	g, ok := ctx.Value(ctxKey{}).(Gateway)
	return g, ok && g != nil
}

// holder lets atomic.Pointer hold an interface value.
type holder struct{ g Gateway }

var (
	defaultGateway atomic.Pointer[holder]
	fallbackOnce   sync.Once
	fallback       Gateway
)

// SetDefault makes g the process-wide gateway Default returns, like
// slog.SetDefault. A nil g restores the local-only fallback.
func SetDefault(g Gateway) {
	if g == nil {
		defaultGateway.Store(nil)
		return
	}
	defaultGateway.Store(&holder{g: g})
}

// Default returns the process-wide gateway set with SetDefault. Before any
// SetDefault it is a local-only Worker: it has no broker, so every emit is
// dropped and counted in its Stats (with one warning in the log), never an
// error; code that emits keeps working in a process that did not configure
// one.
func Default() Gateway {
	if h := defaultGateway.Load(); h != nil {
		return h.g
	}
	fallbackOnce.Do(func() {
		w, err := NewWorker(WorkerConfig{})
		if err != nil {
			panic("gateway: the local-only default worker cannot be built: " + err.Error())
		}
		fallback = w
	})
	return fallback
}

// From returns the gateway of ctx, or Default when ctx carries none.
func From(ctx context.Context) Gateway {
	if g, ok := FromContext(ctx); ok {
		return g
	}
	return Default()
}

package gateway_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/gateway"
)

func TestContextCarriesTheGateway(t *testing.T) {
	g := newWorker(t, gateway.WorkerConfig{Publisher: newFakePub()})
	ctx := gateway.NewContext(context.Background(), g)
	got, ok := gateway.FromContext(ctx)
	require.True(t, ok)
	assert.Same(t, g, got.(*gateway.Worker))
	assert.Same(t, g, gateway.From(ctx).(*gateway.Worker))

	_, ok = gateway.FromContext(context.Background())
	assert.False(t, ok)
	_, ok = gateway.FromContext(gateway.NewContext(context.Background(), nil))
	assert.False(t, ok, "a nil gateway is no gateway")
}

// TestDefault is not parallel: it changes the process-wide default.
func TestDefault(t *testing.T) {
	t.Cleanup(func() { gateway.SetDefault(nil) })
	fb := gateway.Default()
	require.NotNil(t, fb)
	assert.Same(t, fb, gateway.Default(), "one fallback per process")
	before := fb.Stats()
	require.NoError(t, fb.EmitToUser(context.Background(), "42", "progress", 1), "local-only emits are not errors")
	after := fb.Stats()
	assert.Equal(t, before.Dropped+1, after.Dropped, "dropped and counted")
	assert.Same(t, fb, gateway.From(context.Background()))

	g := newWorker(t, gateway.WorkerConfig{Publisher: newFakePub()})
	gateway.SetDefault(g)
	assert.Same(t, g, gateway.Default().(*gateway.Worker))
	gateway.SetDefault(nil)
	assert.Same(t, fb, gateway.Default())
}

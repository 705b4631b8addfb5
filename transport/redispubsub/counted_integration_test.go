//go:build integration

package redispubsub_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/internal/testenv"
	"github.com/sockgate/sockgate/transport/redispubsub"
)

// TestRealReceiversRefusedIsUnknown: a Redis that refuses PUBSUB (an ACL
// allowing PUBLISH only) is reachable but cannot tell: -1, no error, so a
// worker does not wait on it forever. A private redis-server, so that the
// ACL user does not outlive the test.
func TestRealReceiversRefusedIsUnknown(t *testing.T) {
	t.Parallel()
	rs := testenv.StartRedis(t)
	ctx := testCtx(t)
	admin := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { _ = admin.Close() })
	require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", "pubonly", "on", ">pw", "+publish", "+ping", "+hello", "+auth", "+client", "~*", "&*").Err())

	client := redis.NewClient(&redis.Options{Addr: rs.Addr(), Username: "pubonly", Password: "pw"})
	t.Cleanup(func() { _ = client.Close() })
	ps, err := redispubsub.New(redispubsub.Config{Client: client})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ps.Close() })
	ch := channelName(t)
	recv := make([]int64, 1)
	n, err := ps.PublishCounted(ctx, ch, msgs("m", 1), recv)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	assert.Equal(t, int64(0), recv[0])
	r, err := ps.Receivers(ctx, ch)
	require.NoError(t, err)
	assert.Equal(t, int64(-1), r, "refused: cannot tell")
}

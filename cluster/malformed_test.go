package cluster_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/cluster"
	"github.com/sockgate/sockgate/socketio"
	"github.com/sockgate/sockgate/transport"
)

// malformedSub is a Subscriber that reports entries it could not read.
type malformedSub struct{ transport.Subscriber }

func (malformedSub) Malformed() uint64 { return 3 }

func TestStatsReportTheTransportsMalformedCount(t *testing.T) {
	t.Parallel()
	srv, err := socketio.NewServer(socketio.Config{})
	require.NoError(t, err)
	m, err := cluster.New(cluster.Config{Server: srv, Publisher: nullPub{}, Subscriber: malformedSub{}})
	require.NoError(t, err)
	require.Equal(t, uint64(3), m.Stats().TransportMalformed)
}

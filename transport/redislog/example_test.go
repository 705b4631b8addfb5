package redislog_test

import (
	"log/slog"
	"os"

	"github.com/sockgate/sockgate/transport/redislog"
)

// Install once, before the process makes its go-redis clients; go-redis's
// own lines ("failed to dial ...") then reach the application's handler.
func ExampleInstall() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	redislog.Install(log)
	// ... redis.NewUniversalClient(opts) ...
}

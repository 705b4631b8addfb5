package config_test

import (
	"fmt"

	"github.com/sockgate/sockgate/config"
)

func Example() {
	environ := map[string]string{
		"REDIS_URL":         "redis://worker:s3cret@cache:6379/0",
		"SOCKET_DIALECT":    "5.11.4",
		"SOCKET_USER_ROOM":  "u/{id}",
		"SOCKET_QUEUE_SIZE": "4096",
	}
	cfg, err := config.FromLookup(func(k string) (string, bool) { v, ok := environ[k]; return v, ok })
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg) // the password is redacted
	fmt.Println(cfg.UserRoomFor("42"))
	opts, _ := cfg.RedisOptions()
	fmt.Println(opts.Addrs, opts.Username)

	environ["SOCKET_QUEUE_SIZE"] = "abc"
	environ["REDIS_URL"] = "redis://worker:s3cret@cache:0"
	_, err = config.FromLookup(func(k string) (string, bool) { v, ok := environ[k]; return v, ok })
	fmt.Println(err)
	// Output:
	// REDIS_URL="redis://worker:***@cache:6379/0" SOCKET_REDIS_CHANNEL="socketio" SOCKET_DIALECT=legacy SOCKET_QUEUE_SIZE=4096 SOCKET_USER_ROOM="u/{id}" SOCKET_AUTH_SECRET=unset
	// u/42
	// [cache:6379] worker
	// config: REDIS_URL="redis://worker:***@cache:0": invalid port "0" (want 1-65535)
	// config: SOCKET_QUEUE_SIZE="abc": not a whole number
}

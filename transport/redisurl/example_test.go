package redisurl_test

import (
	"errors"
	"fmt"

	"github.com/sockgate/sockgate/transport/redisurl"
)

func Example() {
	opts, err := redisurl.Parse("redis+sentinel://:s3cret@sentinel-a:26379,sentinel-b:26379/0/cache")
	if err != nil {
		panic(err)
	}
	fmt.Println(opts.MasterName, opts.Addrs, opts.DB, opts.Password != "")

	opts, _ = redisurl.Parse("rediss://worker:s3cret@cache.internal:6380/2?dial_timeout=3s")
	fmt.Println(opts.Addrs, opts.DB, opts.Username, opts.TLSConfig.ServerName, opts.DialTimeout)

	_, err = redisurl.Parse("redis://worker:s3cret@cache.internal:99999/0")
	fmt.Println(err)
	fmt.Println(errors.Is(err, redisurl.ErrInvalidURL))

	fmt.Println(redisurl.Redact("redis://worker:s3cret@cache.internal:6379/0"))
	// Output:
	// cache [sentinel-a:26379 sentinel-b:26379] 0 true
	// [cache.internal:6380] 2 worker cache.internal 3s
	// redisurl: invalid URL "redis://worker:***@cache.internal:99999/0": invalid port "99999" (want 1-65535)
	// true
	// redis://worker:***@cache.internal:6379/0
}

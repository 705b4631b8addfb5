package redisurl_test

import (
	"context"
	"crypto/tls"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/transport/redisurl"
)

func TestParseGood(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url  string
		want redis.UniversalOptions
		tls  string // expected TLS ServerName, "" for no TLS
	}{
		{url: "redis://", want: redis.UniversalOptions{Addrs: []string{"localhost:6379"}}},
		{url: "redis://localhost:6379/0", want: redis.UniversalOptions{Addrs: []string{"localhost:6379"}}},
		{url: "redis://cache", want: redis.UniversalOptions{Addrs: []string{"cache:6379"}}},
		{url: "redis://cache:6380/3", want: redis.UniversalOptions{Addrs: []string{"cache:6380"}, DB: 3}},
		{url: "redis://cache:6380/3/", want: redis.UniversalOptions{Addrs: []string{"cache:6380"}, DB: 3}},
		{url: "  redis://cache:6380/3\n", want: redis.UniversalOptions{Addrs: []string{"cache:6380"}, DB: 3}},
		{url: "REDIS://cache", want: redis.UniversalOptions{Addrs: []string{"cache:6379"}}},
		{url: "redis://:s3cret@cache", want: redis.UniversalOptions{Addrs: []string{"cache:6379"}, Password: "s3cret"}},
		{url: "redis://app:s3cret@cache/2", want: redis.UniversalOptions{Addrs: []string{"cache:6379"}, Username: "app", Password: "s3cret", DB: 2}},
		{url: "redis://app:p%40ss%2Fw%3Ard%23@cache", want: redis.UniversalOptions{Addrs: []string{"cache:6379"}, Username: "app", Password: "p@ss/w:rd#"}},
		{url: "redis://[::1]:7000/1", want: redis.UniversalOptions{Addrs: []string{"[::1]:7000"}, DB: 1}},
		{url: "redis://cache/1?db=4", want: redis.UniversalOptions{Addrs: []string{"cache:6379"}, DB: 4}},
		{
			url: "redis://cache?dial_timeout=3&read_timeout=500ms&max_retries=-1&pool_size=7&client_name=worker&protocol=2",
			want: redis.UniversalOptions{
				Addrs: []string{"cache:6379"}, DialTimeout: 3 * time.Second, ReadTimeout: 500 * time.Millisecond,
				MaxRetries: -1, PoolSize: 7, ClientName: "worker", Protocol: 2,
			},
		},
		{url: "rediss://app:pw@cache.example.com:6380/1", want: redis.UniversalOptions{Addrs: []string{"cache.example.com:6380"}, Username: "app", Password: "pw", DB: 1}, tls: "cache.example.com"},
		{url: "valkey://vk:6379/5", want: redis.UniversalOptions{Addrs: []string{"vk:6379"}, DB: 5}},
		{url: "valkeys://vk", want: redis.UniversalOptions{Addrs: []string{"vk:6379"}}, tls: "vk"},
		{url: "unix:///run/redis/redis.sock", want: redis.UniversalOptions{Addrs: []string{"/run/redis/redis.sock"}}},
		{url: "unix:///run/redis/redis.sock?db=2", want: redis.UniversalOptions{Addrs: []string{"/run/redis/redis.sock"}, DB: 2}},
		{url: "unix://:pw@/tmp/r.sock?db=1", want: redis.UniversalOptions{Addrs: []string{"/tmp/r.sock"}, Password: "pw", DB: 1}},
		{
			url:  "redis+sentinel://s1:26379,s2:26380",
			want: redis.UniversalOptions{Addrs: []string{"s1:26379", "s2:26380"}, MasterName: "mymaster"},
		},
		{
			url:  "redis+sentinel://user:pw@s1:26379,s2:26379/0/myredis",
			want: redis.UniversalOptions{Addrs: []string{"s1:26379", "s2:26379"}, MasterName: "myredis", Username: "user", Password: "pw"},
		},
		{
			url:  "redis+sentinel://:pw@s1/2",
			want: redis.UniversalOptions{Addrs: []string{"s1:26379"}, MasterName: "mymaster", Password: "pw", DB: 2},
		},
		{
			url:  "redis+sentinel://s1:5000//svc",
			want: redis.UniversalOptions{Addrs: []string{"s1:5000"}, MasterName: "svc"},
		},
		{
			url:  "redis+sentinel://s1:5000/3/svc/",
			want: redis.UniversalOptions{Addrs: []string{"s1:5000"}, MasterName: "svc", DB: 3},
		},
		{
			url:  "redis+sentinel://[::1]:26379,[fe80::1]/1/m",
			want: redis.UniversalOptions{Addrs: []string{"[::1]:26379", "[fe80::1]:26379"}, MasterName: "m", DB: 1},
		},
		{
			url: "valkey+sentinel://u:pw@s1:26379/1/m?sentinel_username=su&sentinel_password=sp&dial_timeout=2s",
			want: redis.UniversalOptions{
				Addrs: []string{"s1:26379"}, MasterName: "m", DB: 1, Username: "u", Password: "pw",
				SentinelUsername: "su", SentinelPassword: "sp", DialTimeout: 2 * time.Second,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			got, err := redisurl.Parse(tt.url)
			require.NoError(t, err)
			if tt.tls == "" {
				assert.Nil(t, got.TLSConfig)
			} else {
				require.NotNil(t, got.TLSConfig)
				assert.Equal(t, tt.tls, got.TLSConfig.ServerName)
				assert.GreaterOrEqual(t, got.TLSConfig.MinVersion, uint16(tls.VersionTLS12))
				got.TLSConfig = nil
			}
			want := tt.want
			if want.DialerRetries == 0 {
				want.DialerRetries = 1 // sockgate's fail-fast default
			}
			assert.Equal(t, want, *got)
		})
	}
}

func TestParseSkipVerify(t *testing.T) {
	t.Parallel()
	got, err := redisurl.Parse("rediss://cache?skip_verify=true")
	require.NoError(t, err)
	require.NotNil(t, got.TLSConfig)
	assert.True(t, got.TLSConfig.InsecureSkipVerify)
}

func TestParseWithDefaultMaster(t *testing.T) {
	t.Parallel()
	got, err := redisurl.ParseWithDefaultMaster("redis+sentinel://s1:26379/0", "socketio")
	require.NoError(t, err)
	assert.Equal(t, "socketio", got.MasterName)

	got, err = redisurl.ParseWithDefaultMaster("redis+sentinel://s1:26379/0/named", "socketio")
	require.NoError(t, err)
	assert.Equal(t, "named", got.MasterName, "a service name in the URL wins")

	got, err = redisurl.ParseWithDefaultMaster("redis+sentinel://s1:26379", "")
	require.NoError(t, err)
	assert.Equal(t, redisurl.DefaultMasterName, got.MasterName)

	got, err = redisurl.ParseWithDefaultMaster("redis://cache", "socketio")
	require.NoError(t, err)
	assert.Empty(t, got.MasterName, "single-node URLs never get a master name")
}

// TestParseCopiesEveryOption checks that nothing go-redis's ParseURL sets is
// lost on the way to UniversalOptions.
func TestParseCopiesEveryOption(t *testing.T) {
	t.Parallel()
	const u = "rediss://user:pw@cache:6380/2?protocol=2&client_name=c&max_retries=4" +
		"&min_retry_backoff=1s&max_retry_backoff=2s&dial_timeout=3s&read_timeout=4s&write_timeout=5s" +
		"&pool_fifo=true&pool_size=6&pool_timeout=7s&min_idle_conns=1&max_idle_conns=8&max_active_conns=9" +
		"&max_concurrent_dials=3&pipeline_pool_size=2&pipeline_read_buffer_size=4096" +
		"&pipeline_write_buffer_size=8192&conn_max_idle_time=10s&conn_max_lifetime=11s" +
		"&conn_max_lifetime_jitter=1s&skip_verify=true"
	want, err := redis.ParseURL(u)
	require.NoError(t, err)
	got, err := redisurl.Parse(u)
	require.NoError(t, err)
	simple := got.Simple()

	wv, gv := reflect.ValueOf(*want), reflect.ValueOf(*simple)
	for i := range wv.NumField() {
		f := wv.Type().Field(i)
		if !f.IsExported() || f.Name == "Network" || wv.Field(i).IsZero() {
			continue
		}
		assert.Truef(t, reflect.DeepEqual(wv.Field(i).Interface(), gv.FieldByName(f.Name).Interface()),
			"field %s: ParseURL set %v, Parse gives %v", f.Name, wv.Field(i).Interface(), gv.FieldByName(f.Name).Interface())
	}
}

func TestParseBad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url    string
		reason string // substring of the error
	}{
		{"", "empty URL"},
		{"   ", "empty URL"},
		{"localhost:6379", "missing scheme"},
		{"http://cache:6379", `unsupported scheme "http"`},
		{"redis-sentinel://s1:26379", "unsupported scheme"},
		{"redis://cache:abc", "invalid port"},
		{"redis://cache:0", `invalid port "0"`},
		{"redis://cache:65536", `invalid port "65536"`},
		{"redis://cache:", "empty port"},
		{"redis://cache/x", `invalid database number "x"`},
		{"redis://cache/-1", `invalid database number "-1"`},
		{"redis://cache/1/2", "unexpected path"},
		{"redis://cache?db=-2", "invalid database number -2"},
		{"redis://cache?db=x", "invalid database number"},
		{"redis://cache?nope=1", "unexpected option: nope"},
		{"redis://cache?dial_timeout=soon", "invalid dial_timeout duration"},
		{"redis://cache?skip_verify=true", "unexpected option: skip_verify"},
		{"redis://a:1,b:2", "several hosts"},
		{"redis://a,b", "several hosts"},
		{"redis://cache#frag", "fragment"},
		{"redis://:12/34@cache", "'@' after the host"},
		{"redis+sentinel://:pass/word@s1:26379", "'@' after the host"},
		{"unix://", "missing socket path"},
		{"unix:///", "missing socket path"},
		{"unix://relative/path.sock", "with a host"},
		{"unix:///tmp/r.sock?db=z", "invalid database number"},
		{"redis+sentinel://", "empty Sentinel host list"},
		{"redis+sentinel://u:pw@/0/m", "empty Sentinel host list"},
		{"redis+sentinel://s1:26379,,s2:26379", "empty entry"},
		{"redis+sentinel://s1:26379,", "empty entry"},
		{"redis+sentinel://s1:port", `invalid port "port"`},
		{"redis+sentinel://s1:99999", `invalid port "99999"`},
		{"redis+sentinel://:26379", "missing host"},
		{"redis+sentinel://::1:26379", "invalid Sentinel address"},
		{"redis+sentinel://[]", "missing host"},
		{"redis+sentinel://s1:26379/x/m", `invalid database number "x"`},
		{"redis+sentinel://s1:26379/0/m/extra", "unexpected path"},
		{"redis+sentinel://s1:26379/0/m?bogus=1", "unexpected option: bogus"},
		{"redis+sentinel://s1:26379?skip_verify=1", "unexpected option: skip_verify"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			got, err := redisurl.Parse(tt.url)
			require.Error(t, err)
			assert.Nil(t, got)
			assert.ErrorIs(t, err, redisurl.ErrInvalidURL)
			assert.Contains(t, err.Error(), tt.reason)
			assert.True(t, strings.HasPrefix(err.Error(), "redisurl: invalid URL "), err.Error())
			var ue *redisurl.Error
			require.ErrorAs(t, err, &ue)
			assert.Equal(t, redisurl.Redact(strings.TrimSpace(tt.url)), ue.URL)

			_, err = redisurl.NewClient(tt.url)
			assert.ErrorIs(t, err, redisurl.ErrInvalidURL)
		})
	}
}

// TestErrorsNeverEchoThePassword breaks URLs in many ways around passwords
// full of delimiters and checks that no error mentions the password.
func TestErrorsNeverEchoThePassword(t *testing.T) {
	t.Parallel()
	passwords := []string{
		"hunter2", "p/ss", "p@ss", "p#ss", "p?ss", "p:ss", "424242", "a,b", "p%ss", "p ss",
		"hunter2/xyzzy", "hunter2?xyzzy", "hunter2#xyzzy", "hunter2@xyzzy", "1234/xyzzy", "hunter2,xyzzy",
	}
	templates := []string{
		"redis://user:PW@cache:abc",
		"redis://user:PW@cache:99999",
		"redis://user:PW@cache/x",
		"redis://user:PW@cache?nope=1",
		"redis://:PW@cache/1/2",
		"rediss://user:PW@cache:6379/-1",
		"valkey://PW@cache:0",
		"unix://user:PW@relative/sock",
		"unix://user:PW@/tmp/sock?db=x",
		"http://user:PW@cache",
		"redis+sentinel://user:PW@",
		"redis+sentinel://user:PW@s1:x",
		"redis+sentinel://user:PW@s1:26379/x",
		"redis+sentinel://user:PW@s1:26379,s2:port",
		"redis://:12/PW@cache",
		"redis+sentinel://:PW/x@s1:26379",
		"redis+sentinel://user:PW@s1:26379/0/m?bogus=1",
		"redis+sentinel://s1:26379/0/m?sentinel_password=PW&bogus=1",
		"redis+sentinel://s1:26379/z?sentinel_password=PW",
	}
	for _, pw := range passwords {
		for _, tmpl := range templates {
			raw := strings.ReplaceAll(tmpl, "PW", pw)
			_, err := redisurl.Parse(raw)
			if err == nil {
				continue // an unescaped delimiter can turn a bad URL into a good one
			}
			assert.NotContainsf(t, err.Error(), pw, "URL %q", raw)
			for _, piece := range []string{"hunter2", "xyzzy"} {
				if strings.Contains(pw, piece) {
					assert.NotContainsf(t, err.Error(), piece, "URL %q", raw)
				}
			}
			assert.ErrorIs(t, err, redisurl.ErrInvalidURL)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"redis://cache:6379/0", "redis://cache:6379/0"},
		{"redis://app:s3cret@cache:6379/0", "redis://app:***@cache:6379/0"},
		{"redis://:s3cret@cache", "redis://:***@cache"},
		{"redis://s3cret@cache", "redis://***@cache"},
		{"redis://app:p/ss@cache:6379", "redis://app:***@cache:6379"},
		{"redis://app:p@ss@cache", "redis://app:***@cache"},
		{"redis://app:p#ss@cache", "redis://app:***@cache"},
		{"redis+sentinel://u:pw@s1:26379,s2:26379/0/m?sentinel_password=sp&dial_timeout=1", "redis+sentinel://u:***@s1:26379,s2:26379/0/m?sentinel_password=***&dial_timeout=1"},
		{"redis://cache?Sentinel_Password=x#f", "redis://cache?Sentinel_Password=***"},
		{"redis://:hunter2@xyzzy/x@s1:26379", "redis://:***@s1:26379"},
		{"redis+sentinel://s1:26379/z?sentinel_password=hunter2@xyzzy", "redis+sentinel://s1:***"},
		{"redis+sentinel://s1:26379/0?sentinel_password=a#b&x=1", "redis+sentinel://s1:26379/0?sentinel_password=***&x=1"},
		{"redis://u:p?password=1@host", "redis://u:***"},
		{"redis://u:@host", "redis://u:***@host"},
		{"not a url", "not a url"},
		{"", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, redisurl.Redact(tt.in), tt.in)
	}
}

func TestNewClient(t *testing.T) {
	t.Parallel()
	mr := miniredis.RunT(t)
	mr.RequireAuth("s3cret")

	c, err := redisurl.NewClient("redis://:s3cret@" + mr.Addr() + "/0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.Ping(ctx).Err())

	bad, err := redisurl.NewClient("redis://:wrong@" + mr.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = bad.Close() })
	require.Error(t, bad.Ping(ctx).Err())
}

func TestNewClientSentinelIsFailover(t *testing.T) {
	t.Parallel()
	c, err := redisurl.NewClient("redis+sentinel://127.0.0.1:1/0/m")
	require.NoError(t, err)
	defer c.Close()
	// A failover client is a *redis.Client whose String names the master.
	_, isClient := c.(*redis.Client)
	assert.True(t, isClient)
	assert.Contains(t, c.(*redis.Client).String(), "FailoverClient")
}

func TestErrorType(t *testing.T) {
	t.Parallel()
	_, err := redisurl.Parse("redis://u:pw@cache:0")
	var ue *redisurl.Error
	require.True(t, errors.As(err, &ue))
	assert.Equal(t, "redis://u:***@cache:0", ue.URL)
	assert.Equal(t, `invalid port "0" (want 1-65535)`, ue.Reason)
	assert.Equal(t, `redisurl: invalid URL "redis://u:***@cache:0": invalid port "0" (want 1-65535)`, err.Error())
}

func TestDialerRetriesDefaultAndOverride(t *testing.T) {
	t.Parallel()
	got, err := redisurl.Parse("redis://localhost:6379/0")
	require.NoError(t, err)
	assert.Equal(t, 1, got.DialerRetries, "a failed dial fails at once; the gateway's writer retries")
}

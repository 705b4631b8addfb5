package config_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sockgate/sockgate/auth"
	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/config"
	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/transport/redisurl"
)

// env is a lookup over a map.
func env(kv map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := kv[k]
		return v, ok
	}
}

func TestDefault(t *testing.T) {
	t.Parallel()
	want := config.Config{Channel: "socketio", Dialect: codec.Current, QueueSize: 16384, UserRoom: "user:{id}",
		Transport: "redis", NATSURL: "nats://127.0.0.1:4222", Stream: "SOCKGATE", StreamMaxLen: 100000,
		NodeID: config.Default().NodeID, ResumeGrace: 5 * time.Second, Delivery: gateway.AtLeastOnce}
	assert.NotEmpty(t, want.NodeID, "the host name")
	assert.Equal(t, want, config.Default())
	require.NoError(t, config.Default().Validate())

	for _, lookup := range []func(string) (string, bool){nil, env(nil), env(map[string]string{
		config.EnvRedisURL: "", config.EnvChannel: "", config.EnvDialect: "", config.EnvQueueSize: "", config.EnvUserRoom: "",
	})} {
		got, err := config.FromLookup(lookup)
		require.NoError(t, err)
		assert.Equal(t, want, got, "unset and empty variables take their defaults")
	}
}

func TestFromLookupGood(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key, value string
		check      func(t *testing.T, c config.Config)
	}{
		{config.EnvRedisURL, "redis://localhost:6379/0", func(t *testing.T, c config.Config) { assert.Equal(t, "redis://localhost:6379/0", c.RedisURL) }},
		{config.EnvRedisURL, "rediss://:pw@cache:6380/1", func(t *testing.T, c config.Config) { assert.Equal(t, "rediss://:pw@cache:6380/1", c.RedisURL) }},
		{config.EnvRedisURL, "unix:///run/redis.sock?db=2", func(t *testing.T, c config.Config) { assert.Equal(t, "unix:///run/redis.sock?db=2", c.RedisURL) }},
		{config.EnvRedisURL, "valkey://vk", func(t *testing.T, c config.Config) { assert.Equal(t, "valkey://vk", c.RedisURL) }},
		{config.EnvRedisURL, "redis+sentinel://s1:26379,s2:26379/0/m", func(t *testing.T, c config.Config) {
			assert.Equal(t, "redis+sentinel://s1:26379,s2:26379/0/m", c.RedisURL)
		}},
		{config.EnvChannel, "flask-socketio", func(t *testing.T, c config.Config) { assert.Equal(t, "flask-socketio", c.Channel) }},
		{config.EnvChannel, "my channel", func(t *testing.T, c config.Config) { assert.Equal(t, "my channel", c.Channel) }},
		{config.EnvDialect, "current", func(t *testing.T, c config.Config) { assert.Equal(t, codec.Current, c.Dialect) }},
		{config.EnvDialect, "v5.14", func(t *testing.T, c config.Config) { assert.Equal(t, codec.V514, c.Dialect) }},
		{config.EnvDialect, "legacy", func(t *testing.T, c config.Config) { assert.Equal(t, codec.Legacy, c.Dialect) }},
		{config.EnvDialect, "5.7.2", func(t *testing.T, c config.Config) { assert.Equal(t, codec.Legacy, c.Dialect) }},
		{config.EnvDialect, "5.14.3", func(t *testing.T, c config.Config) { assert.Equal(t, codec.V514, c.Dialect) }},
		{config.EnvDialect, "v5.16.0", func(t *testing.T, c config.Config) { assert.Equal(t, codec.Current, c.Dialect) }},
		{config.EnvQueueSize, "1", func(t *testing.T, c config.Config) { assert.Equal(t, 1, c.QueueSize) }},
		{config.EnvQueueSize, "1024", func(t *testing.T, c config.Config) { assert.Equal(t, 1024, c.QueueSize) }},
		{config.EnvQueueSize, "16777216", func(t *testing.T, c config.Config) { assert.Equal(t, 16777216, c.QueueSize) }},
		{config.EnvUserRoom, "u-{id}", func(t *testing.T, c config.Config) { assert.Equal(t, "u-{id}", c.UserRoom) }},
		{config.EnvUserRoom, "{id}", func(t *testing.T, c config.Config) { assert.Equal(t, "{id}", c.UserRoom) }},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			t.Parallel()
			c, err := config.FromLookup(env(map[string]string{tt.key: tt.value}))
			require.NoError(t, err)
			tt.check(t, c)
			require.NoError(t, c.Validate())
		})
	}
}

func TestFromLookupBad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key, value string
		want       string // the whole message
	}{
		{config.EnvRedisURL, "http://cache", `config: REDIS_URL="http://cache": unsupported scheme "http" (want redis, rediss, unix, valkey, valkeys, redis+sentinel or valkey+sentinel)`},
		{config.EnvRedisURL, "redis://app:s3cret@cache:99999/0", `config: REDIS_URL="redis://app:***@cache:99999/0": invalid port "99999" (want 1-65535)`},
		{config.EnvRedisURL, "redis://:s3cret@cache/x", `config: REDIS_URL="redis://:***@cache/x": invalid database number "x" (want a whole number >= 0)`},
		{config.EnvRedisURL, "redis+sentinel://:s3cret@/0/m", `config: REDIS_URL="redis+sentinel://:***@/0/m": empty Sentinel host list (want host1:26379,host2:26379)`},
		{config.EnvRedisURL, "localhost:6379", `config: REDIS_URL="localhost:6379": missing scheme (want a URL such as redis://localhost:6379/0)`},
		{config.EnvChannel, " socketio", `config: SOCKET_REDIS_CHANNEL=" socketio": leading or trailing white space in channel name`},
		{config.EnvChannel, "socketio\r", `config: SOCKET_REDIS_CHANNEL="socketio\r": leading or trailing white space in channel name`},
		{config.EnvChannel, "sock\x00io", `config: SOCKET_REDIS_CHANNEL="sock\x00io": control character in channel name`},
		{config.EnvDialect, "modern", `config: SOCKET_DIALECT="modern": unknown dialect (want current, v5.14, legacy or a python-socketio version such as 5.7.2; versions before 5.0 are not supported)`},
		{config.EnvDialect, "4.6.1", `config: SOCKET_DIALECT="4.6.1": unknown dialect (want current, v5.14, legacy or a python-socketio version such as 5.7.2; versions before 5.0 are not supported)`},
		{config.EnvQueueSize, "abc", `config: SOCKET_QUEUE_SIZE="abc": not a whole number`},
		{config.EnvQueueSize, "1.5", `config: SOCKET_QUEUE_SIZE="1.5": not a whole number`},
		{config.EnvQueueSize, " 10", `config: SOCKET_QUEUE_SIZE=" 10": not a whole number`},
		{config.EnvQueueSize, "0", `config: SOCKET_QUEUE_SIZE="0": out of range (want 1 to 16777216)`},
		{config.EnvQueueSize, "-5", `config: SOCKET_QUEUE_SIZE="-5": out of range (want 1 to 16777216)`},
		{config.EnvQueueSize, "16777217", `config: SOCKET_QUEUE_SIZE="16777217": out of range (want 1 to 16777216)`},
		{config.EnvQueueSize, "99999999999999999999999", `config: SOCKET_QUEUE_SIZE="99999999999999999999999": out of range (want 1 to 16777216)`},
		{config.EnvUserRoom, "user", `config: SOCKET_USER_ROOM="user": must contain "{id}" exactly once (e.g. "user:{id}")`},
		{config.EnvUserRoom, "{id}:{id}", `config: SOCKET_USER_ROOM="{id}:{id}": must contain "{id}" exactly once (e.g. "user:{id}")`},
		{config.EnvUserRoom, "user:{ID}", `config: SOCKET_USER_ROOM="user:{ID}": must contain "{id}" exactly once (e.g. "user:{id}")`},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			t.Parallel()
			_, err := config.FromLookup(env(map[string]string{tt.key: tt.value}))
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			assert.ErrorIs(t, err, config.ErrInvalid)
			var se *config.SettingError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tt.key, se.Var)
			assert.NotContains(t, err.Error(), "s3cret")
		})
	}
}

func TestFromLookupCollectsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := config.FromLookup(env(map[string]string{
		config.EnvRedisURL:  "redis://u:s3cret@cache:0",
		config.EnvChannel:   "bad\n",
		config.EnvDialect:   "nope",
		config.EnvQueueSize: "lots",
		config.EnvUserRoom:  "static",
	}))
	require.Error(t, err)
	assert.ErrorIs(t, err, config.ErrInvalid)
	assert.ErrorIs(t, err, redisurl.ErrInvalidURL)
	assert.ErrorIs(t, err, codec.ErrDialect)
	assert.NotContains(t, err.Error(), "s3cret")

	var joined interface{ Unwrap() []error }
	require.ErrorAs(t, err, &joined)
	var vars []string
	for _, e := range joined.Unwrap() {
		var se *config.SettingError
		require.ErrorAs(t, e, &se)
		vars = append(vars, se.Var)
	}
	assert.ElementsMatch(t, []string{config.EnvRedisURL, config.EnvChannel, config.EnvDialect, config.EnvQueueSize, config.EnvUserRoom}, vars)
	assert.Len(t, strings.Split(err.Error(), "\n"), 5, "one line per problem")
}

func TestFromEnv(t *testing.T) { // t.Setenv: not parallel
	t.Setenv(config.EnvRedisURL, "redis://cache:6379/1")
	t.Setenv(config.EnvChannel, "events")
	t.Setenv(config.EnvDialect, "5.13.0")
	t.Setenv(config.EnvQueueSize, "100")
	t.Setenv(config.EnvUserRoom, "member/{id}")
	c, err := config.FromEnv()
	require.NoError(t, err)
	want := config.Default()
	want.RedisURL, want.Channel, want.Dialect, want.QueueSize, want.UserRoom =
		"redis://cache:6379/1", "events", codec.Legacy, 100, "member/{id}"
	assert.Equal(t, want, c)

	t.Setenv(config.EnvQueueSize, "x")
	_, err = config.FromEnv()
	assert.ErrorIs(t, err, config.ErrInvalid)
}

func TestValidate(t *testing.T) {
	t.Parallel()
	bad := config.Config{RedisURL: "ftp://x", Channel: "", Dialect: codec.Dialect(9), QueueSize: 0, UserRoom: ""}
	err := bad.Validate()
	require.Error(t, err)
	assert.ErrorIs(t, err, config.ErrInvalid)
	for _, v := range []string{config.EnvRedisURL, config.EnvChannel, config.EnvDialect, config.EnvQueueSize, config.EnvUserRoom} {
		assert.Contains(t, err.Error(), "config: "+v+"=")
	}
	assert.Contains(t, err.Error(), `config: SOCKET_DIALECT="Dialect(9)"`)
	assert.Contains(t, err.Error(), `config: SOCKET_QUEUE_SIZE="0": out of range`)
}

func TestRedisOptions(t *testing.T) {
	t.Parallel()
	opts, err := config.Default().RedisOptions()
	require.NoError(t, err)
	assert.Nil(t, opts, "no REDIS_URL, no broker")

	c := config.Default()
	c.RedisURL = "redis://:pw@cache:6380/2"
	opts, err = c.RedisOptions()
	require.NoError(t, err)
	assert.Equal(t, []string{"cache:6380"}, opts.Addrs)
	assert.Equal(t, 2, opts.DB)
	assert.Equal(t, "pw", opts.Password)

	// python-socketio's default Sentinel service name is its channel.
	c.Channel = "events"
	c.RedisURL = "redis+sentinel://s1:26379,s2:26379/0"
	opts, err = c.RedisOptions()
	require.NoError(t, err)
	assert.Equal(t, "events", opts.MasterName)
	c.RedisURL = "redis+sentinel://s1:26379/0/named"
	opts, err = c.RedisOptions()
	require.NoError(t, err)
	assert.Equal(t, "named", opts.MasterName)

	c.RedisURL = "redis://:s3cret@cache:0"
	opts, err = c.RedisOptions()
	assert.Nil(t, opts)
	assert.ErrorIs(t, err, config.ErrInvalid)
	assert.ErrorIs(t, err, redisurl.ErrInvalidURL)
	assert.Equal(t, `config: REDIS_URL="redis://:***@cache:0": invalid port "0" (want 1-65535)`, err.Error())
}

func TestUserRoomFor(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "user:42", config.Default().UserRoomFor("42"))
	assert.Equal(t, "user:", config.Default().UserRoomFor(""))
	assert.Equal(t, "user:{id}", config.Default().UserRoomFor("{id}"), "replaced once, not recursively")
	assert.Equal(t, "tenant/a/user/42/inbox", config.Config{UserRoom: "tenant/a/user/{id}/inbox"}.UserRoomFor("42"))
	assert.Equal(t, "user:7", config.Config{}.UserRoomFor("7"), "empty template means the default")
}

func TestPrintingRedactsPassword(t *testing.T) {
	t.Parallel()
	c := config.Default()
	c.RedisURL = "redis://app:s3cret@cache:6379/0"
	for _, s := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%v", c)} {
		assert.NotContains(t, s, "s3cret")
		assert.Contains(t, s, `REDIS_URL="redis://app:***@cache:6379/0"`)
	}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("config", "config", c)
	assert.NotContains(t, b.String(), "s3cret")
	assert.Contains(t, b.String(), "config.redis_url=redis://app:***@cache:6379/0")
	assert.Contains(t, b.String(), "config.queue_size=16384")
}

func TestSettingErrorUnwrap(t *testing.T) {
	t.Parallel()
	cause := errors.New("cause")
	e := &config.SettingError{Var: "X", Value: "v", Reason: "r", Err: cause}
	assert.ErrorIs(t, e, config.ErrInvalid)
	assert.ErrorIs(t, e, cause)
	assert.Equal(t, `config: X="v": r`, e.Error())
}

func TestAuthSecret(t *testing.T) {
	t.Parallel()
	c, err := config.FromLookup(env(map[string]string{config.EnvAuthSecret: ""}))
	require.NoError(t, err)
	assert.Empty(t, c.AuthSecret, "unset or empty: no token auth")
	h, err := c.Authenticator()
	require.NoError(t, err)
	assert.Nil(t, h)

	secret := strings.Repeat("k", 32)
	c, err = config.FromLookup(env(map[string]string{config.EnvAuthSecret: secret}))
	require.NoError(t, err)
	assert.Equal(t, secret, c.AuthSecret)
	require.NoError(t, c.Validate())
	h, err = c.Authenticator()
	require.NoError(t, err)
	require.NotNil(t, h)
	tok, err := h.Mint("42", time.Minute)
	require.NoError(t, err)
	claims, err := h.Verify(tok)
	require.NoError(t, err)
	assert.Equal(t, "42", claims.User)

	short := "s3cret-but-only-31-bytes-long!!"
	require.Len(t, short, 31)
	c, err = config.FromLookup(env(map[string]string{config.EnvAuthSecret: short}))
	require.Error(t, err)
	assert.Empty(t, c.AuthSecret)
	assert.Equal(t, `config: SOCKET_AUTH_SECRET="***": secret too short: 31 bytes, want at least 32 (e.g. openssl rand -base64 48)`, err.Error())
	assert.ErrorIs(t, err, config.ErrInvalid)
	assert.ErrorIs(t, err, auth.ErrSecret)
	var se *config.SettingError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, config.EnvAuthSecret, se.Var)

	c = config.Default()
	c.AuthSecret = short
	err = c.Validate()
	require.ErrorIs(t, err, auth.ErrSecret)
	assert.Contains(t, err.Error(), "config: SOCKET_AUTH_SECRET=")
	assert.NotContains(t, err.Error(), short)
	_, err = c.Authenticator()
	require.ErrorIs(t, err, auth.ErrSecret)
	assert.NotContains(t, err.Error(), short)
}

func TestPrintingHidesAuthSecret(t *testing.T) {
	t.Parallel()
	c := config.Default()
	assert.Contains(t, c.String(), "SOCKET_AUTH_SECRET=unset")
	c.AuthSecret = "s3cret-s3cret-s3cret-s3cret-s3cret"
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("config", "config", c)
	for _, s := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), b.String()} {
		assert.NotContains(t, s, "s3cret")
	}
	assert.Contains(t, c.String(), "SOCKET_AUTH_SECRET=set")
	assert.Contains(t, b.String(), "config.auth_secret=set")
}

func TestTransportSettings(t *testing.T) {
	t.Parallel()
	c, err := config.FromLookup(env(map[string]string{
		config.EnvTransport: "jetstream", config.EnvNATSURL: "nats://broker:4222", config.EnvStream: "APP_EVENTS",
		config.EnvStreamMaxLen: "5000", config.EnvNodeID: "web-1",
	}))
	require.NoError(t, err)
	assert.Equal(t, "jetstream", c.Transport)
	assert.Equal(t, "nats://broker:4222", c.NATSURL)
	assert.Equal(t, "APP_EVENTS", c.Stream)
	assert.Equal(t, int64(5000), c.StreamMaxLen)
	assert.Equal(t, "web-1", c.NodeID)
	require.NoError(t, c.Validate())

	for key, bad := range map[string]string{
		config.EnvTransport:    "kafka",
		config.EnvNATSURL:      "http://broker",
		config.EnvStream:       "a.b",
		config.EnvStreamMaxLen: "0",
		config.EnvNodeID:       "web 1",
	} {
		_, err := config.FromLookup(env(map[string]string{key: bad}))
		var se *config.SettingError
		require.ErrorAs(t, err, &se, "%s=%q", key, bad)
		assert.Equal(t, key, se.Var, "the error names the variable")
		assert.ErrorIs(t, err, config.ErrInvalid)
	}
}

func TestDeliverySettings(t *testing.T) {
	t.Parallel()
	c, err := config.FromLookup(env(map[string]string{config.EnvResumeGrace: "1500ms", config.EnvDelivery: "at-most-once"}))
	require.NoError(t, err)
	assert.Equal(t, 1500*time.Millisecond, c.ResumeGrace)
	assert.Equal(t, gateway.AtMostOnce, c.Delivery)
	require.NoError(t, c.Validate())
	c, err = config.FromLookup(env(map[string]string{config.EnvResumeGrace: "0"}))
	require.NoError(t, err)
	assert.Zero(t, c.ResumeGrace, "0 holds nothing")

	for key, bad := range map[string]string{
		config.EnvResumeGrace: "5",
		config.EnvDelivery:    "exactly-once",
	} {
		_, err := config.FromLookup(env(map[string]string{key: bad}))
		var se *config.SettingError
		require.ErrorAs(t, err, &se, "%s=%q", key, bad)
		assert.Equal(t, key, se.Var, "the error names the variable")
		assert.Equal(t, bad, se.Value)
		assert.ErrorIs(t, err, config.ErrInvalid)
	}
	for _, bad := range []string{"-1s", "11m"} {
		_, err := config.FromLookup(env(map[string]string{config.EnvResumeGrace: bad}))
		assert.ErrorContains(t, err, "out of range (want 0 to 10m0s)", bad)
	}
	c = config.Default()
	c.Delivery = gateway.Delivery(9)
	c.ResumeGrace = -time.Second
	err = c.Validate()
	assert.ErrorContains(t, err, config.EnvDelivery)
	assert.ErrorContains(t, err, config.EnvResumeGrace)
}

// TestAuthKeys reads a PEM file and a JWKS file into one verifier, and
// names the variable of each bad setting.
func TestAuthKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	pemFile := filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600))
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	b, _ := ec.PublicKey.Bytes()
	enc := base64.RawURLEncoding.EncodeToString
	jwksFile := filepath.Join(dir, "jwks.json")
	require.NoError(t, os.WriteFile(jwksFile, fmt.Appendf(nil, `{"keys":[{"kty":"EC","crv":"P-256","kid":"e1","x":%q,"y":%q}]}`, enc(b[1:33]), enc(b[33:])), 0o600))
	secret := strings.Repeat("k", 32)

	c, err := config.FromLookup(env(map[string]string{
		config.EnvAuthPublicKey: pemFile, config.EnvAuthJWKS: jwksFile, config.EnvAuthSecret: secret,
		config.EnvAuthAlgorithms: "EdDSA, ES256,HS256", config.EnvAuthUserClaim: "uid",
	}))
	require.NoError(t, err)
	assert.Equal(t, []string{"EdDSA", "ES256", "HS256"}, c.AuthAlgorithms)
	require.NoError(t, c.Validate())
	v, err := c.Verifier()
	require.NoError(t, err)
	ks := v.(*auth.KeySet)
	assert.Equal(t, []string{"EdDSA", "ES256", "HS256"}, ks.Algorithms())
	require.Len(t, ks.Keys(), 2, "the PEM key, then the JWKS file's")

	now := time.Now().Unix()
	claims := jwt.MapClaims{"uid": "9", "iat": now, "exp": now + 60}
	edTok, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims).SignedString(priv)
	require.NoError(t, err)
	esJWT := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	esJWT.Header["kid"] = "e1"
	esTok, err := esJWT.SignedString(ec)
	require.NoError(t, err)
	h, err := c.Authenticator()
	require.NoError(t, err)
	hsTok, err := h.Mint("9", time.Minute)
	require.NoError(t, err)
	for _, tok := range []string{edTok, esTok, hsTok} {
		got, err := v.Verify(tok)
		require.NoError(t, err)
		assert.Equal(t, "9", got.User, "the user claim is uid, also in minted tokens")
	}

	none, err := config.Default().Verifier()
	require.NoError(t, err)
	assert.Nil(t, none, "nothing configured: no verifier")

	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"unknown alg", map[string]string{config.EnvAuthPublicKey: pemFile, config.EnvAuthAlgorithms: "RS256,none"},
			`config: SOCKET_AUTH_ALGS="RS256,none": unknown algorithm "none" (want a comma-separated list of HS256, RS256, ES256, EdDSA)`},
		{"HS256 without secret", map[string]string{config.EnvAuthJWKS: jwksFile, config.EnvAuthAlgorithms: "HS256"},
			`config: SOCKET_AUTH_ALGS="HS256": HS256 needs SOCKET_AUTH_SECRET`},
		{"RS256 without keys", map[string]string{config.EnvAuthSecret: secret, config.EnvAuthAlgorithms: "RS256"},
			`config: SOCKET_AUTH_ALGS="RS256": RS256 needs SOCKET_AUTH_PUBLIC_KEY or SOCKET_AUTH_JWKS`},
		{"date as user claim", map[string]string{config.EnvAuthUserClaim: "exp"},
			`config: SOCKET_AUTH_USER_CLAIM="exp": user claim "exp" is a date claim`},
	} {
		_, err := config.FromLookup(env(tc.env))
		require.ErrorIs(t, err, config.ErrInvalid, tc.name)
		assert.EqualError(t, err, tc.want, tc.name)
	}

	for _, tc := range []struct {
		name, varName, path, want string
	}{
		{"missing PEM", config.EnvAuthPublicKey, filepath.Join(dir, "nope.pem"), "open " + filepath.Join(dir, "nope.pem") + ": no such file or directory"},
		{"JWKS as PEM", config.EnvAuthPublicKey, jwksFile, "auth: invalid key: no PEM block"},
		{"PEM as JWKS", config.EnvAuthJWKS, pemFile, `auth: invalid key: JWKS is not a JSON object with "keys": invalid character '-' in numeric literal`},
	} {
		c, err := config.FromLookup(env(map[string]string{tc.varName: tc.path}))
		require.NoError(t, err, "files are read by KeySetConfig, not FromLookup")
		_, err = c.Verifier()
		var se *config.SettingError
		require.ErrorAs(t, err, &se, tc.name)
		assert.Equal(t, tc.varName, se.Var, tc.name)
		assert.EqualError(t, err, fmt.Sprintf("config: %s=%q: %s", tc.varName, tc.path, tc.want), tc.name)
	}
}

package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/redis/go-redis/v9"

	"github.com/sockgate/sockgate/auth"
	"github.com/sockgate/sockgate/codec"
	"github.com/sockgate/sockgate/gateway"
	"github.com/sockgate/sockgate/transport/redisurl"
)

// The environment variables, the only place their names are spelled.
const (
	// EnvRedisURL is the broker URL (see redisurl.Parse); unset or empty
	// means no broker.
	EnvRedisURL = "REDIS_URL"
	// EnvChannel is the Redis pub/sub channel shared with the
	// python-socketio servers.
	EnvChannel = "SOCKET_REDIS_CHANNEL"
	// EnvDialect is the message format, by python-socketio version.
	EnvDialect = "SOCKET_DIALECT"
	// EnvQueueSize is the capacity of a worker's send queue, in messages.
	EnvQueueSize = "SOCKET_QUEUE_SIZE"
	// EnvUserRoom is the template of a user's room name.
	EnvUserRoom = "SOCKET_USER_ROOM"
	// EnvAuthSecret is the HMAC secret of the signed user tokens (package
	// auth); unset or empty means no token authentication is configured.
	EnvAuthSecret = "SOCKET_AUTH_SECRET"
	// EnvTransport chooses the broker transport: redis, redis-streams,
	// nats, jetstream or memory.
	EnvTransport = "SOCKET_TRANSPORT"
	// EnvNATSURL is the NATS server URL of the nats and jetstream
	// transports.
	EnvNATSURL = "NATS_URL"
	// EnvStream is the Redis stream prefix / JetStream stream name of the
	// persistent transports.
	EnvStream = "SOCKET_STREAM"
	// EnvStreamMaxLen caps the persistent transports' retention, in
	// messages.
	EnvStreamMaxLen = "SOCKET_STREAM_MAXLEN"
	// EnvNodeID is a server node's durable consumer name on the persistent
	// transports, stable across its restarts.
	EnvNodeID = "SOCKET_NODE_ID"
	// EnvResumeGrace bounds how long a worker holds its backlog after a
	// broker outage until the subscribers are back (a Go duration).
	EnvResumeGrace = "SOCKET_RESUME_GRACE"
	// EnvDelivery is a worker's delivery guarantee for a publish with an
	// unknown outcome: at-least-once or at-most-once.
	EnvDelivery = "SOCKET_DELIVERY"
	// EnvAuthPublicKey is the path of a PEM file of public keys (RS256,
	// ES256, EdDSA) that verify user tokens.
	EnvAuthPublicKey = "SOCKET_AUTH_PUBLIC_KEY"
	// EnvAuthJWKS is the path of a JSON Web Key Set file whose keys verify
	// user tokens; it is read again when it changes.
	EnvAuthJWKS = "SOCKET_AUTH_JWKS"
	// EnvAuthAlgorithms lists the accepted token algorithms,
	// comma-separated.
	EnvAuthAlgorithms = "SOCKET_AUTH_ALGS"
	// EnvAuthUserClaim is the token claim that holds the user ID.
	EnvAuthUserClaim = "SOCKET_AUTH_USER_CLAIM"
)

// Defaults and limits.
const (
	// DefaultChannel is python-socketio's default channel.
	DefaultChannel = "socketio"
	// DefaultQueueSize is the default send queue capacity.
	DefaultQueueSize = 16384
	// MaxQueueSize is the largest accepted queue capacity (2^24).
	MaxQueueSize = 1 << 24
	// UserIDPlaceholder is replaced by the user ID in UserRoom.
	UserIDPlaceholder = "{id}"
	// DefaultTransport is Redis pub/sub, python-socketio's own.
	DefaultTransport = TransportRedis
	// DefaultNATSURL is a local NATS server.
	DefaultNATSURL = "nats://127.0.0.1:4222"
	// DefaultStream is the default JetStream stream name.
	DefaultStream = "SOCKGATE"
	// DefaultStreamMaxLen is the default retention of the persistent
	// transports, in messages.
	DefaultStreamMaxLen = 100_000
	// DefaultUserRoom is the default user room template.
	DefaultUserRoom = "user:" + UserIDPlaceholder
	// DefaultResumeGrace is gateway.DefaultResumeGrace (5 s).
	DefaultResumeGrace = gateway.DefaultResumeGrace
	// MaxResumeGrace is the longest accepted resume grace.
	MaxResumeGrace = 10 * time.Minute
	// DefaultDelivery is at-least-once.
	DefaultDelivery = gateway.AtLeastOnce
)

// Config holds sockgate's settings. Build it with FromEnv, FromLookup or
// Default (then change fields and call Validate).
//
// Its String and LogValue methods redact the password in RedisURL, so a
// Config can be printed or logged.
type Config struct {
	// RedisURL is the broker URL (REDIS_URL): redis://, rediss://,
	// unix://, valkey://, valkeys:// or redis+sentinel:// (see
	// redisurl.Parse). "" (the default) means no broker: run local-only.
	RedisURL string
	// Channel is the Redis pub/sub channel (SOCKET_REDIS_CHANNEL), the
	// one the python-socketio servers' RedisManager uses. Default
	// "socketio". It must not be empty, start or end with white space,
	// or hold control characters.
	Channel string
	// Dialect is the message format (SOCKET_DIALECT): "current" (the
	// default, python-socketio 5.15.1 and later), "v5.14", "legacy" or a
	// python-socketio version such as "5.7.2" (see codec.ParseDialect).
	Dialect codec.Dialect
	// QueueSize is the capacity of a worker's send queue in messages
	// (SOCKET_QUEUE_SIZE), 1 to MaxQueueSize. Default 16384.
	QueueSize int
	// UserRoom is the template of a user's room (SOCKET_USER_ROOM):
	// "{id}" is replaced by the user ID and must appear exactly once.
	// Default "user:{id}".
	UserRoom string
	// AuthSecret is the HMAC-SHA256 secret that signs and verifies user
	// tokens (SOCKET_AUTH_SECRET), at least auth.MinSecretLen (32) bytes,
	// used as given (bytes of the string, no decoding). "" (the default)
	// means no token authentication is configured. It is never printed:
	// String, GoString and LogValue show only whether it is set.
	AuthSecret string
	// Transport is the broker transport (SOCKET_TRANSPORT): one of
	// Transports. Default "redis" (pub/sub in python-socketio's format).
	Transport string
	// NATSURL is the NATS server of the nats and jetstream transports
	// (NATS_URL). Default "nats://127.0.0.1:4222".
	NATSURL string
	// Stream is the JetStream stream name (SOCKET_STREAM); default
	// "SOCKGATE". Letters, digits, "-" and "_" only.
	Stream string
	// StreamMaxLen caps the retention of the persistent transports, in
	// messages (SOCKET_STREAM_MAXLEN); default 100000.
	StreamMaxLen int64
	// NodeID is this server node's durable consumer name on the
	// persistent transports (SOCKET_NODE_ID); default the host name.
	NodeID string
	// ResumeGrace bounds how long a worker, after a broker outage, holds
	// its backlog until as many subscribers are back as before
	// (SOCKET_RESUME_GRACE, a Go duration such as "5s" or "1500ms"); see
	// gateway.WorkerConfig.ResumeGrace. 0 to MaxResumeGrace; 0 holds
	// nothing. Default 5s. Redis pub/sub only.
	ResumeGrace time.Duration
	// Delivery is what a worker does with a batch whose publish failed
	// with an unknown outcome (SOCKET_DELIVERY): "at-least-once" (the
	// default) sends it again, "at-most-once" drops and counts it; see
	// gateway.Delivery.
	Delivery gateway.Delivery
	// AuthPublicKeyFile is the path of a PEM file of public keys that
	// verify user tokens (SOCKET_AUTH_PUBLIC_KEY; see auth.ParsePEM): RSA
	// (RS256), ECDSA P-256 (ES256) or Ed25519 (EdDSA) keys, as "PUBLIC
	// KEY", "RSA PUBLIC KEY" or "CERTIFICATE" blocks. It is read by
	// KeySetConfig and Verifier. "" (the default): none.
	AuthPublicKeyFile string
	// AuthJWKSFile is the path of a JSON Web Key Set file
	// (SOCKET_AUTH_JWKS; see auth.ParseJWKS), as an identity provider
	// publishes it; its keys are chosen by the token's "kid", and the file
	// is read again when it changes (auth.KeySetConfig.JWKSFile). ""
	// (the default): none.
	AuthJWKSFile string
	// AuthAlgorithms are the accepted token algorithms
	// (SOCKET_AUTH_ALGS, comma-separated), a subset of auth.Algorithms.
	// Default (nil): those of the keys configured (HS256 with
	// AuthSecret; RS256, ES256, EdDSA as the keys are). HS256 needs
	// AuthSecret, the others AuthPublicKeyFile or AuthJWKSFile.
	AuthAlgorithms []string
	// AuthUserClaim is the token claim that holds the user ID
	// (SOCKET_AUTH_USER_CLAIM; see auth.CheckUserClaim); "" (the default)
	// means "sub". Tokens minted by Authenticator carry it.
	AuthUserClaim string
}

// The transports SOCKET_TRANSPORT accepts.
const (
	TransportRedis        = "redis"
	TransportRedisStreams = "redis-streams"
	TransportNATS         = "nats"
	TransportJetStream    = "jetstream"
	TransportMemory       = "memory"
)

// Transports lists the accepted SOCKET_TRANSPORT values.
var Transports = []string{TransportRedis, TransportRedisStreams, TransportNATS, TransportJetStream, TransportMemory}

// Default returns the configuration used when no variable is set.
func Default() Config {
	return Config{
		Channel:   DefaultChannel,
		Dialect:   codec.Current,
		QueueSize: DefaultQueueSize,
		UserRoom:  DefaultUserRoom,

		Transport:    DefaultTransport,
		NATSURL:      DefaultNATSURL,
		Stream:       DefaultStream,
		StreamMaxLen: DefaultStreamMaxLen,
		NodeID:       defaultNodeID(),

		ResumeGrace: DefaultResumeGrace,
		Delivery:    DefaultDelivery,
	}
}

func checkResumeGrace(d time.Duration) error {
	if d < 0 || d > MaxResumeGrace {
		return resumeGraceError(d.String())
	}
	return nil
}

func resumeGraceError(v string) error {
	return &SettingError{Var: EnvResumeGrace, Value: v, Reason: fmt.Sprintf("out of range (want 0 to %v)", MaxResumeGrace)}
}

func checkDelivery(d gateway.Delivery) error {
	if d == gateway.AtLeastOnce || d == gateway.AtMostOnce {
		return nil
	}
	return &SettingError{Var: EnvDelivery, Value: d.String(), Reason: "unknown delivery (want at-least-once or at-most-once)"}
}

func defaultNodeID() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "sockgate"
	}
	return sanitizeName(h)
}

// sanitizeName keeps letters, digits, "-" and "_" (durable consumer and
// stream names refuse dots, spaces and wildcards).
func sanitizeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !nameChar(c) {
			b[i] = '_'
		}
	}
	return string(b)
}

func nameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func checkName(varName, v string) error {
	if v == "" {
		return &SettingError{Var: varName, Value: v, Reason: "empty"}
	}
	for i := 0; i < len(v); i++ {
		if !nameChar(v[i]) {
			return &SettingError{Var: varName, Value: v, Reason: "only letters, digits, '-' and '_' are allowed"}
		}
	}
	return nil
}

func checkTransport(v string) error {
	if slices.Contains(Transports, v) {
		return nil
	}
	return &SettingError{Var: EnvTransport, Value: v, Reason: "unknown transport (want " + strings.Join(Transports, ", ") + ")"}
}

func checkNATSURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
		return &SettingError{Var: EnvNATSURL, Value: v, Err: err, Reason: "want nats://host:port or tls://host:port"}
	}
	return nil
}

func checkStreamMaxLen(n int64) error {
	if n < 1 {
		return &SettingError{Var: EnvStreamMaxLen, Value: strconv.FormatInt(n, 10), Reason: "must be at least 1"}
	}
	return nil
}

// FromEnv reads the configuration from the process environment; see
// FromLookup.
func FromEnv() (Config, error) {
	return FromLookup(os.LookupEnv)
}

// FromLookup reads the configuration through lookup (os.LookupEnv, or a map
// in tests; nil means an empty environment). A variable that is unset or
// set to "" takes its default. Every value is validated, REDIS_URL with
// redisurl.Parse; all problems are reported together, each a *SettingError
// naming the variable and its value (passwords redacted), joined with
// errors.Join and matching ErrInvalid.
//
// On error the returned Config holds the defaults in place of the bad
// values; do not use it.
func FromLookup(lookup func(key string) (string, bool)) (Config, error) {
	get := func(key string) (string, bool) {
		if lookup == nil {
			return "", false
		}
		v, ok := lookup(key)
		return v, ok && v != ""
	}
	c := Default()
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	if v, ok := get(EnvRedisURL); ok {
		c.RedisURL = v
	}
	if v, ok := get(EnvChannel); ok {
		c.Channel = v
	}
	add(checkChannel(c.Channel))
	// After the channel: it is a Sentinel URL's default master name.
	add(checkRedisURL(c.RedisURL, c.Channel))

	if v, ok := get(EnvDialect); ok {
		d, err := codec.ParseDialect(v)
		if err != nil {
			add(&SettingError{Var: EnvDialect, Value: v, Err: err,
				Reason: "unknown dialect (want current, v5.14, legacy or a python-socketio version such as 5.7.2; versions before 5.0 are not supported)"})
		} else {
			c.Dialect = d
		}
	}

	if v, ok := get(EnvQueueSize); ok {
		n, err := strconv.Atoi(v)
		switch {
		case errors.Is(err, strconv.ErrRange):
			add(queueSizeError(v))
		case err != nil:
			add(&SettingError{Var: EnvQueueSize, Value: v, Reason: "not a whole number"})
		case !validQueueSize(n):
			add(queueSizeError(v))
		default:
			c.QueueSize = n
		}
	}

	if v, ok := get(EnvUserRoom); ok {
		if err := checkUserRoom(v); err != nil {
			add(err)
		} else {
			c.UserRoom = v
		}
	}

	if v, ok := get(EnvAuthSecret); ok {
		if err := checkAuthSecret(v); err != nil {
			add(err)
		} else {
			c.AuthSecret = v
		}
	}

	if v, ok := get(EnvTransport); ok {
		c.Transport = v
		add(checkTransport(v))
	}
	if v, ok := get(EnvNATSURL); ok {
		c.NATSURL = v
		add(checkNATSURL(v))
	}
	if v, ok := get(EnvStream); ok {
		c.Stream = v
		add(checkName(EnvStream, v))
	}
	if v, ok := get(EnvStreamMaxLen); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			add(&SettingError{Var: EnvStreamMaxLen, Value: v, Reason: "not a whole number"})
		} else {
			c.StreamMaxLen = n
			add(checkStreamMaxLen(n))
		}
	}
	if v, ok := get(EnvNodeID); ok {
		c.NodeID = v
		add(checkName(EnvNodeID, v))
	}
	if v, ok := get(EnvResumeGrace); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			add(&SettingError{Var: EnvResumeGrace, Value: v, Err: err, Reason: `not a duration (e.g. "5s", "1500ms", "0" for none)`})
		} else if checkResumeGrace(d) != nil {
			add(resumeGraceError(v))
		} else {
			c.ResumeGrace = d
		}
	}
	if v, ok := get(EnvDelivery); ok {
		d, err := gateway.ParseDelivery(v)
		if err != nil {
			add(&SettingError{Var: EnvDelivery, Value: v, Err: err, Reason: "unknown delivery (want at-least-once or at-most-once)"})
		} else {
			c.Delivery = d
		}
	}

	if v, ok := get(EnvAuthPublicKey); ok {
		c.AuthPublicKeyFile = v
	}
	if v, ok := get(EnvAuthJWKS); ok {
		c.AuthJWKSFile = v
	}
	if v, ok := get(EnvAuthAlgorithms); ok {
		c.AuthAlgorithms = strings.Split(v, ",")
		for i := range c.AuthAlgorithms {
			c.AuthAlgorithms[i] = strings.TrimSpace(c.AuthAlgorithms[i])
		}
	}
	if v, ok := get(EnvAuthUserClaim); ok {
		c.AuthUserClaim = v
	}
	add(c.checkAuthKeys())

	return c, errors.Join(errs...)
}

// Validate checks a Config built in code the way FromLookup checks the
// environment, reporting every problem (errors.Join of *SettingError,
// matching ErrInvalid; Var names the corresponding variable).
func (c Config) Validate() error {
	var errs []error
	for _, err := range []error{
		checkChannel(c.Channel),
		checkRedisURL(c.RedisURL, c.Channel),
		checkDialect(c.Dialect),
		checkQueueSizeSetting(c.QueueSize),
		checkUserRoom(c.UserRoom),
		checkAuthSecret(c.AuthSecret),
		checkTransport(c.Transport),
		checkNATSURL(c.NATSURL),
		checkName(EnvStream, c.Stream),
		checkStreamMaxLen(c.StreamMaxLen),
		checkName(EnvNodeID, c.NodeID),
		checkResumeGrace(c.ResumeGrace),
		checkDelivery(c.Delivery),
		c.checkAuthKeys(),
	} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RedisOptions parses RedisURL into options for redis.NewUniversalClient
// (see redisurl.Parse). It returns nil, nil when RedisURL is "" (no
// broker).
//
// For a redis+sentinel URL without a service name the master name is the
// Channel, as python-socketio does (redisurl.Parse alone would use
// "mymaster"), so sockgate and the servers sharing REDIS_URL reach the
// same master.
func (c Config) RedisOptions() (*redis.UniversalOptions, error) {
	if c.RedisURL == "" {
		return nil, nil
	}
	opts, err := redisurl.ParseWithDefaultMaster(c.RedisURL, c.Channel)
	if err != nil {
		return nil, redisURLError(c.RedisURL, err)
	}
	return opts, nil
}

// UserRoomFor returns the room of user userID: UserRoom with "{id}"
// replaced (the default template when UserRoom is empty). c should be
// valid; a template without "{id}" is returned unchanged.
func (c Config) UserRoomFor(userID string) string {
	tmpl := c.UserRoom
	if tmpl == "" {
		tmpl = DefaultUserRoom
	}
	return strings.Replace(tmpl, UserIDPlaceholder, userID, 1)
}

// Authenticator returns the HS256 token signer and verifier for
// AuthSecret, writing and reading the user ID in AuthUserClaim, or nil,
// nil when AuthSecret is "" (no secret configured). A secret shorter than
// auth.MinSecretLen is a *SettingError naming SOCKET_AUTH_SECRET that
// also matches auth.ErrSecret. It verifies HS256 tokens only; Verifier
// verifies with every key configured.
func (c Config) Authenticator() (*auth.HMAC, error) {
	if c.AuthSecret == "" {
		return nil, nil
	}
	if err := checkAuthSecret(c.AuthSecret); err != nil {
		return nil, err
	}
	if err := checkAuthUserClaim(c.AuthUserClaim); err != nil {
		return nil, err
	}
	h, err := auth.NewHMAC([]byte(c.AuthSecret))
	if err != nil || c.AuthUserClaim == "" {
		return h, err
	}
	return h.WithUserClaim(c.AuthUserClaim)
}

// KeySetConfig returns the auth.KeySetConfig of the token settings:
// AuthSecret, the keys of AuthPublicKeyFile (read now), AuthJWKSFile
// (read now to check it; the KeySet reads it again), AuthAlgorithms and
// AuthUserClaim. Set its Logger (and Now) before auth.NewKeySet. A bad
// setting, or a file that cannot be read or holds no usable key, is a
// *SettingError naming the variable (matching auth.ErrKey for a bad key).
// When none of AuthSecret, AuthPublicKeyFile and AuthJWKSFile is set the
// result is the zero KeySetConfig.
func (c Config) KeySetConfig() (auth.KeySetConfig, error) {
	if c.AuthSecret == "" && c.AuthPublicKeyFile == "" && c.AuthJWKSFile == "" {
		return auth.KeySetConfig{}, nil
	}
	if err := errors.Join(checkAuthSecret(c.AuthSecret), c.checkAuthKeys()); err != nil {
		return auth.KeySetConfig{}, err
	}
	kc := auth.KeySetConfig{JWKSFile: c.AuthJWKSFile, Algorithms: c.AuthAlgorithms, UserClaim: c.AuthUserClaim}
	if c.AuthSecret != "" {
		kc.Secret = []byte(c.AuthSecret)
	}
	if c.AuthPublicKeyFile != "" {
		data, err := os.ReadFile(c.AuthPublicKeyFile)
		if err == nil {
			kc.Keys, err = auth.ParsePEM(data)
		}
		if err != nil {
			return auth.KeySetConfig{}, &SettingError{Var: EnvAuthPublicKey, Value: c.AuthPublicKeyFile, Reason: err.Error(), Err: err}
		}
	}
	if c.AuthJWKSFile != "" {
		data, err := os.ReadFile(c.AuthJWKSFile)
		if err == nil {
			_, _, err = auth.ParseJWKS(data)
		}
		if err != nil {
			return auth.KeySetConfig{}, &SettingError{Var: EnvAuthJWKS, Value: c.AuthJWKSFile, Reason: err.Error(), Err: err}
		}
	}
	return kc, nil
}

// Verifier returns the token verifier of the token settings (see
// KeySetConfig), an *auth.KeySet without a Logger, or nil, nil when no
// secret or key is configured.
func (c Config) Verifier() (auth.Verifier, error) {
	kc, err := c.KeySetConfig()
	if err != nil || (kc.Secret == nil && kc.Keys == nil && kc.JWKSFile == "") {
		return nil, err
	}
	ks, err := auth.NewKeySet(kc)
	if err != nil {
		// Checked above; a JWKS file that changed in between.
		return nil, &SettingError{Var: EnvAuthJWKS, Value: c.AuthJWKSFile, Reason: err.Error(), Err: err}
	}
	return ks, nil
}

// String describes c with the REDIS_URL password redacted and
// SOCKET_AUTH_SECRET shown only as set or unset.
func (c Config) String() string {
	return fmt.Sprintf("%s=%q %s=%q %s=%s %s=%d %s=%q %s=%s",
		EnvRedisURL, redisurl.Redact(c.RedisURL), EnvChannel, c.Channel,
		EnvDialect, c.Dialect, EnvQueueSize, c.QueueSize, EnvUserRoom, c.UserRoom,
		EnvAuthSecret, secretState(c.AuthSecret))
}

// GoString is String, so that %#v cannot print the secrets either.
func (c Config) GoString() string { return "config.Config{" + c.String() + "}" }

// secretState describes a secret without revealing it.
func secretState(s string) string {
	if s == "" {
		return "unset"
	}
	return "set"
}

// LogValue implements slog.LogValuer, with the REDIS_URL password
// redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("redis_url", redisurl.Redact(c.RedisURL)),
		slog.String("channel", c.Channel),
		slog.String("dialect", c.Dialect.String()),
		slog.Int("queue_size", c.QueueSize),
		slog.String("user_room", c.UserRoom),
		slog.String("auth_secret", secretState(c.AuthSecret)),
		slog.Duration("resume_grace", c.ResumeGrace),
		slog.String("delivery", c.Delivery.String()),
	)
}

func checkRedisURL(raw, channel string) error {
	if raw == "" {
		return nil
	}
	if _, err := redisurl.ParseWithDefaultMaster(raw, channel); err != nil {
		return redisURLError(raw, err)
	}
	return nil
}

func redisURLError(raw string, err error) error {
	reason := err.Error()
	var ue *redisurl.Error
	if errors.As(err, &ue) {
		reason = ue.Reason
	}
	return &SettingError{Var: EnvRedisURL, Value: redisurl.Redact(raw), Reason: reason, Err: err}
}

func checkChannel(ch string) error {
	var reason string
	switch {
	case ch == "":
		reason = "empty channel name"
	case strings.TrimSpace(ch) != ch:
		reason = "leading or trailing white space in channel name"
	case strings.ContainsFunc(ch, unicode.IsControl):
		reason = "control character in channel name"
	default:
		return nil
	}
	return &SettingError{Var: EnvChannel, Value: ch, Reason: reason}
}

func checkDialect(d codec.Dialect) error {
	switch d {
	case codec.Current, codec.V514, codec.Legacy:
		return nil
	}
	return &SettingError{Var: EnvDialect, Value: d.String(), Reason: "unknown dialect (want current, v5.14 or legacy)"}
}

func validQueueSize(n int) bool { return n >= 1 && n <= MaxQueueSize }

func checkQueueSizeSetting(n int) error {
	if !validQueueSize(n) {
		return queueSizeError(strconv.Itoa(n))
	}
	return nil
}

func queueSizeError(v string) error {
	return &SettingError{Var: EnvQueueSize, Value: v, Reason: fmt.Sprintf("out of range (want 1 to %d)", MaxQueueSize)}
}

func checkUserRoom(tmpl string) error {
	if strings.Count(tmpl, UserIDPlaceholder) == 1 {
		return nil
	}
	return &SettingError{Var: EnvUserRoom, Value: tmpl,
		Reason: fmt.Sprintf("must contain %q exactly once (e.g. %q)", UserIDPlaceholder, DefaultUserRoom)}
}

// checkAuthKeys checks AuthAlgorithms against the keys configured, and
// AuthUserClaim.
func (c Config) checkAuthKeys() error {
	var errs []error
	for _, a := range c.AuthAlgorithms {
		var reason string
		switch {
		case !slices.Contains(auth.Algorithms, a):
			reason = fmt.Sprintf("unknown algorithm %q (want a comma-separated list of %s)", a, strings.Join(auth.Algorithms, ", "))
		case a == auth.HS256 && c.AuthSecret == "":
			reason = "HS256 needs " + EnvAuthSecret
		case a != auth.HS256 && c.AuthPublicKeyFile == "" && c.AuthJWKSFile == "":
			reason = a + " needs " + EnvAuthPublicKey + " or " + EnvAuthJWKS
		default:
			continue
		}
		errs = append(errs, &SettingError{Var: EnvAuthAlgorithms, Value: strings.Join(c.AuthAlgorithms, ","), Reason: reason})
		break
	}
	errs = append(errs, checkAuthUserClaim(c.AuthUserClaim))
	return errors.Join(errs...)
}

func checkAuthUserClaim(name string) error {
	if name == "" {
		return nil
	}
	if err := auth.CheckUserClaim(name); err != nil {
		return &SettingError{Var: EnvAuthUserClaim, Value: name, Reason: strings.TrimPrefix(err.Error(), auth.ErrKey.Error()+": "), Err: err}
	}
	return nil
}

func checkAuthSecret(secret string) error {
	if secret == "" || len(secret) >= auth.MinSecretLen {
		return nil
	}
	// The value is a secret: only its length is reported.
	return &SettingError{Var: EnvAuthSecret, Value: "***",
		Reason: fmt.Sprintf("secret too short: %d bytes, want at least %d (e.g. openssl rand -base64 48)", len(secret), auth.MinSecretLen),
		Err:    auth.ErrSecret}
}

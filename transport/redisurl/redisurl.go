package redisurl

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/redis/go-redis/v9"
)

// DefaultMasterName is the Sentinel service (master) name Parse uses when a
// redis+sentinel URL names none.
//
// python-socketio itself falls back to its channel name instead; use
// ParseWithDefaultMaster (as the config package does) to match it.
const DefaultMasterName = "mymaster"

// DefaultSentinelPort is used for a Sentinel host written without a port.
const DefaultSentinelPort = 26379

const (
	schemesHelp = "want redis, rediss, unix, valkey, valkeys, redis+sentinel or valkey+sentinel"
	encodeHelp  = "percent-encode special characters in the user name and password, e.g. '@' as %40, '/' as %2F, '#' as %23"
)

// Parse turns a connection URL into options for redis.NewUniversalClient.
//
// Accepted forms (the same URLs python-socketio's RedisManager accepts):
//
//	redis://[[user]:password@]host[:port][/db][?option=value...]
//	rediss://...                  same, over TLS (ServerName = host)
//	valkey://..., valkeys://...   same as redis:// and rediss://
//	unix://[[user]:password@]/path/to/redis.sock[?db=N&option=value...]
//	redis+sentinel://[[user]:password@]host1[:port1][,host2[:port2]...][/db[/service_name]][?option=value...]
//	valkey+sentinel://...         same as redis+sentinel://
//
// Single-node forms default to localhost:6379 and database 0 and are parsed
// by go-redis's redis.ParseURL, so every query option it knows is accepted
// (db, protocol, client_name, max_retries, min_retry_backoff,
// max_retry_backoff, dial_timeout, read_timeout, write_timeout, pool_fifo,
// pool_size, pool_timeout, min_idle_conns, max_idle_conns,
// max_active_conns, max_concurrent_dials, pipeline_pool_size,
// pipeline_read_buffer_size, pipeline_write_buffer_size,
// conn_max_idle_time, conn_max_lifetime, conn_max_lifetime_jitter, and
// skip_verify for TLS); an unknown option is an error. Durations are Go
// durations ("500ms") or whole seconds.
//
// In the Sentinel form the hosts are Sentinels (port 26379 when omitted),
// the service name defaults to DefaultMasterName, and the user name and
// password authenticate to the Redis master, not to the Sentinels, as in
// python-socketio. Two extra query options authenticate to the Sentinels:
// sentinel_username and sentinel_password. The other options listed above
// apply as well. The result has MasterName set, so NewUniversalClient
// returns a Sentinel-backed failover client.
//
// Errors wrap ErrInvalidURL (they are *Error values) and never contain the
// password.
func Parse(rawURL string) (*redis.UniversalOptions, error) {
	return ParseWithDefaultMaster(rawURL, DefaultMasterName)
}

// ParseWithDefaultMaster is Parse with the Sentinel service name to use when
// a redis+sentinel URL names none (an empty masterName means
// DefaultMasterName). python-socketio uses its channel name there, so a
// sockgate process sharing REDIS_URL with python-socketio servers passes
// the same channel name to reach the same master.
func ParseWithDefaultMaster(rawURL, masterName string) (*redis.UniversalOptions, error) {
	opts, err := parse(rawURL, masterName)
	if err != nil {
		return nil, err
	}
	if opts.DialerRetries == 0 {
		// go-redis retries a failed dial 5 times, 100 ms apart, inside one
		// command. sockgate's writer retries whole publishes with its own
		// capped backoff, so a dial that fails should fail at once.
		opts.DialerRetries = 1
	}
	return opts, nil
}

func parse(rawURL, masterName string) (*redis.UniversalOptions, error) {
	if masterName == "" {
		masterName = DefaultMasterName
	}
	raw := strings.TrimSpace(rawURL)
	if raw == "" {
		return nil, invalid(raw, "empty URL")
	}
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, invalid(raw, "missing scheme (want a URL such as redis://localhost:6379/0)")
	}
	lower := strings.ToLower(scheme)
	if lower != "unix" && atAfterAuthority(raw) {
		// Probably a password with an unescaped '/', '?' or '#': the
		// parts a parser would see as host, port, path or option hold
		// pieces of it, so say nothing about them.
		return nil, invalid(raw, "malformed URL: '@' after the host ("+encodeHelp+", also in query values)")
	}
	switch lower {
	case "redis", "valkey":
		return parseTCP(raw, "redis")
	case "rediss", "valkeys":
		return parseTCP(raw, "rediss")
	case "unix":
		return parseUnix(raw)
	case "redis+sentinel", "valkey+sentinel":
		return parseSentinel(raw, masterName)
	default:
		if !printable(scheme) {
			return nil, invalid(raw, "unsupported scheme ("+schemesHelp+")")
		}
		return nil, invalid(raw, fmt.Sprintf("unsupported scheme %q (%s)", scheme, schemesHelp))
	}
}

// NewClient parses rawURL with Parse and returns a new client: a
// single-node client, or a Sentinel-backed failover client for the
// redis+sentinel form. No connection is made until the first command. The
// caller owns the client and must Close it.
func NewClient(rawURL string) (redis.UniversalClient, error) {
	opts, err := Parse(rawURL)
	if err != nil {
		return nil, err
	}
	return redis.NewUniversalClient(opts), nil
}

// atAfterAuthority reports whether raw has an '@' after the end of its
// authority (in the path, query or fragment).
func atAfterAuthority(raw string) bool {
	_, rest, _ := strings.Cut(raw, "://")
	end := strings.IndexAny(rest, "/?#")
	return end >= 0 && strings.Contains(rest[end:], "@")
}

// parseURL is url.Parse(s) with an error about raw (the URL as given) that
// never quotes the input: net/url errors quote the URL and, when a password
// holds an unescaped delimiter, fragments of the password as a "port".
func parseURL(raw, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		reason := "malformed URL (" + encodeHelp + ")"
		if strings.Contains(err.Error(), "invalid port") {
			reason = "invalid port (want a number 1-65535; " + encodeHelp + ")"
		}
		return nil, invalid(raw, reason)
	}
	if u.Fragment != "" || strings.HasSuffix(s, "#") {
		return nil, invalid(raw, "unexpected '#' fragment ("+encodeHelp+")")
	}
	return u, nil
}

// parseTCP handles redis, rediss, valkey and valkeys URLs.
func parseTCP(raw, goScheme string) (*redis.UniversalOptions, error) {
	u, err := parseURL(raw, raw)
	if err != nil {
		return nil, err
	}
	if port := u.Port(); port != "" {
		if err := checkPort(raw, port); err != nil {
			return nil, err
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, invalid(raw, "empty port (want a number 1-65535, or no ':' for 6379)")
	}
	if strings.Contains(u.Hostname(), ",") {
		return nil, invalid(raw, "several hosts are only accepted with redis+sentinel://")
	}
	segs := strings.FieldsFunc(u.Path, func(r rune) bool { return r == '/' })
	switch len(segs) {
	case 0:
	case 1:
		if _, err := parseDB(raw, segs[0]); err != nil {
			return nil, err
		}
	default:
		return nil, invalid(raw, fmt.Sprintf("unexpected path %q (want /<db>)", u.Path))
	}
	u.Scheme = goScheme
	return fromGoRedis(raw, u.String())
}

// parseUnix handles unix:// socket URLs.
func parseUnix(raw string) (*redis.UniversalOptions, error) {
	u, err := parseURL(raw, raw)
	if err != nil {
		return nil, err
	}
	if u.Host != "" {
		return nil, invalid(raw, "unix socket URL with a host (want unix:///absolute/path.sock, three slashes)")
	}
	if strings.TrimSpace(u.Path) == "" || u.Path == "/" {
		return nil, invalid(raw, "missing socket path (want unix:///absolute/path.sock)")
	}
	u.Scheme = "unix"
	return fromGoRedis(raw, u.String())
}

// parseSentinel handles redis+sentinel and valkey+sentinel URLs in
// python-socketio's format.
func parseSentinel(raw, defaultMaster string) (*redis.UniversalOptions, error) {
	_, rest, _ := strings.Cut(raw, "://")
	authEnd := strings.IndexAny(rest, "/?#")
	if authEnd < 0 {
		authEnd = len(rest)
	}
	authority, tail := rest[:authEnd], rest[authEnd:]
	userinfo, hostList := "", authority
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		userinfo, hostList = authority[:at+1], authority[at+1:]
	}

	// Let net/url decode the userinfo, path and query around a placeholder
	// host; the host list is parsed here.
	u, err := parseURL(raw, "redis://"+userinfo+"sentinel.invalid"+tail)
	if err != nil {
		return nil, err
	}

	if hostList == "" {
		return nil, invalid(raw, "empty Sentinel host list (want host1:26379,host2:26379)")
	}
	var addrs []string
	for _, hp := range strings.Split(hostList, ",") {
		addr, err := sentinelAddr(raw, hp)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, addr)
	}

	// Path: /db/service_name, both optional, as python-socketio reads it.
	var dbSeg, service string
	if p := strings.TrimPrefix(u.Path, "/"); p != "" {
		segs := strings.Split(p, "/")
		if len(segs) == 3 && segs[2] == "" {
			segs = segs[:2] // one trailing slash
		}
		if len(segs) > 2 {
			return nil, invalid(raw, fmt.Sprintf("unexpected path %q (want /<db>/<service_name>)", u.Path))
		}
		dbSeg = segs[0]
		if len(segs) == 2 {
			service = segs[1]
		}
	}
	if dbSeg != "" {
		if _, err := parseDB(raw, dbSeg); err != nil {
			return nil, err
		}
	}

	q := u.Query()
	sentinelUser, sentinelPassword := q.Get("sentinel_username"), q.Get("sentinel_password")
	q.Del("sentinel_username")
	q.Del("sentinel_password")

	// Every other option goes through go-redis's own parser, on a
	// stand-in single-node URL, so the options mean the same in every form.
	stand := url.URL{Scheme: "redis", Host: "localhost", RawQuery: q.Encode()}
	if dbSeg != "" {
		stand.Path = "/" + dbSeg
	}
	opts, err := fromGoRedis(raw, stand.String())
	if err != nil {
		return nil, err
	}
	opts.Addrs = addrs
	opts.MasterName = service
	if opts.MasterName == "" {
		opts.MasterName = defaultMaster
	}
	if u.User != nil {
		opts.Username = u.User.Username()
		opts.Password, _ = u.User.Password()
	}
	opts.SentinelUsername = sentinelUser
	opts.SentinelPassword = sentinelPassword
	return opts, nil
}

// sentinelAddr validates one entry of a Sentinel host list.
func sentinelAddr(raw, hp string) (string, error) {
	if hp == "" {
		return "", invalid(raw, "empty entry in Sentinel host list (want host1:26379,host2:26379)")
	}
	if !printable(hp) || strings.ContainsAny(hp, " \t") {
		return "", invalid(raw, "Sentinel host with spaces or control characters")
	}
	host, port := hp, strconv.Itoa(DefaultSentinelPort)
	if strings.HasPrefix(hp, "[") && strings.HasSuffix(hp, "]") {
		host = hp[1 : len(hp)-1] // [ipv6] without a port
	} else if strings.Contains(hp, ":") {
		var err error
		host, port, err = net.SplitHostPort(hp)
		if err != nil {
			return "", invalid(raw, fmt.Sprintf("invalid Sentinel address %q (want host:port, [ipv6]:port or host)", hp))
		}
		if err := checkPort(raw, port); err != nil {
			return "", err
		}
	}
	if host == "" {
		return "", invalid(raw, fmt.Sprintf("missing host in Sentinel address %q", hp))
	}
	return net.JoinHostPort(host, port), nil
}

// checkPort accepts a decimal port 1-65535.
func checkPort(raw, port string) error {
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || port[0] == '+' {
		return invalid(raw, fmt.Sprintf("invalid port %q (want 1-65535)", port))
	}
	return nil
}

// parseDB accepts a database number >= 0.
func parseDB(raw, s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || s[0] == '+' {
		return 0, invalid(raw, fmt.Sprintf("invalid database number %q (want a whole number >= 0)", s))
	}
	return n, nil
}

// fromGoRedis runs redis.ParseURL on the normalised URL goURL and converts
// its result. Errors name raw (redacted) and go-redis's reason, which
// names options and values but never the userinfo.
func fromGoRedis(raw, goURL string) (*redis.UniversalOptions, error) {
	o, err := redis.ParseURL(goURL)
	if err != nil {
		return nil, invalid(raw, strings.TrimPrefix(err.Error(), "redis: "))
	}
	if o.DB < 0 {
		return nil, invalid(raw, fmt.Sprintf("invalid database number %d (want a whole number >= 0)", o.DB))
	}
	return universal(o), nil
}

// universal copies every field redis.ParseURL can set into
// UniversalOptions. Options.Network has no counterpart: go-redis picks
// "unix" for an address starting with '/', which is what unix:// gives.
func universal(o *redis.Options) *redis.UniversalOptions {
	return &redis.UniversalOptions{
		Addrs:                   []string{o.Addr},
		ClientName:              o.ClientName,
		DB:                      o.DB,
		Protocol:                o.Protocol,
		Username:                o.Username,
		Password:                o.Password,
		MaxRetries:              o.MaxRetries,
		MinRetryBackoff:         o.MinRetryBackoff,
		MaxRetryBackoff:         o.MaxRetryBackoff,
		DialTimeout:             o.DialTimeout,
		ReadTimeout:             o.ReadTimeout,
		WriteTimeout:            o.WriteTimeout,
		PoolFIFO:                o.PoolFIFO,
		PoolSize:                o.PoolSize,
		PoolTimeout:             o.PoolTimeout,
		MinIdleConns:            o.MinIdleConns,
		MaxIdleConns:            o.MaxIdleConns,
		MaxActiveConns:          o.MaxActiveConns,
		MaxConcurrentDials:      o.MaxConcurrentDials,
		PipelinePoolSize:        o.PipelinePoolSize,
		PipelineReadBufferSize:  o.PipelineReadBufferSize,
		PipelineWriteBufferSize: o.PipelineWriteBufferSize,
		ConnMaxIdleTime:         o.ConnMaxIdleTime,
		ConnMaxLifetime:         o.ConnMaxLifetime,
		ConnMaxLifetimeJitter:   o.ConnMaxLifetimeJitter,
		TLSConfig:               o.TLSConfig,
	}
}

// printable reports whether s has no control characters.
func printable(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

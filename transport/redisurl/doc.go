// Package redisurl turns the REDIS_URL strings python-socketio deployments
// already use into go-redis options, so a sockgate process and the
// python-socketio servers it talks to can share one setting.
//
// It accepts redis://, rediss:// (TLS), unix://, valkey://, valkeys:// and
// python-socketio's redis+sentinel:// (and valkey+sentinel://) Sentinel
// form; see Parse for the grammar and the accepted query options. The
// result is a *redis.UniversalOptions, so one code path serves a single
// node and Sentinel; NewClient builds the client (whose owner closes it).
//
// Errors wrap ErrInvalidURL and never contain a password: the URL in them
// goes through Redact, which callers can also use to log a URL.
package redisurl

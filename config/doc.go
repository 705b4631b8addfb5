// Package config is the one place sockgate's environment variables are
// named and validated; the CLI, the demo and the dependency-injection
// package all build on it.
//
//	REDIS_URL             broker URL; unset or empty: no broker (local-only)
//	SOCKET_REDIS_CHANNEL  pub/sub channel, default "socketio"
//	SOCKET_DIALECT        current (default) | v5.14 | legacy | a python-socketio version
//	SOCKET_QUEUE_SIZE     send queue capacity, default 16384, 1 to 16777216
//	SOCKET_USER_ROOM      user room template, default "user:{id}"
//	SOCKET_AUTH_SECRET    HMAC secret of user tokens, >= 32 bytes; unset: no token auth
//	SOCKET_AUTH_PUBLIC_KEY  PEM file of RS256/ES256/EdDSA public keys of user tokens
//	SOCKET_AUTH_JWKS      JWKS file of user token keys, re-read when it changes
//	SOCKET_AUTH_ALGS      accepted token algorithms, default those of the keys
//	SOCKET_AUTH_USER_CLAIM  token claim holding the user ID, default "sub"
//
// FromEnv reads them, FromLookup reads them from any lookup function, and
// every problem is reported at once: one *SettingError per bad variable,
// naming it and its value (with passwords redacted), joined and matching
// ErrInvalid. See docs/configuration.md for the full reference.
package config

// Package auth mints and verifies the signed user tokens a Socket.IO client
// sends in its handshake auth ({"token": "..."}).
//
// A token is a JSON Web Token in compact form signed with HMAC-SHA256
// (RFC 7519, "HS256"): header {"alg":"HS256","typ":"JWT"}, claims "sub"
// (the user ID), "iat" and "exp" (seconds since the Unix epoch). Any JWT
// library can therefore mint tokens for sockgate, e.g. in Python:
//
//	jwt.encode({"sub": "42", "iat": now, "exp": now + 3600}, secret, algorithm="HS256")
//
// Verify accepts HS256 only (never "none" or another algorithm named by the
// token itself), compares signatures in constant time, and requires "sub",
// "iat" and "exp". The secret must be at least MinSecretLen (32) bytes; the
// sockgate tools read it from SOCKET_AUTH_SECRET (package config).
//
// An *HMAC is safe for concurrent use.
package auth

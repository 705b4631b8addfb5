package redisurl

import (
	"slices"
	"strings"
)

// Redact returns rawURL with the password of its userinfo and the values of
// password-like query parameters (any key containing "password", such as
// sentinel_password) replaced by "***", so that the URL can be logged or
// shown in an error.
//
// It works on the raw text and never fails, so it also redacts URLs that do
// not parse. Where the text is ambiguous it hides more, never less: an '@'
// after the host (what an unescaped '/', '?' or '#' in a password produces)
// makes everything up to the last '@' userinfo, and a password-like query
// value runs to the next '&' even across '#' or '@'. A userinfo without
// ':' is redacted whole, because "redis://secret@host" is a common way to
// write a password by mistake.
//
//	Redact("redis://app:s3cret@cache:6379/0") == "redis://app:***@cache:6379/0"
func Redact(rawURL string) string {
	prefix, rest := "", rawURL
	if i := strings.Index(rawURL, "://"); i >= 0 {
		prefix, rest = rawURL[:i+3], rawURL[i+3:]
	}

	type span struct{ lo, hi int } // byte range of rest to hide
	var hide []span

	// Userinfo: up to the last '@' of the authority (which ends at the
	// first '/', '?' or '#'), or of the whole text if an '@' comes later.
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if strings.Contains(rest[end:], "@") {
		at = strings.LastIndex(rest, "@")
	}
	if at >= 0 {
		if colon := strings.IndexByte(rest[:at], ':'); colon >= 0 {
			hide = append(hide, span{colon + 1, at})
		} else {
			hide = append(hide, span{0, at})
		}
	}

	// key=value pairs after '?' or '&' whose key mentions a password.
	for i := 0; i < len(rest); i++ {
		if rest[i] != '?' && rest[i] != '&' {
			continue
		}
		kv := rest[i+1:]
		eq := strings.IndexByte(kv, '=')
		amp := strings.IndexByte(kv, '&')
		if amp < 0 {
			amp = len(kv)
		}
		if eq >= 0 && eq < amp && strings.Contains(strings.ToLower(kv[:eq]), "password") {
			hide = append(hide, span{i + 1 + eq + 1, i + 1 + amp})
		}
	}

	if len(hide) == 0 {
		return rawURL
	}
	slices.SortFunc(hide, func(a, b span) int { return a.lo - b.lo })
	var b strings.Builder
	b.WriteString(prefix)
	pos := 0
	for i := 0; i < len(hide); {
		lo, hi := hide[i].lo, hide[i].hi
		for i++; i < len(hide) && hide[i].lo <= hi; i++ { // merge overlaps
			hi = max(hi, hide[i].hi)
		}
		if lo < pos { // starts inside text already written
			lo = pos
		}
		b.WriteString(rest[pos:lo])
		b.WriteString("***")
		pos = max(hi, pos)
	}
	b.WriteString(rest[pos:])
	return b.String()
}

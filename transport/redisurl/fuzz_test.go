package redisurl_test

import (
	"strings"
	"testing"

	"github.com/sockgate/sockgate/transport/redisurl"
)

// encodeHelp is the advice Parse adds to a malformed URL's error.
const encodeHelp = "percent-encode special characters in the user name and password, e.g. '@' as %40, '/' as %2F, '#' as %23"

// FuzzPasswordNeverLeaks puts arbitrary passwords, escaped or not, into
// URLs of every form and checks that neither Redact nor an error from Parse
// shows them. Run with: go test -fuzz=FuzzPasswordNeverLeaks ./transport/redisurl
func FuzzPasswordNeverLeaks(f *testing.F) {
	for _, pw := range []string{"hunter2", "hunter2/xyzzy", "hunter2?xyzzy", "hunter2#xyzzy", "hunter2@xyzzy", "pw:with:colons", "a&password=b", "&000"} {
		f.Add(pw, uint8(0))
		f.Add(pw, uint8(7))
	}
	templates := []string{
		"redis://user:PW@cache:6379/0",
		"redis://:PW@cache:abc",
		"redis://user:PW@cache/x?db=1",
		"rediss://PW@cache:0",
		"valkey://user:PW@cache?nope=1",
		"unix://user:PW@/tmp/redis.sock?db=x",
		"redis+sentinel://user:PW@s1:26379,s2:26379/0/m",
		"redis+sentinel://user:PW@s1:x",
		"redis+sentinel://s1:26379/0/m?sentinel_password=PW&bogus=1",
		"redis+sentinel://s1:26379/z?sentinel_password=PW",
		"http://user:PW@cache",
	}
	f.Fuzz(func(t *testing.T, pw string, which uint8) {
		tmpl := templates[int(which)%len(templates)]
		if len(pw) < 4 || strings.Contains(strings.ReplaceAll(tmpl, "PW", "\x00"), pw) {
			t.Skip() // too short to be told apart from the rest of the URL
		}
		if strings.Contains(tmpl, "=PW") && strings.Contains(pw, "&") {
			t.Skip() // an unescaped '&' ends a query value: the rest is not the password
		}
		if strings.Contains(tmpl, "//PW@") && strings.Contains(pw, ":") {
			t.Skip() // then the part before ':' is a user name, which is not hidden
		}
		raw := strings.ReplaceAll(tmpl, "PW", pw)
		if red := redisurl.Redact(raw); strings.Contains(red, pw) {
			t.Fatalf("Redact(%q) = %q shows the password", raw, red)
		}
		// The advice on percent-encoding is fixed text: a password that
		// happens to be a part of it (" password") is not shown by it.
		if _, err := redisurl.Parse(raw); err != nil && strings.Contains(strings.ReplaceAll(err.Error(), encodeHelp, ""), pw) {
			t.Fatalf("Parse(%q) error %q shows the password", raw, err)
		}
	})
}

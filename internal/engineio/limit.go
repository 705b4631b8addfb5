package engineio

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Defaults of the per-address handshake limits (Config.HandshakeRate,
// Config.HandshakeBurst).
const (
	DefaultHandshakeRate  = 100
	DefaultHandshakeBurst = 1000
)

// limitSweepEvery is how often the limiter forgets addresses whose bucket
// has refilled and that hold no session, so that its map stays as small as
// the set of recently active addresses.
const limitSweepEvery = 10 * time.Second

// refusal is why the limiter refused a handshake.
type refusal int

const (
	admitted refusal = iota
	refusedRate
	refusedSessions
)

// addrLimiter is a token bucket per client address (HandshakeRate,
// HandshakeBurst) and a count of the sessions open per address
// (MaxSessionsPerAddr). Its zero rate and zero session cap mean off.
type addrLimiter struct {
	rate        float64 // tokens per second; 0: no rate limit
	burst       float64
	maxSessions int // 0: no cap

	mu        sync.Mutex
	addrs     map[string]*addrState
	lastSweep time.Time
}

type addrState struct {
	tokens   float64
	at       time.Time // when tokens was computed
	sessions int
}

func newAddrLimiter(rate float64, burst, maxSessions int) *addrLimiter {
	if rate < 0 {
		rate = 0
	}
	return &addrLimiter{rate: rate, burst: float64(burst), maxSessions: maxSessions, addrs: map[string]*addrState{}}
}

// on reports whether the limiter limits anything.
func (l *addrLimiter) on() bool { return l.rate > 0 || l.maxSessions > 0 }

// admit takes a token and a session slot for key, or tells why not and,
// for the rate limit, in how many seconds a token will be there.
func (l *addrLimiter) admit(key string, now time.Time) (refusal, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= limitSweepEvery {
		l.sweepLocked(now)
	}
	st := l.addrs[key]
	if st == nil {
		st = &addrState{tokens: l.burst, at: now}
		l.addrs[key] = st
	}
	if l.rate > 0 {
		st.tokens = math.Min(l.burst, st.tokens+now.Sub(st.at).Seconds()*l.rate)
		st.at = now
		if st.tokens < 1 {
			return refusedRate, int(math.Ceil((1 - st.tokens) / l.rate))
		}
	}
	if l.maxSessions > 0 && st.sessions >= l.maxSessions {
		return refusedSessions, 0
	}
	if l.rate > 0 {
		st.tokens--
	}
	st.sessions++
	return admitted, 0
}

// release gives back the session slot admit took for key.
func (l *addrLimiter) release(key string) {
	l.mu.Lock()
	if st := l.addrs[key]; st != nil && st.sessions > 0 {
		st.sessions--
	}
	l.mu.Unlock()
}

// sweepLocked forgets the addresses that are as good as new: no session
// and a full bucket (l.mu held).
func (l *addrLimiter) sweepLocked(now time.Time) {
	l.lastSweep = now
	for k, st := range l.addrs {
		if st.sessions == 0 && (l.rate == 0 || st.tokens+now.Sub(st.at).Seconds()*l.rate >= l.burst) {
			delete(l.addrs, k)
		}
	}
}

// size is the number of addresses tracked (tests).
func (l *addrLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.addrs)
}

// RemoteIP is the default Config.ClientAddr: the IP of r.RemoteAddr, with
// an IPv6 address reduced to its /64 prefix (one host usually holds a
// whole /64, so per-address limits would otherwise be per-host only in
// name). It returns RemoteAddr unchanged when it is not host:port.
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// writeTooMany answers a refused handshake with 429 and Engine.IO's JSON
// error body; retryAfter > 0 adds a Retry-After header.
func writeTooMany(w http.ResponseWriter, retryAfter int, msg string) {
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	writeError(w, http.StatusTooManyRequests, codeForbidden, msg)
}

package auth

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultReloadInterval is how often, at most, a KeySet looks at its JWKS
// file for a change.
const DefaultReloadInterval = time.Second

// KeySetConfig configures NewKeySet. At least one of Secret, Keys and
// JWKSFile must be set.
type KeySetConfig struct {
	// Secret, when set, verifies HS256 tokens; at least MinSecretLen bytes
	// (else ErrSecret). It is copied.
	Secret []byte
	// Keys are public keys (see ParsePEM, ParseJWKS, PublicKey).
	Keys []Key
	// JWKSFile is the path of a JSON Web Key Set file (see ParseJWKS),
	// read by NewKeySet and read again when its modification time or size
	// changes (checked at most every ReloadInterval, when a token is
	// verified), so that keys can be rotated without a restart. A re-read
	// that fails keeps the keys that were read before; it is logged and
	// counted (KeySetStats.ReloadFailures).
	JWKSFile string
	// ReloadInterval is how often, at most, Verify looks at JWKSFile;
	// default DefaultReloadInterval. Negative: the file is read only by
	// NewKeySet and Reload.
	ReloadInterval time.Duration
	// Algorithms are the algorithms accepted, a subset of Algorithms.
	// Default: HS256 when Secret is set, the algorithms of Keys, and when
	// JWKSFile is set RS256, ES256 and EdDSA. Whatever is accepted, a key
	// only verifies its own algorithm.
	Algorithms []string
	// UserClaim is the claim that holds the user ID; default "sub" (see
	// CheckUserClaim).
	UserClaim string
	// Now is the clock that "exp", "iat" and "nbf" are checked against;
	// nil means time.Now.
	Now func() time.Time
	// Logger receives the JWKS file's re-reads (Info) and their failures
	// and left-out keys (Warn), once per change of the file; nil
	// discards.
	Logger *slog.Logger
}

// KeySetStats are the counters of a KeySet's JWKS file.
type KeySetStats struct {
	// Reloads counts the re-reads of the JWKS file that replaced the keys
	// (not the first read, by NewKeySet).
	Reloads uint64
	// ReloadFailures counts the re-reads that failed, automatic or by
	// Reload (the file could not be read, or ParseJWKS refused it); the
	// keys stayed as they were.
	ReloadFailures uint64
}

// KeySet verifies tokens signed by any of a set of keys: an HS256 secret,
// RS256, ES256 and EdDSA public keys, and the keys of a JWKS file. A token
// whose header has a "kid" is verified with the key of that ID and the
// token's algorithm, or when there is none with the keys of that
// algorithm that have no ID (PEM keys); a token without "kid" with every
// key of its algorithm. It is safe for concurrent use.
type KeySet struct {
	v              *verifier
	secret         []byte
	static         []Key
	file           string
	reloadInterval time.Duration
	log            *slog.Logger

	keys      atomic.Pointer[[]Key] // static, then the file's
	checked   atomic.Int64          // when the file was last looked at, Unix ns
	reloads   atomic.Uint64
	failures  atomic.Uint64
	reloadMu  sync.Mutex // held while the file is looked at
	fileStamp fileStamp  // of the file last read, or tried; under reloadMu
}

var _ Verifier = (*KeySet)(nil)

// fileStamp tells a changed file from the one read before.
type fileStamp struct {
	mod  time.Time
	size int64
}

// NewKeySet returns a KeySet for cfg. A bad setting or key is ErrKey (or
// ErrSecret) naming it; a JWKS file that cannot be read or parsed is an
// error naming the file.
func NewKeySet(cfg KeySetConfig) (*KeySet, error) {
	if len(cfg.Secret) == 0 && len(cfg.Keys) == 0 && cfg.JWKSFile == "" {
		return nil, fmt.Errorf("%w: no secret, key or JWKS file", ErrKey)
	}
	if cfg.Secret != nil {
		if err := checkSecret(cfg.Secret); err != nil {
			return nil, err
		}
	}
	if cfg.UserClaim != "" {
		if err := CheckUserClaim(cfg.UserClaim); err != nil {
			return nil, err
		}
	}
	for i, k := range cfg.Keys {
		alg, err := publicAlgorithm(k.Public)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%w: key %d (kid %q): %w", ErrKey, i, k.ID, err)
		case alg != k.Algorithm:
			return nil, fmt.Errorf("%w: key %d (kid %q): algorithm %q does not fit the key (want %s)", ErrKey, i, k.ID, k.Algorithm, alg)
		}
	}
	algs, err := acceptedAlgorithms(cfg)
	if err != nil {
		return nil, err
	}
	s := &KeySet{
		secret:         bytes.Clone(cfg.Secret),
		static:         slices.Clone(cfg.Keys),
		file:           cfg.JWKSFile,
		reloadInterval: cfg.ReloadInterval,
		log:            cfg.Logger,
	}
	if s.reloadInterval == 0 {
		s.reloadInterval = DefaultReloadInterval
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.keys.Store(&s.static)
	if s.file != "" {
		if err := s.Reload(); err != nil {
			return nil, err
		}
		s.reloads.Store(0) // the first read is no re-read
	}
	s.v = newVerifier(algs, cfg.UserClaim, cfg.Now, s.lookup)
	return s, nil
}

// acceptedAlgorithms checks cfg.Algorithms, or derives them.
func acceptedAlgorithms(cfg KeySetConfig) ([]string, error) {
	if len(cfg.Algorithms) > 0 {
		for _, a := range cfg.Algorithms {
			if !slices.Contains(Algorithms, a) {
				return nil, fmt.Errorf("%w: unsupported algorithm %q (want %v)", ErrKey, a, Algorithms)
			}
			if a == HS256 && cfg.Secret == nil {
				return nil, fmt.Errorf("%w: algorithm HS256 without a secret", ErrKey)
			}
		}
		return slices.Clone(cfg.Algorithms), nil
	}
	var algs []string
	if cfg.Secret != nil {
		algs = append(algs, HS256)
	}
	for _, k := range cfg.Keys {
		algs = append(algs, k.Algorithm)
	}
	if cfg.JWKSFile != "" {
		algs = append(algs, RS256, ES256, EdDSA)
	}
	// In the order of Algorithms, once each.
	return slices.DeleteFunc(slices.Clone(Algorithms), func(a string) bool { return !slices.Contains(algs, a) }), nil
}

// Verify checks token and returns its claims; see Verifier for the
// errors. The user claim, "iat" and "exp" are required, "nbf" is
// honoured, other claims ("aud", "iss", ...) are ignored.
func (s *KeySet) Verify(token string) (Claims, error) {
	s.maybeReload()
	return s.v.verify(token)
}

// Now returns the current time as s reads it (KeySetConfig.Now).
func (s *KeySet) Now() time.Time { return s.v.now() }

// Algorithms returns the algorithms s accepts.
func (s *KeySet) Algorithms() []string { return slices.Clone(s.v.algs) }

// Keys returns the public keys s holds now: KeySetConfig.Keys, then the
// JWKS file's.
func (s *KeySet) Keys() []Key { return slices.Clone(*s.keys.Load()) }

// Stats returns the counters of the JWKS file.
func (s *KeySet) Stats() KeySetStats {
	return KeySetStats{Reloads: s.reloads.Load(), ReloadFailures: s.failures.Load()}
}

// lookup returns the key(s) for a token of alg with key ID kid.
func (s *KeySet) lookup(alg, kid string) (any, error) {
	if alg == HS256 {
		return s.secret, nil // accepted only with a secret (acceptedAlgorithms)
	}
	var byID, anonymous, all jwt.VerificationKeySet
	for _, k := range *s.keys.Load() {
		if k.Algorithm != alg {
			continue
		}
		all.Keys = append(all.Keys, k.Public)
		switch k.ID {
		case "":
			anonymous.Keys = append(anonymous.Keys, k.Public)
		case kid:
			byID.Keys = append(byID.Keys, k.Public)
		}
	}
	switch {
	case kid == "" && len(all.Keys) > 0:
		return all, nil
	case len(byID.Keys) > 0:
		return byID, nil
	case kid != "" && len(anonymous.Keys) > 0:
		return anonymous, nil
	case kid == "":
		return nil, fmt.Errorf("%w: no %s key", ErrUnknownKey, alg)
	}
	return nil, fmt.Errorf("%w: no %s key with kid %q", ErrUnknownKey, alg, kid)
}

// maybeReload re-reads the JWKS file when ReloadInterval has passed since
// it was last looked at and it changed. Only one caller looks at a time;
// the others verify with the keys they have.
func (s *KeySet) maybeReload() {
	if s.file == "" || s.reloadInterval < 0 {
		return
	}
	now := time.Now().UnixNano()
	if now-s.checked.Load() < int64(s.reloadInterval) || !s.reloadMu.TryLock() {
		return
	}
	defer s.reloadMu.Unlock()
	s.checked.Store(now)
	var stamp fileStamp // zero: the file cannot be looked at
	if fi, err := os.Stat(s.file); err == nil {
		stamp = fileStamp{fi.ModTime(), fi.Size()}
	}
	if stamp == s.fileStamp {
		return
	}
	if err := s.reloadLocked(); err != nil {
		s.log.Warn("auth: JWKS file not re-read; the keys read before stay in use", "err", err)
	}
}

// Reload reads the JWKS file now and, when it parses, replaces the keys
// read from it before. On error the keys stay as they were. It does
// nothing without KeySetConfig.JWKSFile.
func (s *KeySet) Reload() error {
	if s.file == "" {
		return nil
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	return s.reloadLocked()
}

// reloadLocked reads the file; s.reloadMu is held. A failure remembers the
// file's stamp too, so that a broken file is reported once, not at every
// check.
func (s *KeySet) reloadLocked() error {
	keys, skipped, stamp, err := readJWKS(s.file)
	s.fileStamp = stamp
	if err != nil {
		s.failures.Add(1)
		return err
	}
	if len(skipped) > 0 {
		s.log.Warn("auth: JWKS file: keys left out", "file", s.file, "skipped", skipped)
	}
	all := append(slices.Clone(s.static), keys...)
	s.keys.Store(&all)
	s.reloads.Add(1)
	s.log.Info("auth: JWKS file read", "file", s.file, "keys", len(keys))
	return nil
}

// maxJWKSFile bounds the JWKS file read, in bytes.
const maxJWKSFile = 1 << 20

// readJWKS reads and parses the JWKS file at path; the stamp is the zero
// fileStamp when the file cannot be opened.
func readJWKS(path string) ([]Key, []string, fileStamp, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fileStamp{}, fmt.Errorf("%w: JWKS file: %w", ErrKey, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fileStamp{}, fmt.Errorf("%w: JWKS file: %w", ErrKey, err)
	}
	stamp := fileStamp{fi.ModTime(), fi.Size()}
	data, err := io.ReadAll(io.LimitReader(f, maxJWKSFile+1))
	if err == nil && len(data) > maxJWKSFile {
		err = fmt.Errorf("longer than %d bytes", maxJWKSFile)
	}
	var keys []Key
	var skipped []string
	if err == nil {
		keys, skipped, err = parseJWKS(data)
	}
	if err != nil {
		return nil, nil, stamp, fmt.Errorf("%w: JWKS file %s: %w", ErrKey, path, err)
	}
	return keys, skipped, stamp, nil
}

package server

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Scope is a permission an API key grants.
type Scope string

// The scopes. Admin implies the others.
const (
	// ScopeIngest allows publishing events (POST /v1/events,
	// events.publish).
	ScopeIngest Scope = "ingest"
	// ScopeRead allows listing sessions, querying and streaming events.
	ScopeRead Scope = "read"
	// ScopeAdmin allows everything, including /metrics.
	ScopeAdmin Scope = "admin"
)

// Key is an API key.
type Key struct {
	// Name identifies the key in logs and metrics; the secret never
	// appears there.
	Name string
	// Secret is what clients send, as "Authorization: Bearer SECRET" (or
	// in the access_token query parameter, for browsers' EventSource and
	// WebSocket, which cannot set headers). "sha256:<64 hex digits>" gives
	// the SHA-256 of the secret instead of the secret.
	Secret string
	// Scopes are what the key may do.
	Scopes []Scope
	// SessionPrefix, if set, restricts the key to sessions whose ID starts
	// with it: it can neither read nor write any other session, and lists
	// and all-session streams show it only its own sessions.
	SessionPrefix string
}

// Allows reports whether k grants s.
func (k *Key) Allows(s Scope) bool {
	for _, have := range k.Scopes {
		if have == s || have == ScopeAdmin {
			return true
		}
	}
	return false
}

// ParseKey reads a key written NAME:SECRET:SCOPES[:PREFIX], where SCOPES is
// a comma-separated list of ingest, read and admin, for example
// "ui:s3cret:read:acme-" or "agent:t0ken:ingest,read". The secret may be
// given as its SHA-256 in hexadecimal, "sha256:<64 hex digits>", so that
// the spec (a keys file, a command line) does not hold the secret itself:
// "ui:sha256:9f86d0…:read".
func ParseKey(spec string) (Key, error) {
	name, rest, _ := strings.Cut(strings.TrimSpace(spec), ":")
	hashed := strings.HasPrefix(rest, hashPrefix)
	if hashed {
		rest = rest[len(hashPrefix):]
	}
	parts := strings.SplitN(rest, ":", 3)
	if len(parts) < 2 {
		return Key{}, fmt.Errorf("key %q: want NAME:SECRET:SCOPES[:SESSION_PREFIX]", redact(spec))
	}
	k := Key{Name: name, Secret: parts[0]}
	if len(parts) == 3 {
		k.SessionPrefix = parts[2]
	}
	if k.Name == "" || k.Secret == "" {
		return Key{}, fmt.Errorf("key %q: the name and the secret must not be empty", redact(spec))
	}
	if hashed {
		k.Secret = hashPrefix + k.Secret
		if _, ok := secretHash(k.Secret); !ok {
			return Key{}, fmt.Errorf("key %q: a hashed secret is sha256: and 64 hexadecimal digits", k.Name)
		}
	} else if len(k.Secret) < 8 {
		return Key{}, fmt.Errorf("key %q: the secret is shorter than 8 characters", k.Name)
	}
	for _, s := range strings.Split(parts[1], ",") {
		switch sc := Scope(strings.TrimSpace(s)); sc {
		case ScopeIngest, ScopeRead, ScopeAdmin:
			k.Scopes = append(k.Scopes, sc)
		default:
			return Key{}, fmt.Errorf("key %q: unknown scope %q (want ingest, read or admin)", k.Name, s)
		}
	}
	return k, nil
}

// hashPrefix marks a secret given as its SHA-256.
const hashPrefix = "sha256:"

// secretHash returns the SHA-256 a key's secret stands for: the hash given
// ("sha256:<hex>"), or the hash of the secret; ok is false for a malformed
// hash.
func secretHash(secret string) (sum [32]byte, ok bool) {
	h, hashed := strings.CutPrefix(secret, hashPrefix)
	if !hashed {
		return sha256.Sum256([]byte(secret)), true
	}
	if b, err := hex.DecodeString(h); err == nil && len(b) == len(sum) {
		copy(sum[:], b)
		return sum, true
	}
	return sum, false
}

// redact hides the secret of a malformed key spec in error messages.
func redact(spec string) string {
	if i := strings.IndexByte(spec, ':'); i >= 0 {
		return spec[:i] + ":…"
	}
	return "…"
}

// ParseKeys reads keys, one ParseKey spec per line; blank lines and lines
// starting with # are skipped. Use it for a keys file.
func ParseKeys(r io.Reader) ([]Key, error) {
	var keys []Key
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		k, err := ParseKey(s)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		keys = append(keys, k)
	}
	return keys, sc.Err()
}

// keyring checks presented secrets against the configured keys.
type keyring struct {
	keys   []Key
	hashes [][32]byte
}

func newKeyring(keys []Key) (*keyring, error) {
	kr := &keyring{}
	names := map[string]bool{}
	secrets := map[[32]byte]string{}
	for _, k := range keys {
		if names[k.Name] {
			return nil, fmt.Errorf("two keys named %q", k.Name)
		}
		names[k.Name] = true
		if len(k.Scopes) == 0 {
			return nil, fmt.Errorf("key %q has no scope", k.Name)
		}
		h, ok := secretHash(k.Secret)
		if !ok {
			return nil, fmt.Errorf("key %q: a hashed secret is sha256: and 64 hexadecimal digits", k.Name)
		}
		if other, dup := secrets[h]; dup {
			return nil, fmt.Errorf("keys %q and %q have the same secret", other, k.Name)
		}
		secrets[h] = k.Name
		kr.keys = append(kr.keys, k)
		kr.hashes = append(kr.hashes, h)
	}
	return kr, nil
}

// find returns the key whose secret is secret. It compares the SHA-256 of
// the secret with every key's in constant time and never stops early, so
// the time taken says nothing about how close a guess was or which key
// matched. Secrets are distinct (newKeyring), so at most one matches.
func (kr *keyring) find(secret string) *Key {
	h := sha256.Sum256([]byte(secret))
	found := -1
	for i := range kr.hashes {
		if subtle.ConstantTimeCompare(h[:], kr.hashes[i][:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return nil
	}
	return &kr.keys[found]
}

// presented returns the secret a request carries, if any.
func presented(r *http.Request) string {
	if a := r.Header.Get("Authorization"); len(a) > len("Bearer ") && strings.EqualFold(a[:len("Bearer ")], "Bearer ") {
		return strings.TrimSpace(a[len("Bearer "):]) // the scheme is case-insensitive (RFC 9110)
	}
	if s := r.Header.Get("X-API-Key"); s != "" {
		return s
	}
	return r.URL.Query().Get("access_token")
}

// isLoopback reports whether the request comes from this machine.
func isLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// principal is who makes a request: a key, or the anonymous loopback
// client of a server without keys.
type principal struct {
	key    *Key   // nil: anonymous
	remote string // the client's IP address, for anonymous clients
}

// budget names the streaming budget the principal draws on, and its size:
// a key's, or the loopback clients' of one IP address.
func (p principal) budget(cfg *Config) (string, int) {
	if p.key == nil {
		return "local " + p.remote, cfg.MaxConnsLocal
	}
	return "key " + p.key.Name, cfg.MaxConnsPerKey
}

func (p principal) name() string {
	if p.key == nil {
		return "anonymous"
	}
	return p.key.Name
}

func (p principal) allows(s Scope) bool { return p.key == nil || p.key.Allows(s) }

func (p principal) prefix() string {
	if p.key == nil {
		return ""
	}
	return p.key.SessionPrefix
}

// owns reports whether the principal may touch session.
func (p principal) owns(session string) bool {
	return strings.HasPrefix(session, p.prefix())
}

// browsers refuses, on a server without keys, requests that a web page
// could make: a Host other than a loopback or allowed name (the page of a
// DNS-rebinding attack), or an Origin other than the server's own or an
// allowed one. It applies to every route, the WebSocket upgrade included,
// except the health checks, which are public and reveal nothing.
func (s *Server) browsers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Other clients of a server without keys are refused by
		// authenticate.
		if s.keyless() && isLoopback(r) && r.URL.Path != "/healthz" && r.URL.Path != "/readyz" {
			if !s.localHost(r.Host) {
				writeError(w, errorf(http.StatusForbidden, CodeHostNotAllowed,
					"Host %q is not served: a server without API keys answers only localhost and loopback addresses (add names with --allowed-host)", r.Host))
				return
			}
			if o := r.Header.Get("Origin"); o != "" && !s.sameOrAllowedOrigin(o, r.Host) {
				writeError(w, errorf(http.StatusForbidden, CodeOriginNotAllowed,
					"Origin %q is not allowed: a server without API keys answers only its own origin and those of --cors-origin", o))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// localHost reports whether a Host header names this machine: localhost,
// a loopback address, or an allowed name, with any port.
func (s *Server) localHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(host, "]"), "["), "."))
	if host == "localhost" || s.hosts[host] {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sameOrAllowedOrigin reports whether a browser's Origin is the server's
// own (the same host and port as the request's Host) or an allowed one.
func (s *Server) sameOrAllowedOrigin(origin, host string) bool {
	if s.anyCORS || s.corsOrig[origin] {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && strings.EqualFold(u.Host, host)
}

package urlcheck

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxLength is the longest accepted URL, in bytes.
const MaxLength = 8 << 10

// ErrInvalid is wrapped by every error Canonical returns.
var ErrInvalid = errors.New("invalid url")

// Policy is what Canonical refuses besides malformed URLs.
type Policy struct {
	// AllowPrivate admits private destinations (see Private): an intranet
	// shortener's. Off, they are refused.
	AllowPrivate bool
	// IsSelf reports whether host at port is this service. host is a
	// canonical Host.Bare (lower-case ASCII name without trailing dot,
	// dotted IPv4, or [IPv6]), port the port a browser connects to (80 or
	// 443 when the URL has none). Canonical asks again with the IPv4
	// address of an IPv4-mapped IPv6 host, and with 127.0.0.1 and [::1]
	// for localhost and *.localhost. nil: nothing is. It holds whatever
	// AllowPrivate says.
	IsSelf func(host string, port int) bool
}

// Canonical validates raw as a long URL under p and returns the form to
// store, the URL as a browser's parser reads it: lower-case scheme, the
// host canonical (Host.Name: punycode, dotted IPv4, compressed IPv6, a
// percent-encoded or fullwidth spelling decoded), no default port, and
// path, query and fragment as given. Canonical of its result is the
// result. The error says what is wrong.
func Canonical(raw string, p Policy) (string, error) {
	c, err := canonical(raw, p)
	if err != nil {
		return "", fmt.Errorf("%w: %s", ErrInvalid, err)
	}
	return c, nil
}

func canonical(raw string, p Policy) (string, error) {
	if raw == "" {
		return "", errors.New("the url is empty")
	}
	if len(raw) > MaxLength {
		return "", fmt.Errorf("the url is %d bytes long; the maximum is %d", len(raw), MaxLength)
	}
	if err := checkBytes(raw); err != nil {
		return "", err
	}
	colon := strings.IndexByte(raw, ':')
	if colon <= 0 || !validScheme(raw[:colon]) {
		return "", errors.New("the url is not absolute; it must start with http:// or https://")
	}
	scheme := strings.ToLower(raw[:colon])
	if scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("scheme %q is not allowed; use http or https", scheme)
	}
	rest := raw[colon+1:]
	if !strings.HasPrefix(rest, "//") {
		return "", fmt.Errorf("the url must have the form %s://host/path", scheme)
	}
	rest = rest[2:]
	// The authority ends where a browser ends it; for http(s) a backslash
	// is a slash.
	end := strings.IndexAny(rest, `/?#\`)
	if end < 0 {
		end = len(rest)
	}
	authority, rest := rest[:end], rest[end:]
	pathEnd := strings.IndexAny(rest, "?#")
	if pathEnd < 0 {
		pathEnd = len(rest)
	}
	if i := strings.IndexByte(rest[:pathEnd], '\\'); i >= 0 {
		return "", errors.New(`the url has a backslash (\) before its query, which browsers read as a slash; percent-encode it as %5C`)
	}
	if strings.IndexByte(authority, '@') >= 0 {
		return "", errors.New("user information (user:password@) is not allowed in the url")
	}
	hostPart, portPart, hasPort := splitHostPort(authority)
	if hostPart == "" {
		return "", errors.New("the url has no host")
	}
	port := 0
	if hasPort {
		if portPart == "" {
			return "", errors.New("the url has an empty port")
		}
		if !allDigits(portPart, 10) {
			return "", fmt.Errorf("invalid port %q", portPart)
		}
		n, err := strconv.Atoi(strings.TrimLeft(portPart, "0"))
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("port %q is out of range 1..65535", portPart)
		}
		port = n
	}
	h, err := ParseHost(hostPart)
	if err != nil {
		return "", err
	}
	effective := port
	if effective == 0 {
		effective = defaultPort(scheme)
	}
	var b strings.Builder
	b.Grow(len(raw) + 8)
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(h.Name)
	if port != 0 && port != defaultPort(scheme) {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(port))
	}
	b.WriteString(rest)
	out := b.String()
	if len(out) > MaxLength {
		return "", fmt.Errorf("the url is %d bytes long once canonical; the maximum is %d", len(out), MaxLength)
	}
	// net/url must read the same URL: the rest is checked by it (escapes)
	// and what it calls the host is ours.
	u, err := url.Parse(out)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", err
	}
	wantPort := ""
	if port != 0 && port != defaultPort(scheme) {
		wantPort = strconv.Itoa(port)
	}
	if u.Hostname() != strings.Trim(h.Name, "[]") || u.Port() != wantPort || u.User != nil || u.Opaque != "" {
		return "", fmt.Errorf("host %q is read differently by different URL parsers", hostPart)
	}
	if p.IsSelf != nil && isSelf(h, effective, p.IsSelf) {
		return "", fmt.Errorf("the url points at this service (%s); a short link cannot point to another short link", authority)
	}
	if !p.AllowPrivate {
		if why := Private(h); why != "" {
			return "", fmt.Errorf("the url points at a private destination (%s: %s); this server does not shorten links to loopback, private-network, link-local or metadata addresses", h.Name, why)
		}
	}
	return out, nil
}

// checkBytes refuses what no URL contains raw: spaces, controls and
// non-ASCII (percent-encode them; punycode for host names).
func checkBytes(raw string) error {
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == ' ':
			return fmt.Errorf("the url contains a space at byte %d; percent-encode it as %%20", i+1)
		case c < 0x20 || c == 0x7f:
			return fmt.Errorf("the url contains a control character (0x%02x) at byte %d", c, i+1)
		case c >= 0x80:
			r, _ := utf8.DecodeRuneInString(raw[i:])
			if r == utf8.RuneError {
				return fmt.Errorf("the url contains a byte that is not UTF-8 (0x%02x) at byte %d", c, i+1)
			}
			return fmt.Errorf("the url contains the non-ASCII character %q (%U) at byte %d; percent-encode it (and use punycode for host names)", r, r, i+1)
		}
	}
	return nil
}

// validScheme: a letter, then letters, digits, '+', '-' and '.'.
func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		switch {
		case c >= 'a' && c <= 'z':
		case i > 0 && (s[i] >= '0' && s[i] <= '9' || s[i] == '+' || s[i] == '-' || s[i] == '.'):
		default:
			return false
		}
	}
	return true
}

// splitHostPort splits an authority as a browser does: after a bracketed
// IPv6 address, or at the first colon.
func splitHostPort(a string) (host, port string, hasPort bool) {
	if strings.HasPrefix(a, "[") {
		if i := strings.IndexByte(a, ']'); i >= 0 {
			host, a = a[:i+1], a[i+1:]
			if a == "" {
				return host, "", false
			}
			if a[0] != ':' {
				return host + a, "", false // refused by ParseHost
			}
			return host, a[1:], true
		}
		return a, "", false
	}
	if i := strings.IndexByte(a, ':'); i >= 0 {
		return a[:i], a[i+1:], true
	}
	return a, "", false
}

func defaultPort(scheme string) int {
	if scheme == "https" {
		return 443
	}
	return 80
}

// isLocalhost reports whether a bare domain is one browsers resolve to
// loopback without asking DNS.
func isLocalhost(name string) bool {
	return name == "localhost" || strings.HasSuffix(name, ".localhost")
}

func isSelf(h Host, port int, self func(string, int) bool) bool {
	bare := h.Bare()
	if self(bare, port) {
		return true
	}
	if h.IsIP() && h.Addr.Is4In6() && self(h.Unmapped().String(), port) {
		return true
	}
	if !h.IsIP() && isLocalhost(bare) {
		return self("localhost", port) || self("127.0.0.1", port) || self("[::1]", port)
	}
	return false
}

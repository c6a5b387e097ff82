package urlcheck

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// MaxLength is the longest accepted URL, in bytes.
const MaxLength = 8 << 10

// ErrInvalid is wrapped by every error Check returns.
var ErrInvalid = errors.New("invalid url")

// Check validates raw as a long URL. isSelf reports whether a host (given
// both as host:port and as the bare host name) is this service; nil means
// none is. The error says what is wrong.
func Check(raw string, isSelf func(host string) bool) error {
	if raw == "" {
		return fmt.Errorf("%w: the url is empty", ErrInvalid)
	}
	if len(raw) > MaxLength {
		return fmt.Errorf("%w: the url is %d bytes long; the maximum is %d", ErrInvalid, len(raw), MaxLength)
	}
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == ' ':
			return fmt.Errorf("%w: the url contains a space at byte %d; percent-encode it as %%20", ErrInvalid, i+1)
		case c < 0x20 || c == 0x7f:
			return fmt.Errorf("%w: the url contains a control character (0x%02x) at byte %d", ErrInvalid, c, i+1)
		case c >= 0x80:
			return fmt.Errorf("%w: the url contains a non-ASCII byte at byte %d; percent-encode it (and use punycode for host names)", ErrInvalid, i+1)
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if u.Scheme == "" {
		return fmt.Errorf("%w: the url is not absolute; it must start with http:// or https://", ErrInvalid)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: scheme %q is not allowed; use http or https", ErrInvalid, u.Scheme)
	}
	if u.Opaque != "" || !strings.HasPrefix(raw[len(u.Scheme)+1:], "//") {
		return fmt.Errorf("%w: the url must have the form %s://host/path", ErrInvalid, u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("%w: user information (user:password@) is not allowed in the url", ErrInvalid)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%w: the url has no host", ErrInvalid)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%w: port %q is out of range 1..65535", ErrInvalid, p)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return fmt.Errorf("%w: the url has an empty port", ErrInvalid)
	}
	if strings.HasPrefix(host, ".") || strings.Contains(host, "..") {
		return fmt.Errorf("%w: host %q is not a valid host name", ErrInvalid, host)
	}
	if isSelf != nil {
		bare := strings.TrimSuffix(strings.ToLower(host), ".")
		withPort := bare
		if p := u.Port(); p != "" {
			withPort = joinHostPort(bare, p)
		}
		if isSelf(withPort) || isSelf(bare) {
			return fmt.Errorf("%w: the url points at this service (%s); a short link cannot point to another short link", ErrInvalid, u.Host)
		}
	}
	return nil
}

func joinHostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

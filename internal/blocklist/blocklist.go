// Package blocklist is the destination blocklist (--blocklist FILE): a set
// of domains whose links are refused at create and answered 410 at
// redirect. A domain blocks itself and every subdomain.
package blocklist

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
)

// MaxLineBytes bounds one line of the file.
const MaxLineBytes = 1024

// List is safe for concurrent use; Load replaces its contents atomically.
// The zero List blocks nothing.
type List struct {
	set atomic.Pointer[map[string]struct{}]
}

// Load reads path: one domain per line ("example.com" also blocks
// "a.example.com"), blank lines and lines starting with '#' ignored, case
// and a trailing dot ignored; a "*." prefix is accepted and means the same.
// Domains are ASCII: an internationalised name is written in its punycode
// (xn--) form, as a browser sends it. On any error the list is unchanged.
func (l *List) Load(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("blocklist: %w", err)
	}
	defer f.Close()
	set, err := parse(f.Name(), bufio.NewScanner(f))
	if err != nil {
		return 0, err
	}
	l.set.Store(&set)
	return len(set), nil
}

func parse(name string, sc *bufio.Scanner) (map[string]struct{}, error) {
	sc.Buffer(make([]byte, 0, 256), MaxLineBytes)
	set := map[string]struct{}{}
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		d, err := normalize(line)
		if err != nil {
			return nil, fmt.Errorf("blocklist %s:%d: %q: %w", name, n, line, err)
		}
		set[d] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("blocklist %s: %w", name, err)
	}
	return set, nil
}

func normalize(d string) (string, error) {
	d = strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(d), "*."), ".")
	if d == "" {
		return "", fmt.Errorf("not a domain")
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", fmt.Errorf("not a domain name (use the xn-- form of an internationalised name)")
		}
	}
	return d, nil
}

// Len is the number of listed domains.
func (l *List) Len() int {
	if p := l.set.Load(); p != nil {
		return len(*p)
	}
	return 0
}

// BlockedHost reports whether host (a URL's host, any case, with or
// without a trailing dot or port-less) is a listed domain or under one.
func (l *List) BlockedHost(host string) bool {
	p := l.set.Load()
	if p == nil || len(*p) == 0 {
		return false
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for {
		if _, ok := (*p)[host]; ok {
			return true
		}
		i := strings.IndexByte(host, '.')
		if i < 0 {
			return false
		}
		host = host[i+1:]
	}
}

// BlockedURL reports whether the host of rawURL is blocked; a URL that
// does not parse is not (validation refuses it elsewhere).
func (l *List) BlockedURL(rawURL string) bool {
	if l == nil {
		return false
	}
	p := l.set.Load()
	if p == nil || len(*p) == 0 {
		return false
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	return l.BlockedHost(u.Hostname())
}

package urlcheck

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Host is a URL host as a browser's URL parser reads it (the WHATWG URL
// standard's host parser for http and https).
type Host struct {
	// Name is the host's serialization, what a browser puts in its address
	// bar and connects to: a lower-case ASCII domain (non-ASCII labels in
	// punycode, a trailing dot kept), a dotted-decimal IPv4 address, or an
	// IPv6 address in brackets.
	Name string
	// Addr is the address when the host is an IP address (IPv4-mapped IPv6
	// addresses stay mapped; see Unmapped).
	Addr netip.Addr
}

// IsIP reports whether h is an IP address.
func (h Host) IsIP() bool { return h.Addr.IsValid() }

// Bare is Name without a domain's trailing dot: "example.com." and
// "example.com" reach the same server.
func (h Host) Bare() string {
	if h.IsIP() {
		return h.Name
	}
	return strings.TrimSuffix(h.Name, ".")
}

// Unmapped is Addr with an IPv4-mapped IPv6 address (::ffff:127.0.0.1)
// turned into the IPv4 address it reaches.
func (h Host) Unmapped() netip.Addr { return h.Addr.Unmap() }

// uts46 is the UTS #46 processing the WHATWG URL standard's "domain to
// ASCII" asks for: non-transitional, CheckBidi and CheckJoiners on,
// CheckHyphens, UseSTD3ASCIIRules and VerifyDnsLength off (the URL
// standard forbids its own set of ASCII code points afterwards).
var uts46 = idna.New(
	idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false),
	idna.StrictDomainName(false), idna.CheckHyphens(false), idna.CheckJoiners(true),
	idna.VerifyDNSLength(false),
)

// ParseHost parses the host part of an http(s) URL (without port, IPv6 in
// brackets, possibly percent-encoded) the way a browser does: IPv6 in
// brackets (zone ids refused), else percent-decode, UTF-8 decode, UTS #46
// mapping to ASCII (fullwidth letters, ideographic full stops, case, …),
// refuse the code points no browser accepts in a domain, and read a host
// that ends in a number as IPv4 in any of its forms (127.1, 2130706433,
// 0x7f.1, 017700000001). Empty labels (a leading dot, "a..b") are refused
// too: no browser reaches a server through them.
func ParseHost(raw string) (Host, error) {
	if raw == "" {
		return Host{}, errors.New("the url has no host")
	}
	if raw[0] == '[' {
		return parseIPv6(raw)
	}
	dec, err := percentDecode(raw)
	if err != nil {
		return Host{}, err
	}
	if !utf8.ValidString(dec) {
		return Host{}, fmt.Errorf("host %q is not a valid host name: it is not UTF-8 once percent-decoded", raw)
	}
	if i := indexForbidden(dec); i >= 0 {
		return Host{}, forbiddenError(raw, dec, i)
	}
	ascii, err := uts46.ToASCII(dec)
	if err != nil {
		return Host{}, fmt.Errorf("host %q is not a valid host name: %s", raw, strings.TrimPrefix(err.Error(), "idna: "))
	}
	if i := indexForbidden(ascii); i >= 0 {
		return Host{}, forbiddenError(raw, ascii, i)
	}
	for i := 0; i < len(ascii); i++ {
		if ascii[i] >= 0x80 { // ToASCII never leaves one; be sure
			return Host{}, fmt.Errorf("host %q is not a valid host name", raw)
		}
	}
	// The stored host must read back as itself: a label whose punycode the
	// decoder refuses (FuzzCanonical found a very long one) is not kept.
	if ascii != dec {
		if again, err := uts46.ToASCII(ascii); err != nil || again != ascii {
			return Host{}, fmt.Errorf("host %q is not a valid host name: its ASCII form %.80q does not read back as itself", raw, ascii)
		}
	}
	if ascii == "" || ascii == "." {
		return Host{}, errors.New("the url has no host")
	}
	if ascii[0] == '.' || strings.Contains(ascii, "..") {
		return Host{}, fmt.Errorf("host %q is not a valid host name: it has an empty label", raw)
	}
	if endsInNumber(ascii) {
		a, ok := parseIPv4(ascii)
		if !ok {
			return Host{}, fmt.Errorf("host %q is not a valid host name: it ends in a number but is not an IPv4 address", raw)
		}
		return Host{Name: a.String(), Addr: a}, nil
	}
	return Host{Name: ascii}, nil
}

// percentDecode decodes %XX escapes; a '%' not followed by two hex digits
// is refused (a browser would keep it, then refuse the '%').
func percentDecode(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) || unhex(s[i+1]) < 0 || unhex(s[i+2]) < 0 {
			return "", fmt.Errorf("host %q is not a valid host name: it has a %% that is not an escape", s)
		}
		b = append(b, byte(unhex(s[i+1])<<4|unhex(s[i+2])))
		i += 2
	}
	return string(b), nil
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// indexForbidden returns the index of the first forbidden domain code
// point of the URL standard in s (C0 controls, space, # % / : < > ? @ [ \
// ] ^ | and DEL), or -1.
func indexForbidden(s string) int {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c <= 0x20, c == 0x7f:
			return i
		case strings.IndexByte("#%/:<>?@[\\]^|", c) >= 0:
			return i
		}
	}
	return -1
}

func forbiddenError(raw, s string, i int) error {
	if raw != s {
		return fmt.Errorf("host %q is not a valid host name: once decoded (%q) it contains %q, which browsers refuse in a host", raw, s, s[i])
	}
	return fmt.Errorf("host %q is not a valid host name: it contains %q, which browsers refuse in a host", raw, s[i])
}

// endsInNumber is the URL standard's "ends in a number" check: the last
// label (ignoring one trailing dot) is digits, or 0x followed by hex
// digits.
func endsInNumber(s string) bool {
	s = strings.TrimSuffix(s, ".")
	last := s[strings.LastIndexByte(s, '.')+1:]
	if last == "" {
		return false
	}
	if allDigits(last, 10) {
		return true
	}
	if len(last) >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X') {
		return allDigits(last[2:], 16)
	}
	return false
}

func allDigits(s string, base int) bool {
	for i := 0; i < len(s); i++ {
		d := unhex(s[i])
		if d < 0 || d >= base {
			return false
		}
	}
	return true
}

// parseIPv4 is the URL standard's IPv4 parser: one to four parts, each
// decimal, octal (leading 0) or hex (0x); the last part fills the
// remaining bytes.
func parseIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		n, ok := parseIPv4Number(p)
		if !ok {
			return netip.Addr{}, false
		}
		nums[i] = n
	}
	last := len(nums) - 1
	for _, n := range nums[:last] {
		if n > 255 {
			return netip.Addr{}, false
		}
	}
	if nums[last] >= 1<<(8*(5-len(nums))) {
		return netip.Addr{}, false
	}
	v := nums[last]
	for i, n := range nums[:last] {
		v += n << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func parseIPv4Number(p string) (uint64, bool) {
	if p == "" {
		return 0, false
	}
	base := 10
	switch {
	case len(p) >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'):
		p, base = p[2:], 16
	case len(p) >= 2 && p[0] == '0':
		p, base = p[1:], 8
	}
	if p == "" {
		return 0, true // "0x" is 0
	}
	if !allDigits(p, base) {
		return 0, false
	}
	n, err := strconv.ParseUint(p, base, 64)
	return n, err == nil // the caller refuses a part too big for its place
}

// parseIPv6 reads "[…]": an IPv6 address without zone.
func parseIPv6(raw string) (Host, error) {
	if len(raw) < 2 || raw[len(raw)-1] != ']' {
		return Host{}, fmt.Errorf("host %q is not a valid host name: it has no closing ]", raw)
	}
	in := raw[1 : len(raw)-1]
	if strings.IndexByte(in, '%') >= 0 {
		return Host{}, fmt.Errorf("host %q is not a valid host name: it has an IPv6 zone id, which browsers refuse", raw)
	}
	a, err := netip.ParseAddr(in)
	if err != nil || !a.Is6() || a.Zone() != "" {
		return Host{}, fmt.Errorf("host %q is not a valid host name: it is not an IPv6 address", raw)
	}
	return Host{Name: "[" + ipv6String(a) + "]", Addr: a}, nil
}

// ipv6String is the URL standard's IPv6 serializer: lower-case hex pieces,
// the first longest run of two or more zero pieces compressed to "::", and
// no dotted IPv4 tail (::ffff:7f00:1, not ::ffff:127.0.0.1).
func ipv6String(a netip.Addr) string {
	b := a.As16()
	var pieces [8]uint16
	for i := range pieces {
		pieces[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	start, length := -1, 1
	for i := 0; i < 8; {
		if pieces[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && pieces[j] == 0 {
			j++
		}
		if j-i > length {
			start, length = i, j-i
		}
		i = j
	}
	var sb strings.Builder
	for i := 0; i < 8; i++ {
		if i == start {
			sb.WriteString("::")
			i += length - 1
			continue
		}
		if sb.Len() > 0 && !strings.HasSuffix(sb.String(), ":") {
			sb.WriteByte(':')
		}
		sb.WriteString(strconv.FormatUint(uint64(pieces[i]), 16))
	}
	return sb.String()
}

package urlcheck

import "net/netip"

// privateNames are host names that reach the machine itself or its cloud
// provider's metadata service whatever DNS says.
var privateNames = map[string]string{
	"metadata.google.internal": "cloud metadata service",
	"metadata":                 "cloud metadata service",
}

var (
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	sharedSpace = netip.MustParsePrefix("100.64.0.0/10")
)

// Private says why h is a private destination, one a public shortener must
// not send visitors to (a redirect would reach the visitor's own machine or
// network, and previews or checks run by this service would reach its
// network), or "" when it is not: loopback, 0.0.0.0/8, RFC 1918 and RFC 6598
// networks, link-local (169.254.0.0/16, fe80::/10: cloud metadata at
// 169.254.169.254), unique-local IPv6 (fc00::/7), the unspecified address,
// localhost and *.localhost, and the metadata host names. IPv4-mapped IPv6
// addresses count as their IPv4 address.
func Private(h Host) string {
	if !h.IsIP() {
		name := h.Bare()
		if isLocalhost(name) {
			return "localhost"
		}
		return privateNames[name]
	}
	a := h.Unmapped()
	switch {
	case a.IsLoopback():
		return "loopback"
	case a.IsUnspecified(), a.Is4() && thisNetwork.Contains(a):
		return "this host"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return "link-local"
	case a.IsPrivate():
		if a.Is4() {
			return "private network"
		}
		return "unique-local"
	case a.Is4() && sharedSpace.Contains(a):
		return "shared address space"
	}
	return ""
}

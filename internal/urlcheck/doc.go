// Package urlcheck validates the long URLs that short links point to and
// returns them in canonical form: the URL a browser will follow.
//
// A long URL must be an absolute http or https URL with a host, at most
// MaxLength bytes, printable ASCII only (no spaces, no control characters,
// no raw non-ASCII: percent-encode it, or use punycode for host names), with
// no user information (user:password@ is refused: it leaks credentials into
// every redirect and is the classic disguise of phishing links such as
// https://bank.example@evil.example/).
//
// The host is read as a browser's URL parser reads it (ParseHost, the
// WHATWG URL standard's host parser: percent-decoding, UTS #46 mapping with
// golang.org/x/net/idna, IPv4 in its decimal, octal, hex and short forms,
// IPv6), and stored in that reading, so no stored host is one a browser
// would read differently. Checks run on that reading: the URL must not
// point back at this service in any spelling (Policy.IsSelf: a redirect
// loop, or one short link laundered through another), and, unless
// Policy.AllowPrivate, not at a private destination (Private: loopback,
// private networks, link-local, localhost, cloud metadata).
//
// It imports nothing local.
package urlcheck

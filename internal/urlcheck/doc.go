// Package urlcheck validates the long URLs that short links point to.
//
// A long URL must be an absolute http or https URL with a host, at most
// MaxLength bytes, printable ASCII only (no spaces, no control characters,
// no raw non-ASCII: percent-encode it, or use punycode for host names), with
// no user information (user:password@ is refused: it leaks credentials into
// every redirect and is the classic disguise of phishing links such as
// https://bank.example@evil.example/), and not pointing back at this
// service (which would make a redirect loop or launder one short link
// through another).
//
// It imports nothing local.
package urlcheck

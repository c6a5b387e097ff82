// Package shortcode generates and validates short codes.
//
// Generated codes are 7 characters of base62 drawn from crypto/rand without
// modulo bias (62^7 ≈ 3.5e12 codes: not enumerable); uniqueness is the
// store's job (its unique key), the caller retries on a conflict. Custom codes
// match [A-Za-z0-9_-]{1,64} and are not one of the reserved words, compared
// case-insensitively, that name the service's own routes (Valid).
//
// WellFormed (and WellFormedString) is the one syntax check of a code that
// may exist: [A-Za-z0-9_-]{1,64}, every generated and custom code, without
// the reserved-word check. The redirect hot path calls it on the request's
// bytes; it does not allocate.
//
// It imports nothing local.
package shortcode

package shortcode

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Alphabet is the base62 alphabet of generated codes.
const Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Length is the length of a generated code.
const Length = 7

// MaxLength is the longest custom code.
const MaxLength = 64

// reserved are words a custom code may not be (in any case): the service's
// own paths and names likely to become paths.
var reserved = map[string]bool{
	"api": true, "health": true, "ready": true, "metrics": true, "static": true,
	"ui": true, "admin": true, "docs": true, "doc": true, "openapi": true,
	"robots": true, "login": true, "logout": true, "assets": true, "www": true,
	"cluster": true, "bulk": true, "stats": true, "links": true, "favicon": true,
	"healthz": true, "readyz": true, "livez": true, "status": true, "debug": true,
	"swagger": true, "well-known": true, "_": true, "-": true,
	"v4": true, // the Bitly-compatible API
}

// Reserved reports whether code is a reserved word (case-insensitively).
func Reserved(code string) bool { return reserved[strings.ToLower(code)] }

// rejectAbove is the largest multiple of 62 that fits in a byte: random bytes
// at or above it are discarded so that b%62 is uniform.
const rejectAbove = 256 - 256%len(Alphabet) // 248

// Generate returns a new random code of Length base62 characters that is
// not a reserved word (a generated "metrics" would hide behind /metrics).
func Generate() (string, error) { return generate(rand.Reader, Length) }

// MinLength is the shortest length GenerateLength accepts.
const MinLength = 4

// GenerateLength is Generate with n characters, MinLength to MaxLength
// (the Shlink API's shortCodeLength).
func GenerateLength(n int) (string, error) {
	if n < MinLength || n > MaxLength {
		return "", fmt.Errorf("%w: a generated code has %d to %d characters, not %d", ErrInvalid, MinLength, MaxLength, n)
	}
	return generate(rand.Reader, n)
}

func generate(r io.Reader, length int) (string, error) {
	for {
		code, err := generateOnce(r, length)
		if err != nil || !Reserved(code) {
			return code, err
		}
	}
}

func generateOnce(r io.Reader, length int) (string, error) {
	var arr [MaxLength]byte
	out := arr[:length]
	var buf [16]byte
	n := 0
	for n < length {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return "", fmt.Errorf("generate code: %w", err)
		}
		for _, b := range buf {
			if int(b) >= rejectAbove {
				continue
			}
			out[n] = Alphabet[int(b)%len(Alphabet)]
			n++
			if n == length {
				break
			}
		}
	}
	return string(out), nil
}

// codeChar[c] reports whether byte c may appear in a code: A-Z, a-z, 0-9,
// '_' and '-'.
var codeChar = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
	}
	return t
}()

// badChar returns the index of the first byte of s that may not appear in a
// code, or -1.
func badChar[T string | []byte](s T) int {
	for i := 0; i < len(s); i++ {
		if !codeChar[s[i]] {
			return i
		}
	}
	return -1
}

// WellFormed reports whether b is a well-formed code: 1 to MaxLength bytes
// of A-Z, a-z, 0-9, '_' and '-'. Every code that can exist is well-formed,
// generated or custom (Valid), reserved words included: it is the check of
// a lookup (the redirect, the API's routes of an existing code). It does
// not allocate; the redirect hot path calls it with the request's bytes.
func WellFormed(b []byte) bool {
	return len(b) > 0 && len(b) <= MaxLength && badChar(b) < 0
}

// WellFormedString is WellFormed for a string.
func WellFormedString(s string) bool {
	return len(s) > 0 && len(s) <= MaxLength && badChar(s) < 0
}

// ErrInvalid is wrapped by every error Valid returns.
var ErrInvalid = errors.New("invalid code")

// Valid checks a custom code, the code a client asks for when it creates a
// link: well-formed (WellFormedString) and not a reserved word. The error
// says what is wrong.
func Valid(code string) error {
	if code == "" {
		return fmt.Errorf("%w: the code is empty; use 1 to %d characters of A-Z, a-z, 0-9, '_' and '-'", ErrInvalid, MaxLength)
	}
	if len(code) > MaxLength {
		return fmt.Errorf("%w: the code is %d characters long; the maximum is %d", ErrInvalid, len(code), MaxLength)
	}
	if i := badChar(code); i >= 0 {
		// Name the character, not its first byte (a Cyrillic е is not 'Ð'),
		// and count characters, not bytes.
		r, _ := utf8.DecodeRuneInString(code[i:])
		name := fmt.Sprintf("%q", r)
		if r >= utf8.RuneSelf {
			name += fmt.Sprintf(" (%U)", r)
		}
		return fmt.Errorf("%w: character %s at position %d is not allowed; use A-Z, a-z, 0-9, '_' and '-'", ErrInvalid, name, utf8.RuneCountInString(code[:i])+1)
	}
	if Reserved(code) {
		return fmt.Errorf("%w: %q is a reserved word", ErrInvalid, code)
	}
	return nil
}

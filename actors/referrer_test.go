package actors

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCleanReferrer(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Example.COM", "example.com"},
		{"[2001:DB8::1]", "[2001:db8::1]"},
		{"my_host-1.example", "my_host-1.example"},
		{"ex<ample>.com", "example.com"},
		{"evil.com\r\nX-Injected: 1", "evil.comx-injected:1"},
		{"a b\"c'", "abc"},
		{"ex%41mple.com", ""}, // percent-encoded: (other)
		{"bücher.de", "bücher.de"},
		{"пример.рф", "пример.рф"},
		{"\u202egoogle.com", "google.com"}, // a bidi override is not a letter
		{"bad\xff\xfeutf8", "badutf8"},
		{"\x00\x01", ""},
	} {
		if got := string(cleanReferrer(nil, []byte(c.in))); got != c.want {
			t.Errorf("cleanReferrer(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// Cut at the bound, never inside a character.
	long := strings.Repeat("é", 100)
	got := cleanReferrer(nil, []byte(long))
	if len(got) > maxReferrerBytes || !utf8.Valid(got) || len(got) < maxReferrerBytes-1 {
		t.Fatalf("cut to %d bytes (valid UTF-8: %v), bound %d", len(got), utf8.Valid(got), maxReferrerBytes)
	}
	// The ring already cut a host mid-character: the partial rune is dropped.
	if got := string(cleanReferrer(nil, []byte("ab\xc3"))); got != "ab" {
		t.Fatalf("partial rune kept: %q", got)
	}
}

func TestBatcher_InternCleansAndCountsGarbageAsOther(t *testing.T) {
	b := &batcher{refs: make(map[string]string)}
	if got := b.intern([]byte("<>\"")); got != "(other)" {
		t.Fatalf("intern of a header with no host characters = %q", got)
	}
	if b.intern([]byte("A.com")) != "a.com" || b.intern(nil) != "" {
		t.Fatal("intern")
	}
	if n := testing.AllocsPerRun(100, func() { b.intern([]byte("A.com")) }); n != 0 {
		t.Fatalf("interning a known host allocates %v", n)
	}
}

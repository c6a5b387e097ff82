package storage

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"
)

func TestCursor_EncodeDecode(t *testing.T) {
	f := func(c Cursor) {
		t.Helper()
		got, err := DecodeCursor(c.Encode())
		if err != nil {
			t.Fatalf("DecodeCursor(%q): %v", c.Encode(), err)
		}
		if !got.CreatedAt.Equal(c.CreatedAt) || got.Code != c.Code {
			t.Fatalf("round trip: got %v %q, want %v %q", got.CreatedAt, got.Code, c.CreatedAt, c.Code)
		}
		if got.CreatedAt.Location() != time.UTC {
			t.Fatalf("decoded time in %v, want UTC", got.CreatedAt.Location())
		}
	}
	f(Cursor{CreatedAt: time.Date(2024, 3, 10, 12, 0, 0, 123456789, time.UTC), Code: "abc"})
	f(Cursor{CreatedAt: time.Date(2024, 3, 10, 12, 0, 0, 0, time.FixedZone("X", 3600)), Code: "a:b-_"})
	f(Cursor{CreatedAt: time.Unix(-5, 0), Code: "Z"})
}

func TestDecodeCursor_Invalid(t *testing.T) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for name, s := range map[string]string{
		"empty":        "",
		"not base64":   "!!!",
		"padded":       "YQ==",
		"no separator": b64("12345"),
		"no code":      b64("12345:"),
		"bad number":   b64("12x45:abc"),
		"overflow":     b64("99999999999999999999:abc"),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeCursor(s); !errors.Is(err, ErrInvalidCursor) {
				t.Fatalf("DecodeCursor(%q) = %v, want ErrInvalidCursor", s, err)
			}
		})
	}
}

func TestCursor_Before(t *testing.T) {
	t0 := time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)
	c := Cursor{CreatedAt: t0, Code: "m"}
	for name, tc := range map[string]struct {
		at   time.Time
		code string
		want bool
	}{
		"older":              {t0.Add(-time.Nanosecond), "z", true},
		"newer":              {t0.Add(time.Nanosecond), "a", false},
		"same time, smaller": {t0, "l", true},
		"same time, prefix":  {t0, "", true},
		"same time, larger":  {t0, "mm", false},
		"the cursor itself":  {t0, "m", false},
	} {
		t.Run(name, func(t *testing.T) {
			l := &Link{CreatedAt: tc.at, Code: tc.code}
			if got := c.Before(l); got != tc.want {
				t.Fatalf("Before(%v, %q) = %v, want %v", tc.at, tc.code, got, tc.want)
			}
		})
	}
}

package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minibitly/minibitly/storage"
)

// base is the fixtures' reference time. Offsets carry a 123 ns remainder so
// that a backend keeping microseconds truncates and rounds alike.
var base = time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return base.Add(d + 123) }

func sameTime(got, want time.Time) bool {
	return got.Truncate(time.Microsecond).Equal(want.Truncate(time.Microsecond))
}

// timeDiff describes how got differs from want, or returns "".
func timeDiff(field string, got, want time.Time) string {
	if want.IsZero() {
		if !got.IsZero() {
			return fmt.Sprintf("%s = %v, want the zero time", field, got)
		}
		return ""
	}
	if !sameTime(got, want) {
		return fmt.Sprintf("%s = %v, want %v", field, got, want.UTC())
	}
	if got.Location() != time.UTC {
		return fmt.Sprintf("%s = %v is in %v, want UTC", field, got, got.Location())
	}
	return ""
}

// linkDiff lists every field of got that differs from want.
func linkDiff(got, want storage.Link) string {
	var d []string
	add := func(field string, g, w any) {
		if g != w {
			d = append(d, fmt.Sprintf("%s = %#v, want %#v", field, g, w))
		}
	}
	add("Code", got.Code, want.Code)
	add("URL", got.URL, want.URL)
	add("Title", got.Title, want.Title)
	if !slices.Equal(got.Tags, want.Tags) { // nil and empty are equal
		d = append(d, fmt.Sprintf("Tags = %q, want %q", got.Tags, want.Tags))
	}
	for _, s := range []string{
		timeDiff("CreatedAt", got.CreatedAt, want.CreatedAt),
		timeDiff("UpdatedAt", got.UpdatedAt, want.UpdatedAt),
		timeDiff("ExpiresAt", got.ExpiresAt, want.ExpiresAt),
	} {
		if s != "" {
			d = append(d, s)
		}
	}
	add("MaxVisits", got.MaxVisits, want.MaxVisits)
	add("RedirectStatus", got.RedirectStatus, want.RedirectStatus)
	add("ForwardQuery", got.ForwardQuery, want.ForwardQuery)
	add("CacheMaxAge", got.CacheMaxAge, want.CacheMaxAge)
	add("Disabled", got.Disabled, want.Disabled)
	add("CreatedBy", got.CreatedBy, want.CreatedBy)
	add("Version", got.Version, want.Version)
	return strings.Join(d, "; ")
}

func checkLink(t *testing.T, what string, got, want storage.Link) {
	t.Helper()
	if d := linkDiff(got, want); d != "" {
		t.Errorf("%s %q: %s", what, want.Code, d)
	}
}

func keyDiff(got, want storage.APIKey) string {
	var d []string
	add := func(field string, g, w any) {
		if g != w {
			d = append(d, fmt.Sprintf("%s = %#v, want %#v", field, g, w))
		}
	}
	add("ID", got.ID, want.ID)
	add("Name", got.Name, want.Name)
	add("Hash", got.Hash, want.Hash)
	add("Prefix", got.Prefix, want.Prefix)
	add("OwnLinksOnly", got.OwnLinksOnly, want.OwnLinksOnly)
	if !slices.Equal(got.Scopes, want.Scopes) || (got.Scopes == nil) != (want.Scopes == nil) {
		d = append(d, fmt.Sprintf("Scopes = %#v, want %#v (nil = every scope, [] = none)", got.Scopes, want.Scopes))
	}
	for _, s := range []string{
		timeDiff("CreatedAt", got.CreatedAt, want.CreatedAt),
		timeDiff("RevokedAt", got.RevokedAt, want.RevokedAt),
		timeDiff("ExpiresAt", got.ExpiresAt, want.ExpiresAt),
	} {
		if s != "" {
			d = append(d, s)
		}
	}
	return strings.Join(d, "; ")
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want %v", what, err, target)
	}
}

// must fails the test on a non-nil err.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

package storagetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minibitly/minibitly/storage"
)

// RunLinkStore runs the LinkStore conformance tests. open returns a fresh,
// empty store and registers its cleanup with t.Cleanup.
func RunLinkStore(t *testing.T, open func(t *testing.T) storage.LinkStore) {
	t.Run("Ping", func(t *testing.T) { testPing(t, open(t)) })
	t.Run("CreateGetRoundTrip", func(t *testing.T) { testLinkRoundTrip(t, open(t)) })
	t.Run("CreateConflict", func(t *testing.T) { testLinkConflict(t, open(t)) })
	t.Run("ConcurrentCreate", func(t *testing.T) { testLinkConcurrentCreate(t, open(t)) })
	t.Run("GetMissing", func(t *testing.T) { testLinkMissing(t, open(t)) })
	t.Run("Delete", func(t *testing.T) { testLinkDelete(t, open(t)) })
	t.Run("Update", func(t *testing.T) { testLinkUpdate(t, open(t)) })
	t.Run("ConcurrentUpdate", func(t *testing.T) { testLinkConcurrentUpdate(t, open(t)) })
	t.Run("CreateLinks", func(t *testing.T) { testCreateLinks(t, open(t)) })
	t.Run("ListOrderAndPages", func(t *testing.T) { testListPages(t, open(t)) })
	t.Run("ListTag", func(t *testing.T) { testListTag(t, open(t)) })
	t.Run("ListCreatedBy", func(t *testing.T) { testListCreatedBy(t, open(t)) })
	t.Run("ListEmpty", func(t *testing.T) { testListEmpty(t, open(t)) })
	t.Run("ListInvalidCursor", func(t *testing.T) { testListInvalidCursor(t, open(t)) })
	t.Run("ListSkipsDeleted", func(t *testing.T) { testListDeleted(t, open(t)) })
	t.Run("DomainRedirects", func(t *testing.T) { testDomainRedirects(t, open(t)) })
	t.Run("GetLinks", func(t *testing.T) { testGetLinks(t, open(t)) })
}

// testDomainRedirects: none at first; a set replaces every field (an empty
// one clears it) and reads back as written.
func testDomainRedirects(t *testing.T, s storage.LinkStore) {
	ctx := t.Context()
	got, err := s.DomainRedirects(ctx)
	must(t, "DomainRedirects (fresh)", err)
	if got != (storage.DomainRedirects{}) {
		t.Fatalf("DomainRedirects on a fresh store = %+v; want none", got)
	}
	for _, want := range []storage.DomainRedirects{
		{BaseURL: "https://example.com/", Regular404: "https://example.com/404", InvalidShortURL: "https://example.com/invalid?x=1"},
		{BaseURL: "https://example.org/home"},
		{},
	} {
		must(t, "SetDomainRedirects", s.SetDomainRedirects(ctx, want))
		got, err := s.DomainRedirects(ctx)
		must(t, "DomainRedirects", err)
		if got != want {
			t.Fatalf("DomainRedirects after setting %+v = %+v", want, got)
		}
	}
}

func testPing(t *testing.T, s any) {
	p, ok := s.(storage.Pinger)
	if !ok {
		t.Skip("store does not implement storage.Pinger")
	}
	must(t, "Ping", p.Ping(t.Context()))
}

// newLink is a plain link as the API creates it: defaults everywhere.
func newLink(code string, created time.Time) storage.Link {
	return storage.Link{
		Code: code, URL: "https://example.com/" + code,
		CreatedAt: created, UpdatedAt: created,
		RedirectStatus: 302, CacheMaxAge: -1, Version: 1,
	}
}

func create(t *testing.T, s storage.LinkStore, ls ...storage.Link) {
	t.Helper()
	for _, l := range ls {
		must(t, "CreateLink "+l.Code, s.CreateLink(t.Context(), l))
	}
}

func testLinkRoundTrip(t *testing.T, s storage.LinkStore) {
	ctx := t.Context()
	cet := time.FixedZone("CET", 3600)
	full := storage.Link{
		Code:           "Full_link-1",
		URL:            "https://example.com/a/b?q=1&r=%20x#frag",
		Title:          `Tëst "title" ✓`,
		Tags:           []string{"summer", "Sale", "ünï", "summer-2024"},
		CreatedAt:      at(123456 * time.Microsecond).In(cet),
		UpdatedAt:      at(2*time.Second + 654321*time.Microsecond).In(cet),
		ExpiresAt:      at(48*time.Hour + 1*time.Microsecond).In(cet),
		MaxVisits:      42,
		RedirectStatus: 307,
		ForwardQuery:   true,
		Disabled:       true,
		CreatedBy:      "key-1",
		CacheMaxAge:    3600,
		Version:        1,
	}
	bare := storage.Link{
		Code: "b", URL: "https://b.example/", CreatedAt: at(time.Second), UpdatedAt: at(time.Second),
		RedirectStatus: 301, CacheMaxAge: 0, Version: 1, // 0 is a real max-age, not "default"
	}
	defaults := newLink("Defaults", at(2*time.Second))
	for _, l := range []storage.Link{full, bare, defaults} {
		must(t, "CreateLink "+l.Code, s.CreateLink(ctx, l))
	}
	for _, l := range []storage.Link{full, bare, defaults} {
		got, err := s.GetLink(ctx, l.Code)
		must(t, "GetLink "+l.Code, err)
		checkLink(t, "GetLink", got, l)
	}
	// Codes are case-sensitive: "defaults" is not "Defaults".
	_, err := s.GetLink(ctx, "defaults")
	wantErr(t, `GetLink "defaults"`, err, storage.ErrNotFound)
	must(t, `CreateLink "defaults"`, s.CreateLink(ctx, newLink("defaults", at(3*time.Second))))
	got, err := s.GetLink(ctx, "Defaults")
	must(t, "GetLink Defaults", err)
	checkLink(t, "GetLink after creating a code differing in case", got, defaults)

	// The store keeps its own copy of the tags.
	full.Tags[0] = "mutated"
	got, err = s.GetLink(ctx, full.Code)
	must(t, "GetLink", err)
	if got.Tags[0] != "summer" {
		t.Errorf("stored tags alias the caller's slice: %q", got.Tags)
	}
}

func testLinkConflict(t *testing.T, s storage.LinkStore) {
	ctx := t.Context()
	orig := newLink("taken", at(0))
	create(t, s, orig)
	dup := newLink("taken", at(time.Hour))
	dup.URL = "https://evil.example/"
	wantErr(t, "CreateLink of a taken code", s.CreateLink(ctx, dup), storage.ErrConflict)
	got, err := s.GetLink(ctx, "taken")
	must(t, "GetLink", err)
	checkLink(t, "GetLink after a refused create", got, orig)
}

func testLinkConcurrentCreate(t *testing.T, s storage.LinkStore) {
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			l := newLink("race", at(time.Duration(i)*time.Second))
			l.URL = fmt.Sprintf("https://example.com/%d", i)
			errs[i] = s.CreateLink(t.Context(), l)
		})
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("CreateLink succeeded twice for one code (goroutines %d and %d)", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, storage.ErrConflict):
			t.Fatalf("concurrent CreateLink: %v, want nil or ErrConflict", err)
		}
	}
	if won < 0 {
		t.Fatal("no concurrent CreateLink succeeded")
	}
	got, err := s.GetLink(t.Context(), "race")
	must(t, "GetLink", err)
	if want := fmt.Sprintf("https://example.com/%d", won); got.URL != want {
		t.Fatalf("URL = %q, want the winner's %q", got.URL, want)
	}
}

func testLinkMissing(t *testing.T, s storage.LinkStore) {
	ctx := t.Context()
	_, err := s.GetLink(ctx, "nope")
	wantErr(t, "GetLink of a missing code", err, storage.ErrNotFound)
	url := "https://x.example/"
	_, err = s.UpdateLink(ctx, "nope", storage.LinkPatch{URL: &url})
	wantErr(t, "UpdateLink of a missing code", err, storage.ErrNotFound)
	wantErr(t, "DeleteLink of a missing code", s.DeleteLink(ctx, "nope"), storage.ErrNotFound)
	_, err = s.GetLink(ctx, "nope")
	wantErr(t, "GetLink after refused writes", err, storage.ErrNotFound)
}

func testLinkDelete(t *testing.T, s storage.LinkStore) {
	ctx := t.Context()
	keep := newLink("keep", at(0))
	create(t, s, newLink("gone", at(0)), keep)
	must(t, "DeleteLink", s.DeleteLink(ctx, "gone"))
	_, err := s.GetLink(ctx, "gone")
	wantErr(t, "GetLink of a deleted code", err, storage.ErrNotFound)
	wantErr(t, "CreateLink of a deleted code", s.CreateLink(ctx, newLink("gone", at(time.Hour))), storage.ErrConflict)
	_, err = s.GetLink(ctx, "gone")
	wantErr(t, "GetLink after re-creating a deleted code", err, storage.ErrNotFound)
	title := "x"
	_, err = s.UpdateLink(ctx, "gone", storage.LinkPatch{Title: &title})
	wantErr(t, "UpdateLink of a deleted code", err, storage.ErrNotFound)
	wantErr(t, "DeleteLink twice", s.DeleteLink(ctx, "gone"), storage.ErrNotFound)
	errs, err := s.CreateLinks(ctx, []storage.Link{newLink("gone", at(time.Hour))})
	must(t, "CreateLinks", err)
	if len(errs) != 1 || !errors.Is(errs[0], storage.ErrConflict) {
		t.Fatalf("CreateLinks of a deleted code: %v, want [ErrConflict]", errs)
	}
	got, err := s.GetLink(ctx, "keep")
	must(t, "GetLink of a neighbour", err)
	checkLink(t, "GetLink of a neighbour", got, keep)
}

func testLinkUpdate(t *testing.T, s storage.LinkStore) {
	ctx := t.Context()
	orig := storage.Link{
		Code: "upd", URL: "https://a.example/", Title: "old", Tags: []string{"old", "keep"},
		CreatedAt: at(0), UpdatedAt: at(0), ExpiresAt: at(24 * time.Hour), MaxVisits: 10,
		RedirectStatus: 302, CacheMaxAge: -1, Version: 1,
	}
	other := newLink("other", at(time.Second))
	create(t, s, orig, other)

	check := func(what string, got storage.Link, want storage.Link, before time.Time) {
		t.Helper()
		// UpdatedAt is the store's clock at the update: compare it loosely.
		if got.UpdatedAt.Before(before.Add(-time.Second)) || got.UpdatedAt.After(time.Now().Add(time.Second)) {
			t.Errorf("%s: UpdatedAt = %v, want about %v", what, got.UpdatedAt, before)
		}
		if got.UpdatedAt.Location() != time.UTC {
			t.Errorf("%s: UpdatedAt in %v, want UTC", what, got.UpdatedAt.Location())
		}
		want.UpdatedAt = got.UpdatedAt
		checkLink(t, what, got, want)
		stored, err := s.GetLink(ctx, want.Code)
		must(t, "GetLink", err)
		checkLink(t, what+" then GetLink", stored, want)
	}

	// Every field at once.
	url, title, tags := "https://b.example/new", "new", []string{"new"}
	exp := at(72*time.Hour + 5*time.Microsecond).In(time.FixedZone("EST", -5*3600))
	maxv, status, fwd, age := int64(99), 308, true, 60
	before := time.Now()
	got, err := s.UpdateLink(ctx, "upd", storage.LinkPatch{
		URL: &url, Title: &title, Tags: &tags, ExpiresAt: &exp, MaxVisits: &maxv,
		RedirectStatus: &status, ForwardQuery: &fwd, CacheMaxAge: &age,
	})
	must(t, "UpdateLink", err)
	want := orig
	want.URL, want.Title, want.Tags, want.ExpiresAt, want.MaxVisits = url, title, tags, exp, maxv
	want.RedirectStatus, want.ForwardQuery, want.CacheMaxAge, want.Version = status, fwd, age, 2
	check("UpdateLink of every field", got, want, before)
	tags[0] = "mutated" // the store keeps its own copy
	stored, err := s.GetLink(ctx, "upd")
	must(t, "GetLink", err)
	if !slices.Equal(stored.Tags, []string{"new"}) {
		t.Errorf("stored tags alias the patch's slice: %q", stored.Tags)
	}

	// Clearing: zero expiry, no visit limit, no tags, default max-age; the
	// rest stays.
	zero, none, noTags, def := time.Time{}, int64(0), []string{}, -1
	before = time.Now()
	got, err = s.UpdateLink(ctx, "upd", storage.LinkPatch{ExpiresAt: &zero, MaxVisits: &none, Tags: &noTags, CacheMaxAge: &def})
	must(t, "UpdateLink clearing", err)
	want.ExpiresAt, want.MaxVisits, want.Tags, want.CacheMaxAge, want.Version = time.Time{}, 0, nil, -1, 3
	check("UpdateLink clearing fields", got, want, before)

	// Disabling and enabling: the link stays, with every other field.
	for i, dis := range []bool{true, false} {
		before = time.Now()
		got, err = s.UpdateLink(ctx, "upd", storage.LinkPatch{Disabled: &dis})
		must(t, "UpdateLink disabled", err)
		want.Disabled, want.Version = dis, int64(4+i)
		check(fmt.Sprintf("UpdateLink disabled=%v", dis), got, want, before)
	}

	// A patch of one field leaves the others alone.
	fwdOff := false
	before = time.Now()
	got, err = s.UpdateLink(ctx, "upd", storage.LinkPatch{ForwardQuery: &fwdOff})
	must(t, "UpdateLink of one field", err)
	want.ForwardQuery, want.Version = false, 6
	check("UpdateLink of one field", got, want, before)

	// An empty patch still bumps the version.
	before = time.Now()
	got, err = s.UpdateLink(ctx, "upd", storage.LinkPatch{})
	must(t, "UpdateLink with an empty patch", err)
	want.Version = 7
	check("UpdateLink with an empty patch", got, want, before)

	// The neighbour is untouched.
	o, err := s.GetLink(ctx, "other")
	must(t, "GetLink other", err)
	checkLink(t, "GetLink of an untouched link", o, other)
}

func testLinkConcurrentUpdate(t *testing.T, s storage.LinkStore) {
	create(t, s, newLink("hot", at(0)))
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			title := fmt.Sprint(i)
			_, errs[i] = s.UpdateLink(t.Context(), "hot", storage.LinkPatch{Title: &title})
		})
	}
	wg.Wait()
	for _, err := range errs {
		must(t, "concurrent UpdateLink", err)
	}
	got, err := s.GetLink(t.Context(), "hot")
	must(t, "GetLink", err)
	if got.Version != 1+n {
		t.Fatalf("Version after %d concurrent updates = %d, want %d (an update was lost)", n, got.Version, 1+n)
	}
}

func testCreateLinks(t *testing.T, s storage.LinkStore) {
	ctx := t.Context()
	errs, err := s.CreateLinks(ctx, nil)
	must(t, "CreateLinks of nothing", err)
	if len(errs) != 0 {
		t.Fatalf("CreateLinks(nil) = %v, want no errors", errs)
	}

	stored := newLink("stored", at(0))
	create(t, s, stored)
	create(t, s, newLink("deleted", at(0)))
	must(t, "DeleteLink", s.DeleteLink(ctx, "deleted"))

	a := newLink("a", at(time.Second))
	a.Tags = []string{"bulk"}
	aDup := newLink("a", at(2*time.Second))
	aDup.URL = "https://dup.example/"
	b := newLink("b", at(3*time.Second))
	b.Title, b.MaxVisits = "bee", 5
	storedDup := newLink("stored", at(4*time.Second))
	c := newLink("c", at(5*time.Second))
	batch := []storage.Link{a, storedDup, aDup, b, newLink("deleted", at(6*time.Second)), c}
	errs, err = s.CreateLinks(ctx, batch)
	must(t, "CreateLinks", err)
	if len(errs) != len(batch) {
		t.Fatalf("CreateLinks returned %d errors for %d links", len(errs), len(batch))
	}
	for i, want := range []error{nil, storage.ErrConflict, storage.ErrConflict, nil, storage.ErrConflict, nil} {
		if (want == nil) != (errs[i] == nil) || (want != nil && !errors.Is(errs[i], want)) {
			t.Errorf("CreateLinks[%d] (%s): error %v, want %v", i, batch[i].Code, errs[i], want)
		}
	}
	for _, want := range []storage.Link{a, b, c, stored} { // the first "a" wins; "stored" is unchanged
		got, err := s.GetLink(ctx, want.Code)
		must(t, "GetLink "+want.Code, err)
		checkLink(t, "GetLink after CreateLinks", got, want)
	}
	_, err = s.GetLink(ctx, "deleted")
	wantErr(t, "GetLink of a deleted code after CreateLinks", err, storage.ErrNotFound)

	// A batch without a taken code (PostgreSQL's COPY path): every field
	// round-trips, tags and no tags, limits and none.
	full := newLink("full", at(7*time.Second))
	full.Title, full.Tags, full.ExpiresAt, full.MaxVisits = "t\"é", []string{"x", `q"\`}, at(time.Hour), 7
	full.RedirectStatus, full.ForwardQuery, full.CacheMaxAge, full.Disabled, full.CreatedBy = 301, true, 60, true, "k1"
	full.Version = 3
	plain := newLink("plain", at(8*time.Second))
	errs, err = s.CreateLinks(ctx, []storage.Link{full, plain})
	must(t, "CreateLinks of new codes", err)
	if len(errs) != 2 || errs[0] != nil || errs[1] != nil {
		t.Fatalf("CreateLinks of new codes: %v, want [nil nil]", errs)
	}
	for _, want := range []storage.Link{full, plain} {
		got, err := s.GetLink(ctx, want.Code)
		must(t, "GetLink "+want.Code, err)
		checkLink(t, "GetLink after CreateLinks of new codes", got, want)
	}
}

// listFixture creates 25 links with distinct and equal CreatedAt, codes that
// sort differently in byte order and in a natural-language collation, and
// tags red (every third) and blue (every fourth), in shuffled order. It
// returns them newest first.
func listFixture(t *testing.T, s storage.LinkStore) []storage.Link {
	t.Helper()
	same := at(10 * time.Second)
	var ls []storage.Link
	add := func(code string, created time.Time) {
		ls = append(ls, newLink(code, created))
	}
	for _, c := range []string{"A", "a", "B", "b", "_x", "-x", "ab", "Z9", "a_b"} {
		add(c, same)
	}
	add("next-us", same.Add(time.Microsecond)) // one microsecond apart
	add("prev-us", same.Add(-time.Microsecond))
	add("z", at(5*time.Second))
	add("zz", at(5*time.Second))
	for i := range 12 {
		add(fmt.Sprintf("d%02d", i), at(time.Duration(i*7%12)*time.Second+time.Duration(i)*time.Millisecond))
	}
	for i := range ls {
		ls[i].Title = fmt.Sprintf("link %d", i)
		if i%3 == 0 {
			ls[i].Tags = append(ls[i].Tags, "red")
		}
		if i%4 == 0 {
			ls[i].Tags = append(ls[i].Tags, "blue")
		}
	}
	rnd := rand.New(rand.NewPCG(7, 11))
	rnd.Shuffle(len(ls), func(i, j int) { ls[i], ls[j] = ls[j], ls[i] })
	create(t, s, ls...)
	sortNewestFirst(ls)
	return ls
}

func sortNewestFirst(ls []storage.Link) {
	slices.SortFunc(ls, func(a, b storage.Link) int {
		if c := b.CreatedAt.Truncate(time.Microsecond).Compare(a.CreatedAt.Truncate(time.Microsecond)); c != 0 {
			return c
		}
		return strings.Compare(b.Code, a.Code)
	})
}

// listAll pages through ListLinks and checks the page structure.
func listAll(t *testing.T, s storage.LinkStore, tag string, limit int) []storage.Link {
	t.Helper()
	var all []storage.Link
	cursor := ""
	for page := 0; ; page++ {
		if page > 1000 {
			t.Fatalf("tag %q limit %d: more than 1000 pages", tag, limit)
		}
		ls, next, err := s.ListLinks(t.Context(), storage.ListQuery{Limit: limit, Cursor: cursor, Tag: tag})
		must(t, fmt.Sprintf("ListLinks tag %q limit %d page %d", tag, limit, page), err)
		if len(ls) > limit {
			t.Fatalf("tag %q limit %d page %d: %d links", tag, limit, page, len(ls))
		}
		all = append(all, ls...)
		if next == "" {
			return all
		}
		if len(ls) != limit {
			t.Fatalf("tag %q limit %d page %d: %d links and a next cursor; only the last page may be short", tag, limit, page, len(ls))
		}
		if next == cursor {
			t.Fatalf("tag %q limit %d page %d: next cursor repeats the current one", tag, limit, page)
		}
		cursor = next
	}
}

func checkList(t *testing.T, what string, got, want []storage.Link) {
	t.Helper()
	codes := func(ls []storage.Link) []string {
		out := make([]string, len(ls))
		for i, l := range ls {
			out[i] = l.Code
		}
		return out
	}
	if !slices.Equal(codes(got), codes(want)) {
		t.Fatalf("%s:\n got %q\nwant %q", what, codes(got), codes(want))
	}
	for i := range got {
		checkLink(t, what, got[i], want[i])
	}
}

func testListPages(t *testing.T, s storage.LinkStore) {
	want := listFixture(t, s)
	for _, limit := range []int{1, 4, 5, 24, 25, 26, 1000} {
		checkList(t, fmt.Sprintf("ListLinks limit %d", limit), listAll(t, s, "", limit), want)
	}
	// Exactly full last page: 25 links in pages of 5 take 5 pages, the
	// last with next "".
	cursor := ""
	for page := range 5 {
		ls, next, err := s.ListLinks(t.Context(), storage.ListQuery{Limit: 5, Cursor: cursor})
		must(t, "ListLinks", err)
		if len(ls) != 5 {
			t.Fatalf("page %d: %d links, want 5", page, len(ls))
		}
		if (page == 4) != (next == "") {
			t.Fatalf("page %d of 5: next cursor %q", page, next)
		}
		cursor = next
	}
}

// testListCreatedBy: a list for one creator holds exactly its links, in
// order, whatever the page size; combined with a tag, both apply.
func testListCreatedBy(t *testing.T, s storage.LinkStore) {
	ctx := t.Context()
	var all []storage.Link
	for i := range 15 {
		l := newLink(fmt.Sprintf("cb%02d", i), at(time.Duration(i)*time.Second))
		switch i % 3 {
		case 0:
			l.CreatedBy = "k1"
		case 1:
			l.CreatedBy = "k2"
		}
		if i%2 == 0 {
			l.Tags = []string{"even"}
		}
		all = append(all, l)
	}
	create(t, s, all...)
	want := func(creator, tag string) []storage.Link {
		var out []storage.Link
		for i := len(all) - 1; i >= 0; i-- { // newest first
			if all[i].CreatedBy == creator && (tag == "" || all[i].HasTag(tag)) {
				out = append(out, all[i])
			}
		}
		return out
	}
	for _, c := range []string{"k1", "k2", "nobody"} {
		for _, tag := range []string{"", "even"} {
			for _, limit := range []int{1, 2, 100} {
				var got []storage.Link
				cursor := ""
				for page := 0; page < 100; page++ {
					ls, next, err := s.ListLinks(ctx, storage.ListQuery{Limit: limit, Cursor: cursor, Tag: tag, CreatedBy: c})
					must(t, "ListLinks CreatedBy", err)
					if len(ls) > limit {
						t.Fatalf("%d links on a page of %d", len(ls), limit)
					}
					got = append(got, ls...)
					if next == "" {
						break
					}
					cursor = next
				}
				checkList(t, fmt.Sprintf("ListLinks CreatedBy %q tag %q limit %d", c, tag, limit), got, want(c, tag))
			}
		}
	}
}

func testListTag(t *testing.T, s storage.LinkStore) {
	all := listFixture(t, s)
	filter := func(tag string) []storage.Link {
		var out []storage.Link
		for _, l := range all {
			if l.HasTag(tag) {
				out = append(out, l)
			}
		}
		return out
	}
	for _, tag := range []string{"red", "blue"} {
		want := filter(tag)
		if len(want) < 5 {
			t.Fatalf("fixture has %d %s links", len(want), tag)
		}
		for _, limit := range []int{1, 3, len(want), 100} {
			checkList(t, fmt.Sprintf("ListLinks tag %q limit %d", tag, limit), listAll(t, s, tag, limit), want)
		}
	}
	checkList(t, `ListLinks tag "Red"`, listAll(t, s, "Red", 10), nil)
	checkList(t, `ListLinks tag "re"`, listAll(t, s, "re", 10), nil)

	// Tags follow updates.
	moved := filter("red")[2]
	tags := []string{"green"}
	_, err := s.UpdateLink(t.Context(), moved.Code, storage.LinkPatch{Tags: &tags})
	must(t, "UpdateLink tags", err)
	green := listAll(t, s, "green", 10)
	if len(green) != 1 || green[0].Code != moved.Code || green[0].Version != 2 {
		t.Fatalf("ListLinks tag green after an update: %+v, want only %q at version 2", green, moved.Code)
	}
	for _, l := range listAll(t, s, "red", 10) {
		if l.Code == moved.Code {
			t.Fatalf("ListLinks tag red still lists %q after its tags were replaced", l.Code)
		}
	}
	if n := len(listAll(t, s, "red", 10)); n != len(filter("red"))-1 {
		t.Fatalf("ListLinks tag red: %d links, want %d", n, len(filter("red"))-1)
	}
}

func testListEmpty(t *testing.T, s storage.LinkStore) {
	ls, next, err := s.ListLinks(t.Context(), storage.ListQuery{Limit: 10})
	must(t, "ListLinks", err)
	if len(ls) != 0 || next != "" {
		t.Fatalf("ListLinks of an empty store = %d links, next %q", len(ls), next)
	}
}

func testListInvalidCursor(t *testing.T, s storage.LinkStore) {
	create(t, s, newLink("a", at(0)))
	for _, c := range []string{"!!not a cursor!!", "YWJj" /* base64 "abc" */, "%%%"} {
		_, _, err := s.ListLinks(t.Context(), storage.ListQuery{Limit: 10, Cursor: c})
		wantErr(t, fmt.Sprintf("ListLinks cursor %q", c), err, storage.ErrInvalidCursor)
	}
}

func testListDeleted(t *testing.T, s storage.LinkStore) {
	ctx := t.Context()
	all := listFixture(t, s)
	// Delete the last link of the first page: the cursor still leads on.
	first, next, err := s.ListLinks(t.Context(), storage.ListQuery{Limit: 5})
	must(t, "ListLinks", err)
	checkList(t, "first page", first, all[:5])
	gone := map[string]bool{all[4].Code: true, all[5].Code: true, all[len(all)-1].Code: true, all[12].Code: true}
	for code := range gone {
		must(t, "DeleteLink "+code, s.DeleteLink(ctx, code))
	}
	var want []storage.Link
	for _, l := range all {
		if !gone[l.Code] {
			want = append(want, l)
		}
	}
	rest, _, err := s.ListLinks(t.Context(), storage.ListQuery{Limit: 100, Cursor: next})
	must(t, "ListLinks after deleting the cursor's link", err)
	checkList(t, "page after the cursor's link was deleted", rest, want[4:])
	for _, limit := range []int{1, 7, 100} {
		checkList(t, fmt.Sprintf("ListLinks limit %d after deletes", limit), listAll(t, s, "", limit), want)
	}
	var red []storage.Link
	for _, l := range want {
		if l.HasTag("red") {
			red = append(red, l)
		}
	}
	checkList(t, "ListLinks tag red after deletes", listAll(t, s, "red", 2), red)
}

// testGetLinks: a store that reads many links at once (the loader's
// coalesced misses) returns exactly the live ones, as GetLink would.
func testGetLinks(t *testing.T, s storage.LinkStore) {
	br, ok := s.(storage.LinkBatchReader)
	if !ok {
		t.Skip("the store reads one link at a time")
	}
	ctx := t.Context()
	a, b, gone := newLink("a", at(0)), newLink("B", at(time.Second)), newLink("gone", at(0))
	a.Tags, a.MaxVisits = []string{"x", "y"}, 5
	create(t, s, a, b, gone)
	must(t, "DeleteLink", s.DeleteLink(ctx, "gone"))
	got, err := br.GetLinks(ctx, []string{"B", "missing", "gone", "a", "b"})
	must(t, "GetLinks", err)
	byCode := map[string]storage.Link{}
	for _, l := range got {
		byCode[l.Code] = l
	}
	if len(got) != 2 || len(byCode) != 2 {
		t.Fatalf("GetLinks returned %d links (%v), want a and B", len(got), byCode)
	}
	checkLink(t, "GetLinks a", byCode["a"], a)
	checkLink(t, "GetLinks B", byCode["B"], b)
	if got, err := br.GetLinks(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("GetLinks of nothing: %v, %v", got, err)
	}
}

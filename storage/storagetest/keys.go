package storagetest

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minibitly/minibitly/storage"
)

// RunKeyStore runs the KeyStore conformance tests. open returns a fresh,
// empty store and registers its cleanup with t.Cleanup.
func RunKeyStore(t *testing.T, open func(t *testing.T) storage.KeyStore) {
	t.Run("Ping", func(t *testing.T) { testPing(t, open(t)) })
	t.Run("CreateGet", func(t *testing.T) { testKeyCreateGet(t, open(t)) })
	t.Run("Conflict", func(t *testing.T) { testKeyConflict(t, open(t)) })
	t.Run("List", func(t *testing.T) { testKeyList(t, open(t)) })
	t.Run("Revoke", func(t *testing.T) { testKeyRevoke(t, open(t)) })
	t.Run("ScopesExpiry", func(t *testing.T) { testKeyScopesExpiry(t, open(t)) })
}

func newKey(id string, created time.Time) storage.APIKey {
	sum := sha256.Sum256([]byte("secret-" + id))
	return storage.APIKey{
		ID: id, Name: "key " + id, Hash: hex.EncodeToString(sum[:]),
		Prefix: "mb_" + id[:min(len(id), 4)], CreatedAt: created,
	}
}

func checkKey(t *testing.T, what string, got, want storage.APIKey) {
	t.Helper()
	if d := keyDiff(got, want); d != "" {
		t.Errorf("%s %q: %s", what, want.ID, d)
	}
}

func testKeyCreateGet(t *testing.T, s storage.KeyStore) {
	ctx := t.Context()
	k := newKey("k1", at(1234567*time.Microsecond).In(time.FixedZone("CET", 3600)))
	k.Name = `Ops "deploy" ✓`
	other := newKey("k2", at(time.Minute))
	for _, x := range []storage.APIKey{k, other} {
		must(t, "CreateAPIKey "+x.ID, s.CreateAPIKey(ctx, x))
	}
	got, err := s.APIKeyByHash(ctx, k.Hash)
	must(t, "APIKeyByHash", err)
	checkKey(t, "APIKeyByHash", got, k)
	got, err = s.APIKeyByHash(ctx, other.Hash)
	must(t, "APIKeyByHash", err)
	checkKey(t, "APIKeyByHash", got, other)
	_, err = s.APIKeyByHash(ctx, newKey("absent", at(0)).Hash)
	wantErr(t, "APIKeyByHash of an unknown hash", err, storage.ErrNotFound)
	_, err = s.APIKeyByHash(ctx, strings.ToUpper(k.Hash))
	wantErr(t, "APIKeyByHash of the upper-cased hash", err, storage.ErrNotFound)
	_, err = s.APIKeyByHash(ctx, "")
	wantErr(t, "APIKeyByHash of an empty hash", err, storage.ErrNotFound)
}

func testKeyConflict(t *testing.T, s storage.KeyStore) {
	ctx := t.Context()
	k := newKey("k1", at(0))
	must(t, "CreateAPIKey", s.CreateAPIKey(ctx, k))
	sameID := newKey("k1", at(time.Second))
	sameID.Hash = newKey("fresh", at(0)).Hash
	wantErr(t, "CreateAPIKey with a taken ID", s.CreateAPIKey(ctx, sameID), storage.ErrConflict)
	_, err := s.APIKeyByHash(ctx, sameID.Hash)
	wantErr(t, "APIKeyByHash of a refused key", err, storage.ErrNotFound)
	sameHash := newKey("k2", at(time.Second))
	sameHash.Hash = k.Hash
	wantErr(t, "CreateAPIKey with a taken hash", s.CreateAPIKey(ctx, sameHash), storage.ErrConflict)
	got, err := s.APIKeyByHash(ctx, k.Hash)
	must(t, "APIKeyByHash", err)
	checkKey(t, "APIKeyByHash after refused creates", got, k)
	keys, err := s.ListAPIKeys(ctx)
	must(t, "ListAPIKeys", err)
	if len(keys) != 1 {
		t.Fatalf("ListAPIKeys after refused creates: %d keys, want 1", len(keys))
	}
}

func sortKeys(ks []storage.APIKey) {
	slices.SortFunc(ks, func(a, b storage.APIKey) int { return strings.Compare(a.ID, b.ID) })
}

func testKeyList(t *testing.T, s storage.KeyStore) {
	ctx := t.Context()
	keys, err := s.ListAPIKeys(ctx)
	must(t, "ListAPIKeys of an empty store", err)
	if len(keys) != 0 {
		t.Fatalf("ListAPIKeys of an empty store: %d keys", len(keys))
	}
	var want []storage.APIKey
	for i, id := range []string{"c", "a", "b", "k-10", "k-9"} {
		k := newKey(id, at(time.Duration(i)*time.Second))
		must(t, "CreateAPIKey", s.CreateAPIKey(ctx, k))
		want = append(want, k)
	}
	must(t, "RevokeAPIKey", s.RevokeAPIKey(ctx, "b"))
	got, err := s.ListAPIKeys(ctx)
	must(t, "ListAPIKeys", err)
	if len(got) != len(want) {
		t.Fatalf("ListAPIKeys: %d keys, want %d (revoked keys are listed too)", len(got), len(want))
	}
	sortKeys(got)
	sortKeys(want)
	for i := range got {
		if want[i].ID == "b" {
			if got[i].RevokedAt.IsZero() {
				t.Errorf("ListAPIKeys: revoked key %q has no RevokedAt", got[i].ID)
			}
			want[i].RevokedAt = got[i].RevokedAt
		}
		checkKey(t, "ListAPIKeys", got[i], want[i])
	}
}

func testKeyRevoke(t *testing.T, s storage.KeyStore) {
	ctx := t.Context()
	k, other := newKey("k1", at(0)), newKey("k2", at(0))
	must(t, "CreateAPIKey", s.CreateAPIKey(ctx, k))
	must(t, "CreateAPIKey", s.CreateAPIKey(ctx, other))
	before := time.Now()
	must(t, "RevokeAPIKey", s.RevokeAPIKey(ctx, "k1"))
	after := time.Now()
	got, err := s.APIKeyByHash(ctx, k.Hash)
	must(t, "APIKeyByHash of a revoked key", err)
	if got.RevokedAt.Before(before.Add(-time.Second)) || got.RevokedAt.After(after.Add(time.Second)) {
		t.Fatalf("RevokedAt = %v, want between %v and %v", got.RevokedAt, before, after)
	}
	if got.RevokedAt.Location() != time.UTC {
		t.Errorf("RevokedAt in %v, want UTC", got.RevokedAt.Location())
	}
	k.RevokedAt = got.RevokedAt
	checkKey(t, "APIKeyByHash of a revoked key", got, k)
	got, err = s.APIKeyByHash(ctx, other.Hash)
	must(t, "APIKeyByHash", err)
	checkKey(t, "APIKeyByHash of a key not revoked", got, other)
	wantErr(t, "RevokeAPIKey of a missing key", s.RevokeAPIKey(ctx, "nope"), storage.ErrNotFound)
	wantErr(t, "RevokeAPIKey by hash instead of ID", s.RevokeAPIKey(ctx, other.Hash), storage.ErrNotFound)
}

// testKeyScopesExpiry: scopes and expiry round-trip, and a key without
// scopes (nil: every scope, as stored before scopes existed) stays apart
// from one with an empty list (no scope).
func testKeyScopesExpiry(t *testing.T, s storage.KeyStore) {
	ctx := t.Context()
	scoped := newKey("scoped", at(0))
	scoped.Scopes = []string{storage.ScopeStatsRead, storage.ScopeLinksRead}
	scoped.ExpiresAt = at(48 * time.Hour).In(time.FixedZone("CET", 3600))
	scoped.OwnLinksOnly = true
	legacy := newKey("legacy", at(time.Second))
	none := newKey("none", at(2*time.Second))
	none.Scopes = []string{}
	admin := newKey("admin", at(3*time.Second))
	admin.Scopes = []string{storage.ScopeAdmin}
	want := []storage.APIKey{scoped, legacy, none, admin}
	for _, k := range want {
		must(t, "CreateAPIKey "+k.ID, s.CreateAPIKey(ctx, k))
	}
	for _, k := range want {
		got, err := s.APIKeyByHash(ctx, k.Hash)
		must(t, "APIKeyByHash "+k.ID, err)
		checkKey(t, "APIKeyByHash", got, k)
	}
	must(t, "RevokeAPIKey", s.RevokeAPIKey(ctx, "scoped"))
	got, err := s.APIKeyByHash(ctx, scoped.Hash)
	must(t, "APIKeyByHash", err)
	scoped.RevokedAt = got.RevokedAt
	checkKey(t, "APIKeyByHash after a revoke (scopes and expiry kept)", got, scoped)
	want[0] = scoped
	list, err := s.ListAPIKeys(ctx)
	must(t, "ListAPIKeys", err)
	sortKeys(list)
	sortKeys(want)
	if len(list) != len(want) {
		t.Fatalf("ListAPIKeys: %d keys, want %d", len(list), len(want))
	}
	for i := range list {
		checkKey(t, "ListAPIKeys", list[i], want[i])
	}
}

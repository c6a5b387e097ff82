package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/minibitly/minibitly/internal/shortcode"
	"github.com/minibitly/minibitly/storage"
	"github.com/valyala/fasthttp"
)

// The key administration of /api/v1/keys (admin scope, see apiRoutes): keys
// can be created, listed and revoked while a node runs, also on the
// embedded store, which no other process can open then.

// maxKeyNameRunes bounds a key's name.
const maxKeyNameRunes = 200

// DefaultScopes are the scopes of a key created without any: every scope
// but admin.
var DefaultScopes = []string{storage.ScopeLinksRead, storage.ScopeLinksWrite, storage.ScopeStatsRead}

// NewAPIKey makes a random secret "mb_<40 hex>" and its record (hashed,
// created now) named name with scopes (checked by CheckScopes) and an
// expiry (zero = never). The secret exists only in the return value.
func NewAPIKey(name string, scopes []string, expires time.Time) (string, storage.APIKey, error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", storage.APIKey{}, fmt.Errorf("random key: %w", err)
	}
	secret := "mb_" + hex.EncodeToString(b[:])
	k, err := APIKeyRecord(secret, name, scopes, expires)
	return secret, k, err
}

// APIKeyRecord is the record of the key secret: its hash, its prefix and a
// new ID.
func APIKeyRecord(secret, name string, scopes []string, expires time.Time) (storage.APIKey, error) {
	id, err := shortcode.Generate()
	if err != nil {
		return storage.APIKey{}, err
	}
	prefix := secret
	if len(prefix) > 8 {
		prefix = prefix[:8]
	}
	if !expires.IsZero() {
		expires = expires.UTC()
	}
	return storage.APIKey{
		ID: "key_" + id, Name: name, Hash: HashAPIKey([]byte(secret)),
		Prefix: prefix, CreatedAt: time.Now().UTC().Truncate(time.Microsecond),
		Scopes: scopes, ExpiresAt: expires,
	}, nil
}

// CheckScopes validates a key's scope list and returns it sorted in
// storage.AllScopes order without duplicates; an empty list is refused
// (a key that can do nothing).
func CheckScopes(scopes []string) ([]string, error) {
	if len(scopes) == 0 {
		return nil, errors.New("at least one scope is needed")
	}
	out := make([]string, 0, len(scopes))
	for _, sc := range storage.AllScopes {
		if slices.Contains(scopes, sc) {
			out = append(out, sc)
		}
	}
	for _, sc := range scopes {
		if !storage.ValidScope(sc) {
			return nil, fmt.Errorf("unknown scope %q (want %s)", sc, strings.Join(storage.AllScopes, ", "))
		}
	}
	return out, nil
}

// keyOut is a key in answers of /api/v1/keys; Key, the secret, only in the
// answer of its creation.
type keyOut struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Prefix    string     `json:"prefix"`
	Scopes    []string   `json:"scopes"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	// OwnLinksOnly: the key sees and changes only the links it created.
	OwnLinksOnly bool   `json:"own_links_only"`
	Key          string `json:"key,omitempty"`
}

func toKeyOut(k *storage.APIKey) keyOut {
	o := keyOut{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scopes: k.Scopes, CreatedAt: k.CreatedAt.UTC(), OwnLinksOnly: k.OwnLinksOnly}
	if o.Scopes == nil { // a key from before scopes: every scope
		o.Scopes = storage.AllScopes
	}
	if !k.ExpiresAt.IsZero() {
		t := k.ExpiresAt.UTC()
		o.ExpiresAt = &t
	}
	if !k.RevokedAt.IsZero() {
		t := k.RevokedAt.UTC()
		o.RevokedAt = &t
	}
	return o
}

type keyIn struct {
	Name      string             `json:"name"`
	Scopes    nullable[[]string] `json:"scopes"`
	ExpiresAt nullable[string]   `json:"expires_at"`
	OwnOnly   nullable[bool]     `json:"own_links_only"`
}

// listKeys answers GET /api/v1/keys: every key, revoked ones too, never a
// secret.
func (s *Server) listKeys(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	if _, err := queryArgs(ctx); err != nil {
		return err
	}
	ks, err := s.d.Keys.ListAPIKeys(c)
	if err != nil {
		return err
	}
	out := struct {
		Keys []keyOut `json:"keys"`
	}{Keys: make([]keyOut, 0, len(ks))}
	for i := range ks {
		out.Keys = append(out.Keys, toKeyOut(&ks[i]))
	}
	s.writeJSON(ctx, http.StatusOK, &out)
	return nil
}

// currentKey answers GET /api/v1/key (any valid key): the presented key as
// GET /api/v1/keys lists it, never its secret, so that a client (the web
// UI) can offer only what its scopes allow.
func (s *Server) currentKey(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	if _, err := queryArgs(ctx); err != nil {
		return err
	}
	k, err := keyOf(c)
	if err != nil {
		return err
	}
	out := toKeyOut(&k)
	ctx.Response.Header.Set("Cache-Control", "no-store")
	s.writeJSON(ctx, http.StatusOK, &out)
	return nil
}

// createKey answers POST /api/v1/keys {"name","scopes"?,"expires_at"?,
// "own_links_only"?}:
// 201 with the key and its secret in "key", the only time it is shown.
// Without scopes (absent or null) the key has DefaultScopes.
func (s *Server) createKey(c context.Context, ctx *fasthttp.RequestCtx, _ string) error {
	body, err := jsonBody(ctx)
	if err != nil {
		return err
	}
	var in keyIn
	if err := decodeStrict(body, &in, ""); err != nil {
		return err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" || utf8.RuneCountInString(name) > maxKeyNameRunes {
		return fieldError(http.StatusUnprocessableEntity, "name", "a name of 1 to %d characters is required", maxKeyNameRunes)
	}
	scopes := DefaultScopes
	if in.Scopes.Set && !in.Scopes.Null {
		if scopes, err = CheckScopes(in.Scopes.V); err != nil {
			return fieldError(http.StatusUnprocessableEntity, "scopes", "%s", err)
		}
	}
	var expires time.Time
	if in.ExpiresAt.Set && !in.ExpiresAt.Null {
		if expires, err = time.Parse(time.RFC3339, in.ExpiresAt.V); err != nil {
			return fieldError(http.StatusUnprocessableEntity, "expires_at", "%q is not an RFC 3339 time such as 2030-01-02T15:04:05Z", in.ExpiresAt.V)
		}
		if !expires.After(time.Now()) {
			return fieldError(http.StatusUnprocessableEntity, "expires_at", "%s is not in the future", in.ExpiresAt.V)
		}
	}
	secret, k, err := NewAPIKey(name, slices.Clone(scopes), expires)
	if err != nil {
		return err
	}
	k.OwnLinksOnly = in.OwnOnly.Set && !in.OwnOnly.Null && in.OwnOnly.V
	if err := s.d.Keys.CreateAPIKey(c, k); err != nil {
		if errors.Is(err, storage.ErrConflict) { // random IDs and secrets: not the client's conflict
			return fmt.Errorf("create api key %q: random id or secret taken: %v", k.ID, err)
		}
		return err
	}
	out := toKeyOut(&k)
	out.Key = secret
	ctx.Response.Header.Set("Location", "/api/v1/keys/"+k.ID)
	ctx.Response.Header.Set("Cache-Control", "no-store")
	s.writeJSON(ctx, http.StatusCreated, &out)
	return nil
}

// revokeKey answers DELETE /api/v1/keys/{id}: the key is revoked (it stays
// listed, with revoked_at) and refused from the next request on; 204.
func (s *Server) revokeKey(c context.Context, ctx *fasthttp.RequestCtx, id string) error {
	if err := s.d.Keys.RevokeAPIKey(c, id); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return errorf(http.StatusNotFound, "not_found", "no such API key: "+quoteShort(id))
		}
		return err
	}
	ctx.SetStatusCode(http.StatusNoContent)
	return nil
}

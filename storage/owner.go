package storage

import "context"

// creatorKey is the context key of the creator WithCreator sets.
type creatorKey struct{}

type creator struct {
	id      string // the API key's id
	ownOnly bool   // the key sees only the links it created
}

// WithCreator returns ctx for the operations of API key keyID: links
// created with it record keyID as Link.CreatedBy, and when ownOnly (the
// key's OwnLinksOnly) every read, list, edit and delete through a
// CreatorLinks store sees only the links keyID created.
func WithCreator(ctx context.Context, keyID string, ownOnly bool) context.Context {
	return context.WithValue(ctx, creatorKey{}, creator{id: keyID, ownOnly: ownOnly})
}

func creatorFrom(ctx context.Context) creator {
	c, _ := ctx.Value(creatorKey{}).(creator)
	return c
}

// CreatorLinks wraps a link store for the API: it stamps Link.CreatedBy
// from the context's WithCreator and, for a key limited to its own links,
// answers ErrNotFound for any other link and lists only its own (through
// ListQuery.CreatedBy). Without WithCreator it changes nothing (the CLI,
// the actors' lookups for redirects).
func CreatorLinks(ls LinkStore) LinkStore { return creatorLinks{ls} }

type creatorLinks struct{ LinkStore }

func (s creatorLinks) CreateLink(ctx context.Context, l Link) error {
	if c := creatorFrom(ctx); c.id != "" {
		l.CreatedBy = c.id
	}
	return s.LinkStore.CreateLink(ctx, l)
}

func (s creatorLinks) CreateLinks(ctx context.Context, ls []Link) ([]error, error) {
	if c := creatorFrom(ctx); c.id != "" {
		stamped := make([]Link, len(ls))
		for i, l := range ls {
			l.CreatedBy = c.id
			stamped[i] = l
		}
		ls = stamped
	}
	return s.LinkStore.CreateLinks(ctx, ls)
}

func (s creatorLinks) GetLink(ctx context.Context, code string) (Link, error) {
	l, err := s.LinkStore.GetLink(ctx, code)
	if err != nil {
		return l, err
	}
	if c := creatorFrom(ctx); c.ownOnly && l.CreatedBy != c.id {
		return Link{}, ErrNotFound
	}
	return l, nil
}

// owned checks that a restricted key may change code (CreatedBy never
// changes, so the check cannot race with an edit).
func (s creatorLinks) owned(ctx context.Context, code string) error {
	if c := creatorFrom(ctx); c.ownOnly {
		_, err := s.GetLink(ctx, code)
		return err
	}
	return nil
}

func (s creatorLinks) UpdateLink(ctx context.Context, code string, p LinkPatch) (Link, error) {
	if err := s.owned(ctx, code); err != nil {
		return Link{}, err
	}
	return s.LinkStore.UpdateLink(ctx, code, p)
}

func (s creatorLinks) DeleteLink(ctx context.Context, code string) error {
	if err := s.owned(ctx, code); err != nil {
		return err
	}
	return s.LinkStore.DeleteLink(ctx, code)
}

func (s creatorLinks) ListLinks(ctx context.Context, q ListQuery) ([]Link, string, error) {
	if c := creatorFrom(ctx); c.ownOnly {
		q.CreatedBy = c.id
	}
	return s.LinkStore.ListLinks(ctx, q)
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/minibitly/minibitly/gateway"
	"github.com/minibitly/minibitly/storage"
)

const keysUsage = `Usage:
  minibitly keys create [--name NAME] [--scope S]... [--expires WHEN] [--own-links-only] [store flags]
                                 create a key; the secret is printed once
  minibitly keys list [store flags]
  minibitly keys revoke [store flags] ID

Scopes: links:read, links:write, stats:read, admin (--scope repeated or a
comma list; default links:read,links:write,stats:read). Keys created before
scopes existed keep every scope, admin included. --expires is a duration
from now (720h) or an RFC 3339 time; default never. --own-links-only limits
the key to the links it creates (every other link is 404 through it).

The embedded store is a single-process database: stop the server first, or
manage keys through a running node's /api/v1/keys with an admin key (see
MINIBITLY_INITIAL_API_KEY). With --postgres-url keys can be managed while
nodes run.
`

func keys(args []string) error {
	if len(args) == 0 {
		return errors.New("keys: want create, list or revoke (see minibitly keys --help)")
	}
	sub, args := args[0], args[1:]
	c := defaultConfig()
	var kf keyFlags
	fs := keysFlags(sub, &c, &kf)
	fs.setUsage(os.Stderr, keysUsage)
	if sub == "--help" || sub == "-h" || sub == "help" {
		fs.Usage()
		return flag.ErrHelp
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if err := applyEnv(fs); err != nil {
		return err
	}
	if err := c.finishStores(); err != nil {
		return err
	}
	if sub != "revoke" && len(pos) > 0 {
		return fmt.Errorf("keys %s: unexpected arguments %q", sub, pos)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := openStores(ctx, &c)
	if err != nil {
		return err
	}
	defer st.close()
	ctx = storage.WithActor(ctx, "cli")
	st.links, st.keys = storage.Audited(st.links, st.keys, auditLogger(), time.Now)
	switch sub {
	case "create":
		scopes, expires, err := kf.check(time.Now())
		if err != nil {
			return err
		}
		secret, k, err := gateway.NewAPIKey(kf.name, scopes, expires)
		if err != nil {
			return err
		}
		k.OwnLinksOnly = kf.ownOnly
		if err := st.keys.CreateAPIKey(ctx, k); err != nil {
			return fmt.Errorf("create key: %w", err)
		}
		exp := "never"
		if !k.ExpiresAt.IsZero() {
			exp = k.ExpiresAt.Format(time.RFC3339)
		}
		fmt.Printf("id:      %s\nname:    %s\nscopes:  %s\nexpires: %s\nsecret:  %s\n(the secret is shown only now; send it as \"Authorization: Bearer <secret>\")\n",
			k.ID, k.Name, strings.Join(k.Scopes, ","), exp, secret)
		return nil
	case "list":
		ks, err := st.keys.ListAPIKeys(ctx)
		if err != nil {
			return fmt.Errorf("list keys: %w", err)
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tPREFIX\tSCOPES\tCREATED\tEXPIRES\tREVOKED")
		for _, k := range ks {
			scopes := strings.Join(k.Scopes, ",")
			if k.Scopes == nil {
				scopes = "all (created before scopes)"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Prefix, scopes,
				k.CreatedAt.Format(time.RFC3339), timeOrDash(k.ExpiresAt), timeOrDash(k.RevokedAt))
		}
		return w.Flush()
	case "revoke":
		if len(pos) != 1 {
			return errors.New("keys revoke: want exactly one key ID")
		}
		if err := st.keys.RevokeAPIKey(ctx, pos[0]); err != nil {
			return fmt.Errorf("revoke key %q: %w", pos[0], err)
		}
		fmt.Println("revoked", pos[0])
		return nil
	}
	return fmt.Errorf("keys: unknown subcommand %q (want create, list or revoke)", sub)
}

// keyFlags are the flags of keys create.
type keyFlags struct {
	name    string
	scopes  scopeList
	expires string
	ownOnly bool
}

// check validates the scopes (DefaultScopes when none is given) and the
// expiry (a duration from now or an RFC 3339 time; "" = never).
func (f *keyFlags) check(now time.Time) ([]string, time.Time, error) {
	scopes := slices.Clone(gateway.DefaultScopes)
	if len(f.scopes) > 0 {
		var err error
		if scopes, err = gateway.CheckScopes(f.scopes); err != nil {
			return nil, time.Time{}, fmt.Errorf("--scope: %w", err)
		}
	}
	var exp time.Time
	if f.expires != "" {
		if d, err := time.ParseDuration(f.expires); err == nil {
			exp = now.Add(d)
		} else if exp, err = time.Parse(time.RFC3339, f.expires); err != nil {
			return nil, time.Time{}, fmt.Errorf("--expires %q: want a duration (720h) or an RFC 3339 time", f.expires)
		}
		if !exp.After(now) {
			return nil, time.Time{}, fmt.Errorf("--expires %q is not in the future", f.expires)
		}
	}
	return scopes, exp, nil
}

// scopeList is a repeatable --scope that also takes comma lists.
type scopeList []string

func (l *scopeList) String() string { return strings.Join(*l, ",") }

func (l *scopeList) Get() any { return []string(*l) }

func (l *scopeList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func timeOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}

// keysFlags are the flags of `keys sub`; those of create set *kf.
func keysFlags(sub string, c *config, kf *keyFlags) *flagSet {
	fs := newFlagSet("minibitly keys " + sub)
	if sub == "create" {
		fs.group("keys create")
		fs.bind(&kf.name, "name", "a label for the key")
		fs.bind(&kf.scopes, "scope", "a scope of the key: links:read, links:write, stats:read, admin (repeat or comma-separate; default links:read,links:write,stats:read)")
		fs.bind(&kf.expires, "expires", "when the key stops working: a duration from now (720h) or an RFC 3339 time; empty = never")
		fs.bind(&kf.ownOnly, "own-links-only", "limit the key to the links it creates: every other link is 404 through it")
	}
	storeFlags(fs, c)
	logFlags(fs, c)
	return fs
}

// ensureInitialKey creates the MINIBITLY_INITIAL_API_KEY key unless a key
// with that secret exists already (revoked keys stay revoked).
func ensureInitialKey(ctx context.Context, ks storage.KeyStore, secret string) error {
	if len(secret) < 12 {
		return errors.New("MINIBITLY_INITIAL_API_KEY must be at least 12 characters")
	}
	_, err := ks.APIKeyByHash(ctx, gateway.HashAPIKey([]byte(secret)))
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("look up initial API key: %w", err)
	}
	k, err := gateway.APIKeyRecord(secret, "initial", slices.Clone(storage.AllScopes), time.Time{})
	if err != nil {
		return err
	}
	if err := ks.CreateAPIKey(ctx, k); err != nil && !errors.Is(err, storage.ErrConflict) {
		return fmt.Errorf("create initial API key: %w", err)
	}
	return nil
}

func migrate(args []string) error {
	c := defaultConfig()
	fs := migrateFlags(&c)
	fs.setUsage(os.Stderr, "Usage: minibitly migrate [store flags]\n\nApplies the schema of the configured PostgreSQL and ClickHouse (opening them migrates) and exits.\n")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := applyEnv(fs); err != nil {
		return err
	}
	if err := c.finishStores(); err != nil {
		return err
	}
	if c.Postgres.URL == "" && c.ClickHouse.URL == "" {
		return errors.New("migrate: set --postgres-url and/or --clickhouse-url (the embedded store needs no migration)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := openStores(ctx, &c)
	if err != nil {
		return err
	}
	return st.close()
}

func migrateFlags(c *config) *flagSet {
	fs := newFlagSet("minibitly migrate")
	storeFlags(fs, c)
	logFlags(fs, c)
	return fs
}

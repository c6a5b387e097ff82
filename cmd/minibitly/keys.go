package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/minibitly/minibitly/gateway"
	"github.com/minibitly/minibitly/internal/shortcode"
	"github.com/minibitly/minibitly/storage"
)

const keysUsage = `Usage:
  minibitly keys create [--name NAME] [store flags]   create a key; the secret is printed once
  minibitly keys list [store flags]
  minibitly keys revoke [store flags] ID

The embedded store is a single-process database: stop the server first, or
use MINIBITLY_INITIAL_API_KEY. With --postgres-url keys can be managed while
nodes run.
`

func keys(args []string) error {
	if len(args) == 0 {
		return errors.New("keys: want create, list or revoke (see minibitly keys --help)")
	}
	sub, args := args[0], args[1:]
	c := defaultConfig()
	name := ""
	fs := keysFlags(sub, &c, &name)
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
		secret, k, err := newAPIKey(name)
		if err != nil {
			return err
		}
		if err := st.keys.CreateAPIKey(ctx, k); err != nil {
			return fmt.Errorf("create key: %w", err)
		}
		fmt.Printf("id:     %s\nname:   %s\nsecret: %s\n(the secret is shown only now; send it as \"Authorization: Bearer <secret>\")\n", k.ID, k.Name, secret)
		return nil
	case "list":
		ks, err := st.keys.ListAPIKeys(ctx)
		if err != nil {
			return fmt.Errorf("list keys: %w", err)
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tPREFIX\tCREATED\tREVOKED")
		for _, k := range ks {
			rev := "-"
			if !k.RevokedAt.IsZero() {
				rev = k.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Prefix, k.CreatedAt.Format(time.RFC3339), rev)
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

// keysFlags are the flags of `keys sub`; --name (create only) sets *name.
func keysFlags(sub string, c *config, name *string) *flagSet {
	fs := newFlagSet("minibitly keys " + sub)
	if sub == "create" {
		fs.group("keys create")
		fs.bind(name, "name", "a label for the key")
	}
	storeFlags(fs, c)
	logFlags(fs, c)
	return fs
}

// newAPIKey makes a random secret "mb_<40 hex>" and its stored record.
func newAPIKey(name string) (string, storage.APIKey, error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", storage.APIKey{}, fmt.Errorf("random key: %w", err)
	}
	secret := "mb_" + hex.EncodeToString(b[:])
	k, err := keyRecord(secret, name)
	return secret, k, err
}

func keyRecord(secret, name string) (storage.APIKey, error) {
	id, err := shortcode.Generate()
	if err != nil {
		return storage.APIKey{}, err
	}
	prefix := secret
	if len(prefix) > 8 {
		prefix = prefix[:8]
	}
	return storage.APIKey{
		ID: "key_" + id, Name: name, Hash: gateway.HashAPIKey([]byte(secret)),
		Prefix: prefix, CreatedAt: time.Now().UTC(),
	}, nil
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
	k, err := keyRecord(secret, "initial")
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

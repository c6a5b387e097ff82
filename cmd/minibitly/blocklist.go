package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/minibitly/minibitly/internal/blocklist"
)

// loadBlocklist reads --blocklist at start: a file that does not load
// stops the node (a typo must not start a node that blocks nothing).
func loadBlocklist(path string, log *slog.Logger) (*blocklist.List, error) {
	l := &blocklist.List{}
	if path == "" {
		return l, nil
	}
	n, err := l.Load(path)
	if err != nil {
		return nil, err
	}
	log.Info("blocklist loaded", "path", path, "domains", n)
	return l, nil
}

// reloadOnHUP reloads the blocklist on every SIGHUP until ctx ends, then
// calls changed (the near-cache is dropped, so cached links are judged
// again). A file that fails to load is reported and the old list kept.
func reloadOnHUP(ctx context.Context, path string, l *blocklist.List, changed func(), log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			if path == "" {
				log.Info("SIGHUP: no --blocklist to reload")
				continue
			}
			n, err := l.Load(path)
			if err != nil {
				log.Error("blocklist reload failed; keeping the previous list", "path", path, "err", err)
				continue
			}
			changed()
			log.Info("blocklist reloaded", "path", path, "domains", n)
		}
	}()
}

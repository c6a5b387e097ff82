package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/minibitly/minibitly/actors"
	"github.com/minibitly/minibitly/internal/journal"
	"github.com/minibitly/minibitly/internal/visitlog"
	"github.com/prometheus/client_golang/prometheus"
)

// The visit rings' geometry: 8 stripes × 8192 slots. The batcher frees
// slots every --batch-interval (once their visits are in the record log),
// so they hold about one batch interval of visits.
const (
	visitStripes = 8
	visitSlots   = 1 << 13
)

// visitJournal is the node's visit journal under --data-dir/journal: the
// visit rings in a shared mapping of visits.ring (the redirect path writes
// into it with no syscall) and the record log of everything the visits
// became until they are in the visit store (log/). See docs/storage.md.
type visitJournal struct {
	ring    *visitlog.Log
	log     *journal.Log // nil: no journal
	records []actors.JournalRecord
	lock    *os.File
	stop    chan struct{}
	wg      sync.WaitGroup
}

// openVisitJournal opens (or creates) the journal, or returns in-memory
// rings when it is disabled or held by another process (logged: visits are
// then in memory until flushed, as without a journal).
func openVisitJournal(c *config, log *slog.Logger, reg prometheus.Registerer) (*visitJournal, error) {
	j := &visitJournal{stop: make(chan struct{})}
	enabled := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "minibitly_visit_journal_enabled", Help: "1 when answered visits are journaled under --data-dir (they survive SIGKILL), 0 when they are in memory until flushed.",
	})
	reg.MustRegister(enabled)
	if !c.VisitJournal {
		j.ring = visitlog.New(visitStripes, visitSlots)
		return j, nil
	}
	dir := filepath.Join(c.DataDir, "journal")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("visit journal: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		log.Error("visit journal in use by another process: this node keeps its visits in memory until flushed (give each node its own --data-dir)", "dir", dir, "err", err)
		j.ring = visitlog.New(visitStripes, visitSlots)
		return j, nil
	}
	j.lock = lock
	ring, rep, err := visitlog.Open(filepath.Join(dir, "visits.ring"), visitStripes, visitSlots)
	if err != nil {
		j.unlock()
		return nil, fmt.Errorf("visit journal: %w", err)
	}
	j.ring = ring
	if rep.Corrupt > 0 || rep.Holes > 0 || rep.SetAside != "" {
		log.Warn("visit journal: damaged visit slots skipped", "corrupt", rep.Corrupt, "unfinished", rep.Holes, "set_aside", rep.SetAside)
	}
	dropped := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "minibitly_visit_journal_dropped_records_total", Help: "Journal records dropped because the record log outgrew --visit-journal-max-mb (their visits are no longer durable).",
	})
	reg.MustRegister(dropped)
	rl, recs, lrep, err := journal.Open(filepath.Join(dir, "log"), journal.Options{
		MaxBytes:     int64(c.VisitJournalMaxMB) << 20,
		SyncInterval: c.VisitSyncInterval,
		OnDrop: func(rs []journal.Record) {
			dropped.Add(float64(len(rs)))
			log.Error("visit journal full (--visit-journal-max-mb): oldest records dropped; their visits are only in memory", "records", len(rs))
		},
	})
	if err != nil {
		ring.Close()
		j.unlock()
		return nil, fmt.Errorf("visit journal: %w", err)
	}
	if lrep.CorruptBytes > 0 || len(lrep.SetAside) > 0 {
		log.Warn("visit journal: damaged records skipped", "corrupt_bytes", lrep.CorruptBytes, "set_aside", lrep.SetAside)
	}
	j.log = rl
	for _, r := range recs {
		j.records = append(j.records, actors.JournalRecord{ID: r.ID, Kind: r.Kind, Data: r.Data})
	}
	enabled.Set(1)
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "minibitly_visit_journal_bytes", Help: "Bytes of the visit journal's record log."},
			func() float64 { return float64(rl.Bytes()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "minibitly_visit_journal_uncommitted_visits", Help: "Visits in the visit rings not yet in the record log."},
			func() float64 { return float64(ring.Uncommitted()) }),
	)
	j.wg.Add(1)
	go j.syncLoop(c.VisitSyncInterval, log)
	return j, nil
}

// syncLoop msyncs the rings every interval (the record log syncs itself).
func (j *visitJournal) syncLoop(every time.Duration, log *slog.Logger) {
	defer j.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-t.C:
			if err := j.ring.Sync(); err != nil {
				log.Warn("visit journal: sync", "err", err)
			}
		}
	}
}

// deps are the journal's part of the actor system's dependencies.
func (j *visitJournal) deps(d *actors.Deps) {
	d.Visits = j.ring
	if j.log != nil {
		d.Journal = j.log
		d.JournalRecords = j.records
		j.records = nil
	}
}

// close syncs and closes the journal; call it once nothing records or
// consumes visits any more.
func (j *visitJournal) close() error {
	if j == nil || j.ring == nil {
		return nil
	}
	close(j.stop)
	j.wg.Wait()
	var errs []error
	if err := j.ring.Sync(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, j.ring.Close())
	if j.log != nil {
		errs = append(errs, j.log.Close())
	}
	j.unlock()
	j.ring = nil
	return errors.Join(errs...)
}

func (j *visitJournal) unlock() {
	if j.lock != nil {
		j.lock.Close() // releases the flock
		j.lock = nil
	}
}

// lockDir takes an exclusive lock on dir/LOCK, so two processes never
// share a journal.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

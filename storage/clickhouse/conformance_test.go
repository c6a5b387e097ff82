package clickhouse

import (
	"testing"

	"github.com/minibitly/minibitly/storage"
	"github.com/minibitly/minibitly/storage/storagetest"
)

func TestStore_VisitsConformance(t *testing.T) {
	storagetest.RunVisits(t, func(t *testing.T) (storage.VisitSink, storage.StatsReader) {
		s := openFresh(t)
		return s, s
	})
}

// The same suite with reads collapsing duplicates by FINAL instead of
// GROUP BY.
func TestStore_VisitsConformanceFinal(t *testing.T) {
	storagetest.RunVisits(t, func(t *testing.T) (storage.VisitSink, storage.StatsReader) {
		s := openFresh(t)
		s.readMode = readFinal
		return s, s
	})
}

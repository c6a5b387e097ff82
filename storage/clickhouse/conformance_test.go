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

// The same suite with every read collapsing duplicates one way.
func TestStore_VisitsConformanceReadModes(t *testing.T) {
	for name, mode := range map[string]readMode{"groupby": readGroupBy, "final": readFinal} {
		t.Run(name, func(t *testing.T) {
			storagetest.RunVisits(t, func(t *testing.T) (storage.VisitSink, storage.StatsReader) {
				s := openFresh(t)
				s.readMode = mode
				return s, s
			})
		})
	}
}

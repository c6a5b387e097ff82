package gateway

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestStatsQuery_DefaultToCountsTheCurrentSecond: ranges count in whole
// seconds, so a default "to" of now cut to the second would leave out the
// visits of the minute that starts in this very second (its bucket begins
// at "to"). The default is the end of the current second.
func TestStatsQuery_DefaultToCountsTheCurrentSecond(t *testing.T) {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/api/v1/links/abc/stats")
	q, err := statsQuery(&ctx, "abc")
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if q.To.Unix() <= after.Unix() {
		t.Fatalf("default to = %s: the current second %s is not in [from, to)", q.To.Format(time.RFC3339Nano), after.Format(time.RFC3339Nano))
	}
	if got := q.To.Sub(q.From); got != defaultStatsRange {
		t.Fatalf("default range %s, want %s", got, defaultStatsRange)
	}
}

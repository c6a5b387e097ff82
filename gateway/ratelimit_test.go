package gateway

import (
	"testing"
	"time"
)

func TestKeyLimiter_Allow(t *testing.T) {
	l := newKeyLimiter(10, 3)
	t0 := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if !l.allow("k", t0) {
			t.Fatalf("burst request %d refused", i)
		}
	}
	if l.allow("k", t0) {
		t.Fatal("fourth request within the burst allowed")
	}
	if !l.allow("other", t0) {
		t.Fatal("keys share a bucket")
	}
	if !l.allow("k", t0.Add(100*time.Millisecond)) {
		t.Fatal("no token after 1/rate seconds")
	}
	if l.allow("k", t0.Add(100*time.Millisecond)) {
		t.Fatal("more than one token refilled")
	}
	if !l.allow("k", t0.Add(10*time.Minute)) || len(l.buckets) != 1 {
		t.Fatalf("idle buckets not swept: %d", len(l.buckets))
	}
}

package actors

import (
	"testing"
	"time"
)

func TestBreaker_OpensBacksOffAndCloses(t *testing.T) {
	b := newBreaker(2, time.Second, 4*time.Second)
	t0 := time.Unix(1000, 0)
	if !b.allow(t0) {
		t.Fatal("closed breaker refused")
	}
	b.failure(t0)
	if !b.allow(t0) {
		t.Fatal("opened before the threshold")
	}
	b.failure(t0)
	if b.allow(t0.Add(500 * time.Millisecond)) {
		t.Fatal("open breaker allowed a call during its cooldown")
	}
	if !b.allow(t0.Add(time.Second)) {
		t.Fatal("no probe after the cooldown")
	}
	b.failure(t0.Add(time.Second)) // failed probe: cooldown doubles to 2s
	if b.allow(t0.Add(2500 * time.Millisecond)) {
		t.Fatal("cooldown did not double")
	}
	if !b.allow(t0.Add(3 * time.Second)) {
		t.Fatal("no probe after the doubled cooldown")
	}
	b.failure(t0.Add(3 * time.Second)) // 4s (max)
	b.allow(t0.Add(7 * time.Second))
	b.failure(t0.Add(7 * time.Second)) // stays at max 4s
	if b.allow(t0.Add(10*time.Second)) || !b.allow(t0.Add(11*time.Second)) {
		t.Fatal("cooldown exceeded its maximum or never ended")
	}
	b.success()
	if b.state != breakerClosed || !b.allow(t0.Add(11*time.Second)) {
		t.Fatal("success did not close the breaker")
	}
}

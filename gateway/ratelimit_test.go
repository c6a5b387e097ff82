package gateway

import (
	"net/netip"
	"testing"
	"time"
)

func TestKeyLimiter_Allow(t *testing.T) {
	l := newKeyLimiter(10, 3)
	t0 := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if !ok(l.allow("k", t0)) {
			t.Fatalf("burst request %d refused", i)
		}
	}
	if ok(l.allow("k", t0)) {
		t.Fatal("fourth request within the burst allowed")
	}
	if !ok(l.allow("other", t0)) {
		t.Fatal("keys share a bucket")
	}
	if !ok(l.allow("k", t0.Add(100*time.Millisecond))) {
		t.Fatal("no token after 1/rate seconds")
	}
	if ok(l.allow("k", t0.Add(100*time.Millisecond))) {
		t.Fatal("more than one token refilled")
	}
	if !ok(l.allow("k", t0.Add(10*time.Minute))) || len(l.buckets) != 1 {
		t.Fatalf("idle buckets not swept: %d", len(l.buckets))
	}
}

func ok(allowed bool, _ time.Duration) bool { return allowed }

// TestKeyLimiter_SplitOverCluster: alive=4 gives each node a quarter.
func TestKeyLimiter_SplitOverCluster(t *testing.T) {
	l := newKeyLimiter(40, 8)
	l.setAlive(4)
	t0 := time.Unix(1000, 0)
	n := 0
	for i := 0; i < 10; i++ {
		if ok(l.allow("k", t0)) {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("burst %d per node, want 8/4", n)
	}
	allowed, wait := l.allow("k", t0)
	if allowed || wait != 100*time.Millisecond {
		t.Fatalf("refused with wait %v, want 1/(40/4) s", wait)
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]Rate{
		"20/s": {20, time.Second}, "600/m": {600, time.Minute}, "0": {}, "off": {}, "0/s": {},
	} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
		if err == nil && !got.Off() {
			if back, _ := ParseRate(got.String()); back != got {
				t.Errorf("%q does not round-trip: %q", in, got.String())
			}
		}
	}
	for _, in := range []string{"", "20", "20/h", "-1/s", "x/s", "1.5/s"} {
		if _, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) accepted", in)
		}
	}
	if b := (Rate{N: 30, Per: time.Minute}).burst(); b != 1 {
		t.Errorf("30/m burst %d, want 1", b)
	}
}

// TestIPLimiter_Allow: GCRA with a burst of one second's worth, split by
// alive, retry-after exact, and lifting after the window.
func TestIPLimiter_Allow(t *testing.T) {
	l := newIPLimiter(Rate{N: 10, Per: time.Second}, 1)
	k := clientKeyOf(netip.MustParseAddr("192.0.2.1"))
	t0 := time.Unix(1000, 0).UnixNano()
	for i := 0; i < 10; i++ {
		if !ok(l.allow(k, t0)) {
			t.Fatalf("burst request %d refused", i)
		}
	}
	allowed, wait := l.allow(k, t0)
	if allowed || wait != 100*time.Millisecond {
		t.Fatalf("11th: %v, wait %v, want refused for 100ms", allowed, wait)
	}
	if !ok(l.allow(k, t0+int64(100*time.Millisecond))) {
		t.Fatal("no request after 1/rate")
	}
	if !ok(l.allow(clientKeyOf(netip.MustParseAddr("192.0.2.2")), t0)) {
		t.Fatal("addresses share a bucket")
	}
	if !ok(l.allow(k, t0+int64(2*time.Second))) {
		t.Fatal("not lifted after the window")
	}
	l.setAlive(3) // 10/3 per node, burst 10/3 = 3
	k2 := clientKeyOf(netip.MustParseAddr("192.0.2.3"))
	n := 0
	for i := 0; i < 10; i++ {
		if ok(l.allow(k2, t0)) {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("alive=3: burst %d, want 3", n)
	}
	if _, wait := l.allow(k2, t0); wait != 300*time.Millisecond {
		t.Fatalf("alive=3: wait %v, want 3/10 s", wait)
	}
}

// TestIPLimiter_Bounded: a shard never holds more than its slots; clients
// whose bucket refilled are swept first.
func TestIPLimiter_Bounded(t *testing.T) {
	l := newIPLimiter(Rate{N: 1, Per: time.Second}, 1)
	for i := range l.shard {
		l.shard[i].limit = 4
	}
	t0 := time.Unix(1000, 0).UnixNano()
	for i := 0; i < 10000; i++ {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.allow(clientKeyOf(a), t0+int64(i))
	}
	if n := l.len(); n > 4*ipShards {
		t.Fatalf("%d clients tracked, bound %d", n, 4*ipShards)
	}
}

// TestClientKeyOf: IPv4 and IPv4-mapped are one key; an IPv6 /64 is one key.
func TestClientKeyOf(t *testing.T) {
	f := func(a, b string, same bool) {
		t.Helper()
		if got := clientKeyOf(netip.MustParseAddr(a)) == clientKeyOf(netip.MustParseAddr(b)); got != same {
			t.Errorf("%s vs %s: same key %v, want %v", a, b, got, same)
		}
	}
	f("192.0.2.1", "::ffff:192.0.2.1", true)
	f("192.0.2.1", "192.0.2.2", false)
	f("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true)
	f("2001:db8:1:2::1", "2001:db8:1:3::1", false)
}

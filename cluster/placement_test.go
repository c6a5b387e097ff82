package cluster

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomCodes returns n random 7-character base62 codes from a fixed seed.
func randomCodes(n int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	codes := make([]string, n)
	var b [7]byte
	for i := range codes {
		for j := range b {
			b[j] = base62[r.IntN(len(base62))]
		}
		codes[i] = string(b[:])
	}
	return codes
}

func testMembers(n int) []Member {
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = Member{
			Name:       fmt.Sprintf("node-%d", i),
			HTTPAddr:   fmt.Sprintf("10.0.0.%d:8080", i),
			RemoteAddr: fmt.Sprintf("10.0.0.%d:8090", i),
			Status:     StatusAlive,
		}
	}
	return ms
}

func TestPlacement_Owner(t *testing.T) {
	ms := testMembers(5)
	p := NewPlacement(ms)
	reversed := make([]Member, len(ms))
	for i := range ms {
		reversed[len(ms)-1-i] = ms[i]
	}
	q := NewPlacement(append(reversed, ms[2])) // order and duplicates do not matter
	if q.Len() != 5 {
		t.Fatalf("Len = %d, want 5 (duplicates dropped)", q.Len())
	}
	for _, code := range randomCodes(10000) {
		a, b := p.Owner(code), q.Owner(code)
		if a != b {
			t.Fatalf("Owner(%q) = %v and %v for the same members", code, a, b)
		}
		if a.Name == "" || a.HTTPAddr == "" || a.RemoteAddr == "" {
			t.Fatalf("Owner(%q) = %+v, want a full member", code, a)
		}
	}
	if got := NewPlacement(nil).Owner("abc"); got != (Member{}) {
		t.Fatalf("empty placement Owner = %+v, want zero Member", got)
	}
	got := p.Members()
	for i := 1; i < len(got); i++ {
		if got[i-1].Name >= got[i].Name {
			t.Fatalf("Members not sorted by name: %v", got)
		}
	}
	got[0].Name = "mutated"
	if p.Members()[0].Name == "mutated" {
		t.Fatal("Members returned the placement's own slice")
	}
}

func TestPlacement_OwnerAllocs(t *testing.T) {
	for _, n := range []int{1, 3, 50} {
		p := NewPlacement(testMembers(n))
		var sink Member
		allocs := testing.AllocsPerRun(1000, func() { sink = p.Owner("aZ3kQ9x") })
		if allocs != 0 {
			t.Errorf("members=%d: Owner allocates %.1f times per call, want 0", n, allocs)
		}
		_ = sink
	}
}

// TestPlacement_Spread measures how evenly 1M random 7-character base62 codes spread over
// 3, 10 and 50 members. Figures are recorded in docs/cluster.md.
func TestPlacement_Spread(t *testing.T) {
	if testing.Short() {
		t.Skip("1M codes; skipped with -short")
	}
	codes := randomCodes(1_000_000)
	bounds := map[int]float64{3: 1.1, 10: 1.1, 50: 1.2}
	for _, n := range []int{3, 10, 50} {
		p := NewPlacement(testMembers(n))
		counts := make(map[string]int, n)
		for _, c := range codes {
			counts[p.Owner(c).Name]++
		}
		if len(counts) != n {
			t.Fatalf("members=%d: only %d members own codes", n, len(counts))
		}
		mean := float64(len(codes)) / float64(n)
		lo, hi := len(codes), 0
		for _, k := range counts {
			lo, hi = min(lo, k), max(hi, k)
		}
		dev := max(float64(hi)-mean, mean-float64(lo)) / mean * 100
		ratio := float64(hi) / float64(lo)
		t.Logf("members=%d: min=%d max=%d mean=%.0f max/min=%.4f max deviation from mean=%.2f%%", n, lo, hi, mean, ratio, dev)
		if ratio >= bounds[n] {
			t.Errorf("members=%d: max/min = %.4f, want < %.2f", n, ratio, bounds[n])
		}
	}
}

// TestPlacement_Join checks that a 4th member joining 3 takes about 1/4 of the codes, all
// of them from the others and none moving between the old members.
func TestPlacement_Join(t *testing.T) {
	codes := randomCodes(1_000_000)
	ms := testMembers(4)
	p3, p4 := NewPlacement(ms[:3]), NewPlacement(ms)
	moved := 0
	for _, c := range codes {
		a, b := p3.Owner(c), p4.Owner(c)
		if a == b {
			continue
		}
		if b.Name != ms[3].Name {
			t.Fatalf("code %q moved from %s to %s, not to the new member", c, a.Name, b.Name)
		}
		moved++
	}
	frac := float64(moved) / float64(len(codes))
	t.Logf("3→4 members: %.4f of %d codes moved (ideal 0.25)", frac, len(codes))
	if frac < 0.24 || frac > 0.26 {
		t.Errorf("moved fraction %.4f, want about 0.25", frac)
	}
}

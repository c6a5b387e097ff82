package cluster

import (
	"fmt"
	"testing"
)

func BenchmarkPlacement_Owner(b *testing.B) {
	codes := randomCodes(1 << 12)
	for _, n := range []int{3, 10, 50} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			p := NewPlacement(testMembers(n))
			b.ReportAllocs()
			var sink Member
			i := 0
			for b.Loop() {
				sink = p.Owner(codes[i&(len(codes)-1)])
				i++
			}
			_ = sink
		})
	}
}

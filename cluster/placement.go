package cluster

import (
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Placement maps short codes to their owner among a fixed set of members by rendezvous
// (highest-random-weight) hashing. It is immutable and safe for concurrent use.
//
// For a code, h = xxhash64(code) is computed once; each member i has a seed
// s_i = xxhash64(name_i) computed when the Placement is built; the member with the highest
// fmix64(h ^ s_i) owns the code, ties going to the smaller name. The answer depends only on
// the member names, so every node with the same member set agrees, and when a member joins
// only the codes it wins move (about 1/n of them), all of them to the new member.
type Placement struct {
	members []Member // sorted by name, unique names
	seeds   []uint64 // seeds[i] = xxhash64(members[i].Name)
}

// NewPlacement returns the placement over members. Members are copied and sorted by name;
// of several members with the same name the first is kept. Status is not consulted: pass
// the members that may own codes.
func NewPlacement(members []Member) *Placement {
	ms := slices.Clone(members)
	slices.SortStableFunc(ms, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	ms = slices.CompactFunc(ms, func(a, b Member) bool { return a.Name == b.Name })
	seeds := make([]uint64, len(ms))
	for i := range ms {
		seeds[i] = xxhash.Sum64String(ms[i].Name)
	}
	return &Placement{members: ms, seeds: seeds}
}

// Owner returns the member that owns code, or the zero Member if the placement is empty.
// It does not allocate.
func (p *Placement) Owner(code string) Member {
	i := p.ownerIndex(code)
	if i < 0 {
		return Member{}
	}
	return p.members[i]
}

// ownerIndex returns the index in p.members of code's owner, -1 if there are no members.
func (p *Placement) ownerIndex(code string) int {
	h := xxhash.Sum64String(code)
	best, bestScore := -1, uint64(0)
	for i, s := range p.seeds {
		// Strict '>' with members sorted by name: a tie goes to the smaller name.
		if sc := fmix64(h ^ s); best < 0 || sc > bestScore {
			best, bestScore = i, sc
		}
	}
	return best
}

// Members returns a copy of the members, sorted by name.
func (p *Placement) Members() []Member { return slices.Clone(p.members) }

// Len returns the number of members.
func (p *Placement) Len() int { return len(p.members) }

// fmix64 is MurmurHash3's 64-bit finaliser: a bijection in which every input bit affects
// every output bit.
func fmix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

package order

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Every size up to 40 and some larger, random and with many duplicates,
// against slices.Sort.
func TestSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range append(seq(40), 100, 257, 1000) {
		for _, mod := range []uint64{3, 1 << 40} {
			u := make([]uint64, n)
			s := make([]string, n)
			for i := range u {
				u[i] = r.Uint64() % mod
				s[i] = strconv.FormatUint(r.Uint64()%mod, 36)
			}
			wantU, wantS := slices.Sorted(slices.Values(u)), slices.Sorted(slices.Values(s))
			Sort(u)
			Sort(s)
			if !slices.Equal(u, wantU) || !slices.Equal(s, wantS) {
				t.Fatalf("n=%d mod=%d: %v %v", n, mod, u, s)
			}
		}
	}
}

type item struct{ id string }

func TestSortFunc(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	byID := func(a, b *item) int { return strings.Compare(a.id, b.id) }
	for _, n := range append(seq(40), 500) {
		var in []*item
		for _, i := range r.Perm(n) {
			in = append(in, &item{id: strconv.Itoa(i)})
		}
		want := slices.Clone(in)
		slices.SortFunc(want, byID)
		SortFunc(in, byID)
		if !slices.Equal(in, want) {
			t.Fatalf("n=%d: got %v", n, in)
		}
	}
}

func seq(n int) []int {
	out := make([]int, n+1)
	for i := range out {
		out[i] = i
	}
	return out
}

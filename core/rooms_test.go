package core

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSocketSetAgainstModel drives a socketSet across the size where it
// gains (and keeps) its index, checking membership and the swap-remove
// order against a plain slice after every step.
func TestSocketSetAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pool := make([]*socket, 40)
	for i := range pool {
		pool[i] = &socket{}
	}
	var set socketSet
	var model []*socket
	for step := 0; step < 20000; step++ {
		k := pool[rng.IntN(len(pool))]
		at := slices.Index(model, k)
		if rng.IntN(2) == 0 {
			if got := set.add(k); got != (at < 0) {
				t.Fatalf("step %d: add = %v, member before: %v", step, got, at >= 0)
			}
			if at < 0 {
				model = append(model, k)
			}
		} else {
			if got := set.remove(k); got != (at >= 0) {
				t.Fatalf("step %d: remove = %v, member before: %v", step, got, at >= 0)
			}
			if at >= 0 {
				last := len(model) - 1
				model[at] = model[last]
				model = model[:last]
			}
		}
		if !slices.Equal(set.items, model) || set.len() != len(model) {
			t.Fatalf("step %d: items %p, model %p", step, set.items, model)
		}
		for _, s := range pool {
			if set.has(s) != slices.Contains(model, s) {
				t.Fatalf("step %d: has(%p) = %v", step, s, set.has(s))
			}
		}
		if set.index != nil && len(set.index) != len(model) {
			t.Fatalf("step %d: index of %d for %d items", step, len(set.index), len(model))
		}
	}
	if set.index == nil {
		t.Fatal("the set never grew past smallSet: the test does not cover the index")
	}
}

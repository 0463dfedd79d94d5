// Package order sorts the core's few slices (ids, names, acks: at shutdown,
// in snapshots and answers, never per message) with one small heapsort per
// element shape. slices.Sort and slices.SortFunc link pdqsort's family of
// functions for every shape they are used with, about 20 KB of core.wasm
// each; these are about 1 KB. Pure: no imports.
package order

// Key is what Sort orders: strings and unsigned integers, whose equal
// elements are indistinguishable, so any correct sort gives the same result
// (slices.Sort's).
type Key interface {
	~string | ~uint64 | ~uint32 | ~uint16
}

// Sort sorts s in ascending order.
func Sort[E Key](s []E) {
	n := len(s)
	for i := n/2 - 1; i >= 0; i-- {
		sift(s, i, n)
	}
	for end := n - 1; end > 0; end-- {
		s[0], s[end] = s[end], s[0]
		sift(s, 0, end)
	}
}

// sift moves s[i] down the max-heap s[:n].
func sift[E Key](s []E, i, n int) {
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if c+1 < n && s[c] < s[c+1] {
			c++
		}
		if !(s[i] < s[c]) {
			return
		}
		s[i], s[c] = s[c], s[i]
		i = c
	}
}

// SortFunc sorts s in the order cmp defines (negative: a before b). cmp
// must be a strict total order on the elements (0 only for an element and
// itself): the sort is not stable.
func SortFunc[E any](s []E, cmp func(a, b E) int) {
	n := len(s)
	for i := n/2 - 1; i >= 0; i-- {
		siftFunc(s, i, n, cmp)
	}
	for end := n - 1; end > 0; end-- {
		s[0], s[end] = s[end], s[0]
		siftFunc(s, 0, end, cmp)
	}
}

func siftFunc[E any](s []E, i, n int, cmp func(a, b E) int) {
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if c+1 < n && cmp(s[c], s[c+1]) < 0 {
			c++
		}
		if cmp(s[i], s[c]) >= 0 {
			return
		}
		s[i], s[c] = s[c], s[i]
		i = c
	}
}

package sio

import (
	"math"
	"strconv"
)

// jsNumberString converts a JSON number literal to the string JavaScript's
// String(Number(lit)) produces (ECMA-262 Number::toString, radix 10).
func jsNumberString(lit []byte) (string, bool) {
	// Fast path: a plain non-negative integer without leading zeros is
	// written back as is while it stays below 1e21 and exact (≤ 2^53).
	if len(lit) <= 15 && lit[0] != '0' || len(lit) == 1 {
		plain := true
		for _, c := range lit {
			if !isDigit(c) {
				plain = false
				break
			}
		}
		if plain {
			return string(lit), true
		}
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil && !math.IsInf(f, 0) {
		return "", false
	}
	var buf [40]byte
	return string(appendJSNumber(buf[:0], f)), true
}

// appendJSNumber appends Number::toString(f) (ECMA-262 §6.1.6.1.20).
func appendJSNumber(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case f == 0:
		return append(dst, '0')
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f < 0:
		dst = append(dst, '-')
		f = -f
	}
	// Shortest digits s (k of them) and exponent n with f = 0.s × 10^n.
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64) // d.ddde±XX
	var digits [20]byte
	k := 0
	j := 0
	for ; j < len(e) && e[j] != 'e'; j++ {
		if e[j] != '.' && k < len(digits) {
			digits[k] = e[j]
			k++
		}
	}
	exp, _ := strconv.Atoi(string(e[j+1:]))
	n := exp + 1
	s := digits[:k]
	switch {
	case k <= n && n <= 21:
		dst = append(dst, s...)
		for range n - k {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, s[:n]...)
		dst = append(dst, '.')
		dst = append(dst, s[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for range -n {
			dst = append(dst, '0')
		}
		dst = append(dst, s...)
	default:
		dst = append(dst, s[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, s[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}

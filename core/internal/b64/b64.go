// Package b64 is the base64 the engine needs: standard and URL-safe
// encoding with padding, and the lenient decoding of eio's binary packets.
// encoding/base64 does the same with more (strict modes, streams, four
// encodings built at init) and cost core.wasm about 20 KB. Pure: no imports.
package b64

const (
	std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)

// EncodedLen is the length of the padded encoding of n bytes
// (base64.StdEncoding.EncodedLen).
func EncodedLen(n int) int { return (n + 2) / 3 * 4 }

// AppendEncode appends the padded standard encoding of src
// (base64.StdEncoding.AppendEncode).
func AppendEncode(dst, src []byte) []byte { return appendEncode(dst, src, std) }

// AppendEncodeURL appends the padded URL-safe encoding of src
// (base64.URLEncoding.AppendEncode).
func AppendEncodeURL(dst, src []byte) []byte { return appendEncode(dst, src, url) }

func appendEncode(dst, src []byte, alphabet string) []byte {
	n, need := len(dst), EncodedLen(len(src))
	if cap(dst)-n < need {
		grown := make([]byte, n, n+need)
		copy(grown, dst)
		dst = grown
	}
	dst = dst[:n+need]
	out := dst[n:]
	for len(src) >= 3 {
		v := uint(src[0])<<16 | uint(src[1])<<8 | uint(src[2])
		out[0], out[1], out[2], out[3] = alphabet[v>>18&0x3f], alphabet[v>>12&0x3f], alphabet[v>>6&0x3f], alphabet[v&0x3f]
		src, out = src[3:], out[4:]
	}
	switch len(src) {
	case 1:
		v := uint(src[0]) << 16
		out[0], out[1], out[2], out[3] = alphabet[v>>18&0x3f], alphabet[v>>12&0x3f], '=', '='
	case 2:
		v := uint(src[0])<<16 | uint(src[1])<<8
		out[0], out[1], out[2], out[3] = alphabet[v>>18&0x3f], alphabet[v>>12&0x3f], alphabet[v>>6&0x3f], '='
	}
	return dst
}

// Decode decodes standard base64, padded or not, as Node's Buffer.from(s,
// "base64") does for well-formed input: exactly what
// base64.StdEncoding.Decode accepts, and failing that what
// base64.RawStdEncoding.Decode accepts ('\r' and '\n' ignored, the unused
// bits of the last character too). The result has capacity
// base64.RawStdEncoding.DecodedLen(len(s)).
func Decode(s []byte) ([]byte, bool) {
	out := make([]byte, len(s)/4*3+len(s)%4*6/8)
	var q [4]byte // a quantum's 6-bit values
	n, k := 0, 0  // bytes written, characters in q
	pad := -1     // characters (\r, \n skipped) before the first '='
	chars := 0
	// whole quanta of alphabet characters; the loop below does the rest
	for len(s) >= 4 {
		a, b, c, d := decodeMap[s[0]], decodeMap[s[1]], decodeMap[s[2]], decodeMap[s[3]]
		if (a|b|c|d)&0x80 != 0 {
			break
		}
		out[n], out[n+1], out[n+2] = a<<2|b>>4, b<<4|c>>2, c<<6|d
		n, chars, s = n+3, chars+4, s[4:]
	}
	for _, c := range s {
		if c == '\r' || c == '\n' {
			continue
		}
		if c == '=' {
			if pad < 0 {
				pad = chars
			}
			chars++
			continue
		}
		if pad >= 0 { // a character after padding
			return nil, false
		}
		v := decodeMap[c]
		if v == 0xff {
			return nil, false
		}
		q[k] = v
		chars++
		if k++; k == 4 {
			out[n], out[n+1], out[n+2] = q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2, q[2]<<6|q[3]
			n, k = n+3, 0
		}
	}
	if pad >= 0 { // padded: the last quantum is xx== or xxx=
		if chars%4 != 0 || !(k == 2 && chars-pad == 2 || k == 3 && chars-pad == 1) {
			return nil, false
		}
	} else if k == 1 {
		return nil, false
	}
	switch k {
	case 2:
		out[n] = q[0]<<2 | q[1]>>4
		n++
	case 3:
		out[n], out[n+1] = q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2
		n += 2
	}
	return out[:n], true
}

// decodeMap maps a character of the standard alphabet to its value, any
// other byte to 0xff.
var decodeMap = [256]byte{
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 62, 0xff, 0xff, 0xff, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
}

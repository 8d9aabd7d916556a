package peerdom

import (
	"math/bits"
	"unicode/utf8"
)

// Word-at-a-time scanning for the JSON encoder and the envelope scanner: eight bytes are
// checked at once for any byte that needs a closer look, so the long plain runs of a
// text cost a few instructions per word instead of a branch per byte.

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// load64 is the eight bytes at s[i:], little-endian (the compiler makes it one load).
func load64(s string, i int) uint64 {
	b := s[i : i+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// The byte tests below rest on two identities: for v = x ^ (ones*c), (v-ones)&^v&highs
// sets the high bit of each byte of x that equals c; (x-ones*n)&^x&highs, for n <= 0x80,
// that of each byte below n. The subtraction's borrow may also set bits in bytes after
// (above) a set one, so only the lowest set bit is exact: see firstFlagged.

// firstFlagged is the index of the first byte flagged in a non-zero mask.
func firstFlagged(mask uint64) int { return bits.TrailingZeros64(mask) / 8 }

// safeJSONPrefix is the length of s's leading run of bytes that encoding/json writes as
// they are: ASCII other than control bytes, ", \, <, > and &.
func safeJSONPrefix(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if m := unsafeJSONBytes(load64(s, i)); m != 0 {
			return i + firstFlagged(m)
		}
	}
	for i < len(s) && s[i] < utf8.RuneSelf && jsonSafe[s[i]] {
		i++
	}
	return i
}

// unsafeJSONBytes flags the bytes of x that safeJSONPrefix stops at.
func unsafeJSONBytes(x uint64) uint64 {
	// '<' and '>' differ in one bit, as do '"' and '&'.
	q := (x | ones*0x04) ^ (ones * '&')
	b := x ^ (ones * '\\')
	a := (x | ones*0x02) ^ (ones * '>')
	return ((q-ones)&^q | (b-ones)&^b | (a-ones)&^a | (x-ones*0x20)&^x | x) & highs
}

// plainStringPrefix is the length of the leading run of s, inside a JSON string literal,
// that is taken as it is: every byte but ", \ and control bytes (the input is known to be
// valid UTF-8).
func plainStringPrefix(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := load64(s, i)
		q, b := x^(ones*'"'), x^(ones*'\\')
		if m := ((q-ones)&^q | (b-ones)&^b | (x-ones*0x20)&^x) & highs; m != 0 {
			return i + firstFlagged(m)
		}
	}
	for i < len(s) && s[i] >= 0x20 && s[i] != '"' && s[i] != '\\' {
		i++
	}
	return i
}

package peerdom

import (
	"testing"
	"unicode/utf8"
)

// naiveSafeJSONPrefix and naivePlainStringPrefix are the byte-at-a-time definitions the
// word-at-a-time scanners must agree with.
func naiveSafeJSONPrefix(s string) int {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf && jsonSafe[s[i]] {
		i++
	}
	return i
}

func naivePlainStringPrefix(s string) int {
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] != '"' && s[i] != '\\' {
		i++
	}
	return i
}

// TestScanPrefixes puts every byte value at every position of the first two words, amid
// fillers chosen to provoke the borrows of the word tests (bytes next to the boundaries
// the tests draw and to the bytes they look for), and compares with the naive scanners.
func TestScanPrefixes(t *testing.T) {
	fillers := []byte{'a', ' ', 0x00, 0x01, 0x1f, 0x21, 0x7f, 0x80, 0xff, '"', '#', '%', '&', '\'', ';', '<', '=', '>', '?', '[', '\\', ']'}
	buf := make([]byte, 19)
	for _, filler := range fillers {
		for pos := range 17 {
			for v := range 256 {
				for i := range buf {
					buf[i] = 'a'
				}
				for i := pos + 1; i < len(buf); i++ {
					buf[i] = filler
				}
				buf[pos] = byte(v)
				for _, n := range []int{len(buf), pos + 1, pos + 3} {
					s := string(buf[:min(n, len(buf))])
					if got, want := safeJSONPrefix(s), naiveSafeJSONPrefix(s); got != want {
						t.Fatalf("safeJSONPrefix(%q) = %d, want %d", s, got, want)
					}
					if got, want := plainStringPrefix(s), naivePlainStringPrefix(s); got != want {
						t.Fatalf("plainStringPrefix(%q) = %d, want %d", s, got, want)
					}
				}
			}
		}
	}
}

// FuzzScanPrefixes compares the word-at-a-time scanners with the naive ones on any input.
func FuzzScanPrefixes(f *testing.F) {
	f.Add("plain text, then <html> & \"quotes\" \\ \x01 é\u2028")
	f.Fuzz(func(t *testing.T, s string) {
		for i := range len(s) {
			if got, want := safeJSONPrefix(s[i:]), naiveSafeJSONPrefix(s[i:]); got != want {
				t.Fatalf("safeJSONPrefix(%q) = %d, want %d", s[i:], got, want)
			}
			if got, want := plainStringPrefix(s[i:]), naivePlainStringPrefix(s[i:]); got != want {
				t.Fatalf("plainStringPrefix(%q) = %d, want %d", s[i:], got, want)
			}
		}
	})
}

package eventpattern_test

import (
	"errors"
	"testing"

	"github.com/peerbridge/peerbridge/pkg/eventpattern"
)

// FuzzMatch feeds arbitrary patterns and events: Compile either succeeds or returns an
// *Error, matching never panics, and Match agrees with DecodeEvent + MatchEvent.
// `go test` runs the seeds; `go test -fuzz FuzzMatch ./pkg/eventpattern` explores.
func FuzzMatch(f *testing.F) {
	for _, p := range diffPatterns {
		f.Add(p.pattern, peerUpdated)
	}
	for _, p := range diffInvalidPatterns {
		f.Add(p, roleCreated)
	}
	f.Add(`{"a":[{"wildcard":"*x\\**"}]}`, `{"a":["yx*z",["x*"],{"b":1}]}`)
	f.Add(`{"a":{"$or":[{"b":[{"numeric":[">=",1,"<",2]}]},{"c":[{"anything-but":{"suffix":"z"}}]}]}}`, `{"a":[{"b":1.5},{"c":"yz"},[]]}`)
	f.Add(`{"a":[{"cidr":"::/0"},{"prefix":{"equals-ignore-case":"ẞ"}}]}`, `{"a":["::1","ß"]}`)
	f.Fuzz(func(t *testing.T, pattern, event string) {
		p, err := eventpattern.Compile([]byte(pattern))
		if err != nil {
			var pe *eventpattern.Error
			if !errors.As(err, &pe) || pe.Reason == "" {
				t.Fatalf("Compile error %v is not an *Error with a reason", err)
			}
			return
		}
		got, err := p.Match([]byte(event))
		ev, decodeErr := eventpattern.DecodeEvent([]byte(event))
		if (err == nil) != (decodeErr == nil) {
			t.Fatalf("Match error %v, DecodeEvent error %v", err, decodeErr)
		}
		if err == nil && p.MatchEvent(ev) != got {
			t.Fatalf("Match %v, MatchEvent disagrees", got)
		}
	})
}

package eventpattern_test

// TestEventRulerVerdicts holds this package to event-ruler, the matcher AWS publishes and
// EventBridge is built on. `make eventruler-verdicts` ran event-ruler (Java) over the
// corpus internal/eventrulercorpus generates and recorded its verdicts in testdata; this
// test needs no Java: it regenerates the corpus, checks that the recording is of this very
// corpus, and compares every verdict.

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/eventrulercorpus"
	"github.com/peerbridge/peerbridge/internal/repo"
	"github.com/peerbridge/peerbridge/pkg/eventpattern"
)

type recorded struct {
	Pattern  string   `json:"pattern"`
	Events   []string `json:"events"`
	Invalid  string   `json:"invalid"`
	Verdicts []string `json:"verdicts"`
}

func readVerdicts(t *testing.T) []recorded {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "eventruler-verdicts.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []recorded
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var r recorded
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// validityDifferences are the patterns event-ruler 1.8.1 and this package judge
// differently on purpose (the package doc and docs/event-patterns.md say why): each is
// recognized by event-ruler's reason and this package's.
var validityDifferences = []struct {
	name             string
	eventRuler, ours *regexp.Regexp // nil: the side accepts the pattern
}{
	// event-ruler keeps one of the two conditions, whichever it reads last.
	{"a field named twice in one alternative", nil, regexp.MustCompile(`^this field is named twice in one alternative`)},
}

func TestEventRulerVerdicts(t *testing.T) {
	t.Parallel() // reads its verdicts file, shares nothing
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	corpus, err := eventrulercorpus.Corpus(root)
	if err != nil {
		t.Fatal(err)
	}
	rec := readVerdicts(t)
	if len(rec) != len(corpus) {
		t.Fatalf("the recording has %d patterns, the corpus %d: run `make eventruler-verdicts`", len(rec), len(corpus))
	}
	pairs, validPairs, disagree, validityDiff, bothInvalid, reasonsChecked, reasonDiff := 0, 0, 0, 0, 0, 0, 0
	named := map[string]int{}
	for i, r := range rec {
		c := corpus[i]
		if r.Pattern != c.Pattern || strings.Join(r.Events, "\n") != strings.Join(c.Events, "\n") {
			t.Fatalf("pattern %d of the recording is not the corpus's: run `make eventruler-verdicts`\nrecorded %s\ncorpus   %s", i, r.Pattern, c.Pattern)
		}
		pairs += len(r.Events)
		p, err := eventpattern.Compile([]byte(r.Pattern))
		if (err != nil) != (r.Invalid != "") {
			if name := knownValidityDifference(r.Invalid, err); name != "" {
				named[name]++
			} else {
				validityDiff++
				if validityDiff <= 30 {
					t.Errorf("validity differs on %s\n  event-ruler: %s\n  eventpattern: %v", r.Pattern, orValid(r.Invalid), err)
				}
			}
			continue
		}
		if err != nil {
			bothInvalid++
			if fallback.MatchString(r.Pattern) {
				continue
			}
			reasonsChecked++
			if !sameReason(r.Invalid, err) {
				reasonDiff++
				t.Errorf("both refuse %s, for different reasons?\n  event-ruler: %s\n  eventpattern: %v", r.Pattern, r.Invalid, err)
			}
			continue
		}
		if len(r.Verdicts) != len(r.Events) {
			t.Fatalf("pattern %d: %d verdicts for %d events", i, len(r.Verdicts), len(r.Events))
		}
		for j, ev := range r.Events {
			validPairs++
			got, err := p.Match([]byte(ev))
			if err != nil {
				t.Fatalf("event %s: %v", ev, err)
			}
			want := r.Verdicts[j] == "match"
			if r.Verdicts[j] != "match" && r.Verdicts[j] != "no match" {
				t.Fatalf("event-ruler could not match %s: %s", ev, r.Verdicts[j])
			}
			if got != want {
				disagree++
				if disagree <= 40 {
					t.Errorf("pattern %s\n  event %s\n  eventpattern %v, event-ruler %v", r.Pattern, ev, got, want)
				}
			}
		}
	}
	t.Logf("%d patterns (%d refused by both; of %d whose reasons are compared, %d differ), %d pairs; %d pairs under patterns both accept: %d disagreements; validity differences: %d not named, named: %v",
		len(rec), bothInvalid, reasonsChecked, reasonDiff, pairs, validPairs, disagree, validityDiff, named)
	if pairs < 20000 {
		t.Errorf("the corpus has %d pairs, want at least 20,000", pairs)
	}
}

// fallback finds the patterns whose refusal event-ruler may report with the complaint of
// its fallback compiler, which knows neither "$or" nor anything-but wildcard: a pattern
// with either and a fault elsewhere gets a message about them instead of the fault.
var fallback = regexp.MustCompile(`"\$or"|"anything-but":\{"wildcard"`)

// sameReasons pairs event-ruler's refusals with this package's: a pattern both refuse
// must be refused for the same fault.
var sameReasons = []struct{ eventRuler, ours *regexp.Regexp }{
	{regexp.MustCompile(`^Bottom must be less than top`), regexp.MustCompile(`^numeric range is empty|^numeric bound beyond`)},
	{regexp.MustCompile(`^Index \d+ out of bounds`), regexp.MustCompile(`^numeric bound beyond`)},
	{regexp.MustCompile(`^(Invalid IP address|Nonstandard IP address|Malformed CIDR|IPv[46] mask bits)`), regexp.MustCompile(`^cidr `)},
	{regexp.MustCompile(`^(Consecutive wildcard characters|Invalid escape character)`), regexp.MustCompile(`^wildcard (must not contain consecutive|allows a backslash only)`)},
	{regexp.MustCompile(`^Null prefix/suffix not allowed`), regexp.MustCompile(`^anything-but (prefix|suffix) takes a non-empty string`)},
	{regexp.MustCompile(`mixed type is not supported`), regexp.MustCompile(`only strings or only numbers`)},
	{regexp.MustCompile(`^Empty objects are not allowed`), regexp.MustCompile(`^empty objects are not allowed`)},
	{regexp.MustCompile(`^Empty arrays are not allowed`), regexp.MustCompile(`^empty arrays are not allowed`)},
	{regexp.MustCompile(`must be an object or an array$`), regexp.MustCompile(`^must be an object or an array of match values`)},
	{regexp.MustCompile(`^Too many elements in numeric expression`), regexp.MustCompile(`^numeric range must give the lower bound|^numeric takes one or two`)},
	{regexp.MustCompile(`^Unrecognized match type`), regexp.MustCompile(`^unknown operator`)},
	{regexp.MustCompile(`^Only one key allowed in match expression`), regexp.MustCompile(`exactly one key`)},
	{regexp.MustCompile(`^Cannot compare number`), regexp.MustCompile(`cannot be compared`)},
	{regexp.MustCompile(`^Match value must be String, number, true, false, or null`), regexp.MustCompile(`^a match value must be`)},
}

func sameReason(eventRuler string, ours error) bool {
	var pe *eventpattern.Error
	if !errors.As(ours, &pe) {
		return false
	}
	for _, r := range sameReasons {
		if r.eventRuler.MatchString(eventRuler) && r.ours.MatchString(pe.Reason) {
			return true
		}
	}
	return false
}

func orValid(reason string) string {
	if reason == "" {
		return "valid"
	}
	return reason
}

// knownValidityDifference names the validity difference a pattern shows, or "".
func knownValidityDifference(eventRuler string, ours error) string {
	var oursText string
	if ours != nil {
		var pe *eventpattern.Error
		if !errors.As(ours, &pe) {
			return ""
		}
		oursText = pe.Reason
	}
	for _, d := range validityDifferences {
		if (d.eventRuler == nil) != (eventRuler == "") || (d.ours == nil) != (ours == nil) {
			continue
		}
		if (d.eventRuler == nil || d.eventRuler.MatchString(eventRuler)) && (d.ours == nil || d.ours.MatchString(oursText)) {
			return d.name
		}
	}
	return ""
}

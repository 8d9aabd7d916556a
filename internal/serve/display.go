package serve

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// display writes what the local pipeline does to the terminal, readably: each event on
// the bus, where it was routed, each action's API calls and outcome. Several events are
// handled at once, so an event routed to actions is a block, kept until its last action
// has finished (display_blocks.go) and then written whole.
type display struct {
	mu        sync.Mutex
	w         io.Writer
	noActions bool // --no-actions: routes are shown as not run

	blocks     map[string]*eventBlock // by bus event id: events whose actions are running
	early      map[string]*earlyLines // by bus event id: action lines before the event's block
	ignored    map[blockRef]string    // the reason an action ignored an event
	maxRetries map[string]int         // by function: after this many retries a failure is final
}

func (d *display) linef(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.w, format+"\n", args...)
}

// eventSummary is what the display shows of an event's detail.
type eventSummary struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	ChangedFields []string `json:"changedFields"`
	Author        struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"author"`
}

// summarize reads the summary from the detail the router decoded, or, when it decoded
// none (no rules), from the detail's JSON: only these fields, not the whole detail.
func summarize(ev events.CloudWatchEvent, detail map[string]any) eventSummary {
	var s eventSummary
	if detail == nil {
		json.Unmarshal(ev.Detail, &s) // a detail that is not JSON shows no fields
		return s
	}
	str := func(m map[string]any, k string) string { v, _ := m[k].(string); return v }
	s.ID, s.Name = str(detail, "id"), str(detail, "name")
	if changed, _ := detail["changedFields"].([]any); len(changed) > 0 {
		s.ChangedFields = make([]string, len(changed))
		for i, c := range changed {
			s.ChangedFields[i], _ = c.(string)
		}
	}
	author, _ := detail["author"].(map[string]any)
	s.Author.Name, s.Author.Email = str(author, "name"), str(author, "email")
	return s
}

// EventHeading is the line the terminal shows for an event: the time (now), its type,
// what it is about, what changed, who did it and its delivery. detail is the decoded
// detail when there is one at hand, else nil (it is read from the event).
func EventHeading(ev events.CloudWatchEvent, detail map[string]any, now time.Time) string {
	sum := summarize(ev, detail)
	var b strings.Builder
	fmt.Fprintf(&b, "%s  ● %-20s", now.Format("15:04:05"), ev.DetailType)
	if sum.Name != "" {
		fmt.Fprintf(&b, " %q", sum.Name)
	}
	if len(sum.ChangedFields) > 0 {
		fmt.Fprintf(&b, " changed %s", strings.Join(sum.ChangedFields, ", "))
	}
	if who := cmp.Or(sum.Author.Name, sum.Author.Email); who != "" {
		fmt.Fprintf(&b, " by %s", who)
	}
	if sum.ID != "" {
		fmt.Fprintf(&b, "  [delivery %s]", short(sum.ID))
	}
	return b.String()
}

// event shows one bus event: its heading and where it goes.
// detail is the decoded detail the router already made (nil when there is none).
func (d *display) event(ev events.CloudWatchEvent, detail map[string]any, routedTo []string) {
	var b strings.Builder
	b.WriteString(EventHeading(ev, detail, time.Now()))
	if len(routedTo) > 0 {
		fmt.Fprintf(&b, "\n          → %s", strings.Join(routedTo, ", "))
		if d.noActions {
			b.WriteString("   (not run: --no-actions)")
		}
	}
	if len(routedTo) == 0 || d.noActions {
		d.linef("%s", b.String())
		return
	}
	d.open(ev.ID, b.String(), routedTo)
}

// actionDone shows an action's outcome. Several events are handled at once, so the line
// may come under another event's heading: it names its own event's delivery.
func (d *display) actionDone(function string, ev events.CloudWatchEvent, attempt int, err error) {
	retry := ""
	if attempt > 1 {
		retry = fmt.Sprintf(" (attempt %d)", attempt)
	}
	var detail struct {
		ID string `json:"id"`
	}
	json.Unmarshal(ev.Detail, &detail)
	of := ""
	if detail.ID != "" {
		of = " [delivery " + short(detail.ID) + "]"
	}
	ref := blockRef{eventID: ev.ID, function: function}
	final := err == nil || attempt > d.retriesOf(function)
	switch reason, ignored := d.takeIgnored(ref); {
	case err != nil:
		d.add(ref, final, fmt.Sprintf("          ✗ %s on %s%s%s: %v", function, ev.DetailType, of, retry, err))
	case ignored:
		d.add(ref, final, fmt.Sprintf("          – %s on %s%s%s: ignored: %s", function, ev.DetailType, of, retry, reason))
	default:
		d.add(ref, final, fmt.Sprintf("          ✓ %s on %s%s%s", function, ev.DetailType, of, retry))
	}
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// apiCallDisplay shows each Peerdom API call an action makes (method, path, status);
// never a header, so never the key.
type apiCallDisplay struct {
	action  string
	display *display
	next    http.RoundTripper
}

func (a *apiCallDisplay) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := a.next.RoundTrip(r)
	took := time.Since(start).Round(time.Millisecond)
	ref, _ := r.Context().Value(blockRef{}).(blockRef)
	if err != nil {
		a.display.add(ref, false, fmt.Sprintf("            ↳ %s %s %s: %v", a.action, r.Method, r.URL.Path, err))
		return resp, err
	}
	a.display.add(ref, false, fmt.Sprintf("            ↳ %s %s %s → %d (%s)", a.action, r.Method, r.URL.RequestURI(), resp.StatusCode, took))
	return resp, nil
}

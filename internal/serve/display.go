package serve

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/peerbridge/peerbridge/internal/localpipeline"
	"github.com/peerbridge/peerbridge/internal/observe"
)

// display writes what the local pipeline does to the terminal, readably: each event on
// the bus, where it was routed, each action's API calls and outcome. It reads the typed
// record (internal/observe) through a tap, so it sees every record. Several events are
// handled at once, so an event routed to actions is a block, kept until its last action
// has finished (display_blocks.go) and then written whole.
type display struct {
	mu        sync.Mutex
	w         io.Writer
	noActions bool // --no-actions: routes are shown as not run

	blocks map[string]*eventBlock // by bus event id: events whose actions are running
	early  map[string]*earlyLines // by bus event id: action lines before the event's block
}

func (d *display) linef(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.w, format+"\n", args...)
}

// record shows one record of the pipeline's: events, API calls, outcomes, dead letters.
func (d *display) record(r observe.Record) {
	switch {
	case r.Published != nil:
		d.published(r.EventID, heading(r.Time, r.Published, r.DeliveryID), r.Published.RoutedTo)
	case r.APICall != nil:
		d.add(blockRef{eventID: r.EventID, function: r.APICall.Function}, false, apiCallLine(r.APICall))
	case r.Outcome != nil:
		d.outcome(r.EventID, r.DeliveryID, r.Outcome)
	case r.DeadLetter != nil && r.DeadLetter.Queue == observe.QueueEvents:
		d.linef("  ✗ dead-lettered: %s event %s for %s: %s", r.DeadLetter.DetailType, r.EventID, r.DeadLetter.Function, r.DeadLetter.Error)
	case r.DeadLetter != nil:
		d.linef("  ✗ dead-lettered: queue message %s: %s", r.DeadLetter.MessageID, r.DeadLetter.Error)
	}
}

// EventHeading is the line the terminal shows for an event: the time (now), its type,
// what it is about, what changed, who did it and its delivery. detail is the decoded
// detail when there is one at hand, else nil (it is read from the event).
func EventHeading(ev events.CloudWatchEvent, detail map[string]any, now time.Time) string {
	id, pub := localpipeline.Describe(ev, detail)
	return heading(now, pub, id)
}

// heading is an event's line: time, type, name, changed fields, author, delivery.
func heading(t time.Time, p *observe.Published, deliveryID string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  ● %-20s", t.Format("15:04:05"), p.DetailType)
	if p.Name != "" {
		fmt.Fprintf(&b, " %q", p.Name)
	}
	if len(p.ChangedFields) > 0 {
		fmt.Fprintf(&b, " changed %s", strings.Join(p.ChangedFields, ", "))
	}
	if who := cmp.Or(p.Author, p.AuthorEmail); who != "" {
		fmt.Fprintf(&b, " by %s", who)
	}
	if deliveryID != "" {
		fmt.Fprintf(&b, "  [delivery %s]", short(deliveryID))
	}
	return b.String()
}

// published shows one bus event: its heading and where it goes; an event routed to
// actions opens a block.
func (d *display) published(eventID, head string, routedTo []string) {
	var b strings.Builder
	b.WriteString(head)
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
	d.open(eventID, b.String(), routedTo)
}

// outcome shows an action's attempt's end. Several events are handled at once, so the
// line may come under another event's heading: it names its own event's delivery.
func (d *display) outcome(eventID, deliveryID string, o *observe.ActionOutcome) {
	retry := ""
	if o.Attempt > 1 {
		retry = fmt.Sprintf(" (attempt %d)", o.Attempt)
	}
	of := ""
	if deliveryID != "" {
		of = " [delivery " + short(deliveryID) + "]"
	}
	ref := blockRef{eventID: eventID, function: o.Function}
	switch o.Outcome {
	case observe.Failed:
		d.add(ref, o.Final, fmt.Sprintf("          ✗ %s on %s%s%s: %s", o.Function, o.DetailType, of, retry, o.Error))
	case observe.Ignored:
		d.add(ref, o.Final, fmt.Sprintf("          – %s on %s%s%s: ignored: %s", o.Function, o.DetailType, of, retry, o.Reason))
	default:
		d.add(ref, o.Final, fmt.Sprintf("          ✓ %s on %s%s%s", o.Function, o.DetailType, of, retry))
	}
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// apiCallLine is an API call's line: the action, method, path, status and duration, or
// the error; never a header, so never the key.
func apiCallLine(c *observe.APICall) string {
	who := cmp.Or(c.Action, c.Function)
	if c.Error != "" {
		return fmt.Sprintf("            ↳ %s %s %s: %s", who, c.Method, c.Path, c.Error)
	}
	return fmt.Sprintf("            ↳ %s %s %s → %d (%s)", who, c.Method, c.Path, c.Status, c.Duration.Round(time.Millisecond))
}

// apiCalls records each Peerdom API call an action makes (method, path, status,
// duration, the bodies, clipped), in the stream of the event its context names; never a
// header, so never the key, and the key is cut out of the bodies should one echo it.
type apiCalls struct {
	action, function string // the action's own name and its function's logical id
	obs              *observe.Stream
	apiKey           string
	next             http.RoundTripper
}

func (a *apiCalls) RoundTrip(r *http.Request) (*http.Response, error) {
	call := &observe.APICall{Function: a.function, Method: r.Method, Path: r.URL.RequestURI()}
	if a.action != a.function {
		call.Action = a.action
	}
	if r.GetBody != nil {
		if b, err := r.GetBody(); err == nil {
			call.Request = a.body(b)
		}
	}
	start := time.Now()
	resp, err := a.next.RoundTrip(r)
	call.Duration = time.Since(start)
	if err != nil {
		call.Error = err.Error()
	} else {
		call.Status = resp.StatusCode
		raw, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(strings.NewReader(string(raw)))
		if rerr != nil {
			resp.Body = io.NopCloser(io.MultiReader(strings.NewReader(string(raw)), errReader{rerr}))
		}
		call.Response = a.scrub(string(raw))
	}
	ref, _ := r.Context().Value(blockRef{}).(blockRef)
	id := localpipeline.DeliveryID(r.Context())
	if id == "" {
		id, _ = r.Context().Value(deliveryRef{}).(string) // an emulated function's call, through serve's proxy
	}
	a.obs.Publish(observe.Record{Kind: observe.KindAPICall, DeliveryID: id, EventID: ref.eventID, APICall: call})
	return resp, err
}

func (a *apiCalls) body(rc io.ReadCloser) string {
	defer rc.Close()
	raw, _ := io.ReadAll(io.LimitReader(rc, observe.MaxField+1))
	return a.scrub(string(raw))
}

// scrub clips a body and cuts the API key out of it.
func (a *apiCalls) scrub(s string) string {
	if a.apiKey != "" {
		s = strings.ReplaceAll(s, a.apiKey, "<api key>")
	}
	return observe.Clip(s)
}

// deliveryRef carries the delivery id of an emulated function's API call.
type deliveryRef struct{}

// errReader returns its error: a body read that failed keeps failing for the caller.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

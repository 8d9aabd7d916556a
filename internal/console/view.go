package console

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// eventView is an event as its pages show it.
type eventView struct {
	ID, Time, Kind       string
	Entity, Action, Name string
	Author, DeliveryID   string
	Heading, Outcome     string
	Text, DetailJSON     string
	Changes              []changeView
	Fields               [][2]string // the fields of a created or deleted entity, by name
	Routes               []Route
	Actions              []actionView
	search               string // lowercased text the free-text filter reads
}

type changeView struct {
	Field, Old, New string
	Added, Removed  []string
	HasOldNew       bool
}

type actionView struct {
	Action
	Calls []callView
}

type callView struct {
	APICall
	Took string
}

// detail is what the console reads of an event's detail.
type detail struct {
	ID     string `json:"id"`
	Entity string `json:"entity"`
	Action string `json:"action"`
	Name   string `json:"name"`
	Author struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"author"`
	Changes []struct {
		Field   string   `json:"field"`
		Old     any      `json:"old"`
		New     any      `json:"new"`
		Added   []string `json:"added"`
		Removed []string `json:"removed"`
	} `json:"changes"`
	ChangedFields []string       `json:"changedFields"`
	Fields        map[string]any `json:"fields"`
	Text          string         `json:"text"`
}

func show(v any) string {
	switch v := v.(type) {
	case nil:
		return "—"
	case string:
		return v
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// view makes the view of ev; secrets are cut out of every string.
func (c *Console) view(ev Event) eventView {
	var d detail
	json.Unmarshal(ev.Detail, &d) // a detail that is not JSON shows as it is
	v := eventView{
		ID: ev.ID, Time: ev.Time.Local().Format("2006-01-02 15:04:05"), Kind: ev.DetailType,
		Entity: d.Entity, Action: d.Action, Name: d.Name,
		Author: cmp.Or(d.Author.Name, d.Author.Email), DeliveryID: d.ID,
		Text: d.Text, Routes: ev.Routes, Outcome: outcome(ev),
	}
	if d.Author.Name != "" && d.Author.Email != "" {
		v.Author = d.Author.Name + " (" + d.Author.Email + ")"
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, ev.Detail, "", "  ") == nil {
		v.DetailJSON = pretty.String()
	} else {
		v.DetailJSON = string(ev.Detail)
	}
	for _, ch := range d.Changes {
		v.Changes = append(v.Changes, changeView{
			Field: ch.Field, Old: show(ch.Old), New: show(ch.New),
			Added: ch.Added, Removed: ch.Removed, HasOldNew: ch.Old != nil || ch.New != nil,
		})
	}
	for _, k := range slices.Sorted(maps.Keys(d.Fields)) {
		v.Fields = append(v.Fields, [2]string{k, c.redact(show(d.Fields[k]))})
	}
	for _, a := range ev.Actions {
		av := actionView{Action: a}
		av.Reason = c.redact(a.Reason)
		for _, call := range a.Calls {
			call.Path = c.redact(call.Path)
			call.Request, call.Response, call.Error = c.redact(call.Request), c.redact(call.Response), c.redact(call.Error)
			call.Request, call.Response = prettyJSON(call.Request), prettyJSON(call.Response)
			av.Calls = append(av.Calls, callView{APICall: call, Took: fmt.Sprintf("%.1f ms", float64(call.Duration)/float64(time.Millisecond))})
		}
		v.Actions = append(v.Actions, av)
	}
	v.Heading = heading(ev.Time, ev.DetailType, d, ev.Routes)
	v.Text, v.DetailJSON, v.Heading, v.Name, v.Author = c.redact(v.Text), c.redact(v.DetailJSON), c.redact(v.Heading), c.redact(v.Name), c.redact(v.Author)
	v.search = strings.ToLower(v.Heading + "\n" + v.Text + "\n" + v.ID + "\n" + v.DeliveryID)
	return v
}

func prettyJSON(s string) string {
	var b bytes.Buffer
	if s != "" && json.Indent(&b, []byte(s), "", "  ") == nil {
		return b.String()
	}
	return s
}

// heading is the event's heading as serve's terminal shows it: time, type, name, changed
// fields, author, delivery, and where it was routed.
func heading(t time.Time, detailType string, d detail, routes []Route) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  ● %-20s", t.Local().Format("15:04:05"), detailType)
	if d.Name != "" {
		fmt.Fprintf(&b, " %q", d.Name)
	}
	if len(d.ChangedFields) > 0 {
		fmt.Fprintf(&b, " changed %s", strings.Join(d.ChangedFields, ", "))
	}
	if who := cmp.Or(d.Author.Name, d.Author.Email); who != "" {
		fmt.Fprintf(&b, " by %s", who)
	}
	if d.ID != "" {
		id := d.ID
		if len(id) > 8 {
			id = id[:8]
		}
		fmt.Fprintf(&b, "  [delivery %s]", id)
	}
	var targets []string
	for _, r := range routes {
		for _, t := range r.Targets {
			if !slices.Contains(targets, t) {
				targets = append(targets, t)
			}
		}
	}
	if len(targets) > 0 {
		fmt.Fprintf(&b, "  → %s", strings.Join(targets, ", "))
	}
	return b.String()
}

// outcome is an event's actions' outcome as one word: "none" (no action), "running",
// "failed" (one dead-lettered or failed), "ignored" (all ignored), else "done".
func outcome(ev Event) string {
	if len(ev.Actions) == 0 {
		if len(ev.Routes) > 0 {
			return OutcomeRunning
		}
		return "none"
	}
	all := OutcomeIgnored
	running := false
	for _, a := range ev.Actions {
		switch a.Outcome {
		case OutcomeDeadLettered:
			return OutcomeDeadLettered
		case OutcomeFailed:
			all = OutcomeFailed
		case OutcomeRunning:
			running = true
		case OutcomeDone:
			if all == OutcomeIgnored {
				all = OutcomeDone
			}
		}
	}
	if running {
		return OutcomeRunning
	}
	return all
}

// filter is the events list's filter, from the page's query.
type filter struct {
	Kind, Entity, Author, Outcome, Q string
}

func parseFilter(q url.Values) filter {
	return filter{
		Kind: q.Get("kind"), Entity: q.Get("entity"), Author: strings.TrimSpace(q.Get("author")),
		Outcome: q.Get("outcome"), Q: strings.TrimSpace(q.Get("q")),
	}
}

func (f filter) match(v eventView) bool {
	if f.Kind != "" && v.Kind != f.Kind {
		return false
	}
	if f.Entity != "" && v.Entity != f.Entity {
		return false
	}
	if f.Author != "" && !strings.Contains(strings.ToLower(v.Author), strings.ToLower(f.Author)) {
		return false
	}
	if f.Outcome != "" && v.Outcome != f.Outcome {
		return false
	}
	if f.Q != "" && !strings.Contains(v.search, strings.ToLower(f.Q)) {
		return false
	}
	return true
}

func (f filter) Query() string {
	q := url.Values{}
	for k, v := range map[string]string{"kind": f.Kind, "entity": f.Entity, "author": f.Author, "outcome": f.Outcome, "q": f.Q} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q.Encode()
}

// row is one line of the live list, as the stream sends it.
type row struct {
	ID      string `json:"id"`
	Href    string `json:"href"`
	Heading string `json:"heading"`
	Outcome string `json:"outcome"`
	Hide    bool   `json:"hide,omitempty"` // it no longer matches the filter
}

func rowOf(v eventView) row {
	return row{ID: v.ID, Href: Prefix + "event/" + url.PathEscape(v.ID), Heading: v.Heading, Outcome: v.Outcome}
}

package action_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

const (
	botEmail  = "bot@acme.example"
	janeKey   = "jane-key"
	janeEmail = "jane@acme.example"
)

// newPeerdom starts a double whose key belongs to the bot, plus a key for Jane, a person.
func newPeerdom(t *testing.T, webhook func(context.Context, []byte)) *peerdomtest.Server {
	t.Helper()
	return newPeerdomUnder(t, peerdomtest.Alternatives()[0], webhook)
}

// newPeerdomUnder is newPeerdom with one of the API's unverified behaviours.
func newPeerdomUnder(t *testing.T, alt peerdomtest.Alternative, webhook func(context.Context, []byte)) *peerdomtest.Server {
	t.Helper()
	cfg := peerdomtest.Config{Organization: "acme", APIKey: "bot-key", OwnerName: "Peerbridge Bot", OwnerEmail: botEmail, Webhook: webhook}
	alt.Apply(&cfg)
	s := peerdomtest.NewServer(cfg)
	t.Cleanup(s.Close)
	s.AddKey(janeKey, peerdomtest.User{Name: "Jane Doe", Email: janeEmail})
	return s
}

// fastClient is the bot's client with retries that record instead of sleeping.
func fastClient(s *peerdomtest.Server) *peerdomapi.Client {
	return s.Client(peerdomapi.WithSleep(func(ctx context.Context, d time.Duration) error { return ctx.Err() }))
}

// busEvent is an event as it comes off the bus: a fresh event id, and a delivery id
// when d has none.
func busEvent(t *testing.T, detailType string, d peerdom.Detail) action.Event {
	t.Helper()
	if d.ID == "" {
		d.ID = peerdom.NewDeliveryID()
	}
	return action.Event{ID: peerdom.NewDeliveryID(), Source: "peerdom", DetailType: detailType, Time: time.Now(), Detail: d}
}

func author(name, email string) *peerdom.Author { return &peerdom.Author{Name: name, Email: email} }

// logBuffer collects JSON log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(l, nil)) }

func (l *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func writesBy(s *peerdomtest.Server, email string) []string {
	var out []string
	for _, w := range s.WritesBy(email) {
		out = append(out, w.Method+" "+w.Path)
	}
	return out
}

func holdersOf(s *peerdomtest.Server, roleID, peerID string) int {
	n := 0
	for _, h := range s.Holders() {
		if h.RoleID == roleID && h.PeerID == peerID {
			n++
		}
	}
	return n
}

// roleInput is a role as a person creates it, built-in fields written where this
// double keeps them.
func roleInput(s *peerdomtest.Server, name string, fields map[string][]string) peerdomapi.RoleInput {
	in := peerdomapi.RoleInput{Name: name, MapID: s.LiveMap().ID}
	if root, ok := s.RootCircle(); ok {
		in.ParentID = root.ID
	}
	for n, v := range fields {
		if _, builtin := peerdomapi.BuiltinKey(n); builtin && s.Config().Builtins == peerdomtest.BuiltinsAsAttributes {
			_ = in.SetBuiltin(n, v)
			continue
		}
		if in.CustomFields == nil {
			in.CustomFields = peerdomapi.CustomFieldValues{}
		}
		in.CustomFields[n] = v
	}
	return in
}

// field is a role's field as stored where the double keeps it: a built-in field kept as
// an attribute must be there, not in a custom field of the same name.
func field(t *testing.T, s *peerdomtest.Server, roleID, name string) []string {
	t.Helper()
	r, _ := s.Role(roleID)
	v, where := r.Field(name)
	if _, builtin := peerdomapi.BuiltinKey(name); builtin && s.Config().Builtins == peerdomtest.BuiltinsAsAttributes {
		if where != peerdomapi.AsAttribute {
			t.Errorf("role %s: %s found at %v, want the attribute", r.Name, name, where)
		}
		if _, inCF := peerdomapi.FieldValues(r.CustomFields, name); inCF {
			t.Errorf("role %s: %s written as a custom field, but the API keeps it as an attribute", r.Name, name)
		}
	}
	return v
}

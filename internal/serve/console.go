package serve

// The web console (internal/console) on the admin address: it reads serve's typed record
// (observe) and acts through the in-process API (api.go). Its requests go to the console
// before the admin endpoint's bearer-token check: the console has its own (a one-time
// token in the URL serve prints, then a session cookie; Host, CSRF and origin checks).

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/peerbridge/peerbridge/internal/console"
	"github.com/peerbridge/peerbridge/internal/operate"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// newConsole makes the console over this serve, answering on ln's address.
func (s *Stack) newConsole(ln net.Listener) (*console.Console, error) {
	var secrets []string
	for _, sec := range []string{s.apiKey, s.opts.Token, s.adminToken, s.awsCreds.SecretAccessKey} {
		if sec != "" {
			secrets = append(secrets, sec)
		}
	}
	if s.sandbox != nil {
		secrets = append(secrets, s.sandbox.Config().APIKey)
	}
	return console.New(consoleSource{Source: console.Observed(s.obs, consoleOps{s}), s: s},
		console.Options{Addr: ln.Addr().String(), Secrets: secrets, Title: "serve"})
}

// ConsoleURL is the console's address with its one-time token ("" without an admin
// endpoint, or once the token was spent).
func (s *Stack) ConsoleURL() string {
	if s.console == nil {
		return ""
	}
	return s.console.URL()
}

// withConsole sends the console's paths to the console, the rest to admin.
func withConsole(c *console.Console, admin http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c != nil && strings.HasPrefix(r.URL.Path, console.Prefix) {
			c.ServeHTTP(w, r)
			return
		}
		admin.ServeHTTP(w, r)
	})
}

// consoleSource adds serve's status page to the console's source.
type consoleSource struct {
	console.Source
	s *Stack
}

func (c consoleSource) Status(context.Context) (console.Status, error) {
	return console.OperateStatus(c.s.Status()), nil
}

// consoleOps is console.Operations over the in-process API.
type consoleOps struct{ s *Stack }

func (o consoleOps) DeadLetters(context.Context) ([]console.DeadLetter, error) {
	var out []console.DeadLetter
	for _, kind := range []string{operate.Webhooks, operate.Events} {
		for _, l := range o.s.DeadLetters(kind) {
			out = append(out, console.DeadLetter{
				Queue: kind, ID: cmp.Or(l.EventID, l.MessageID), Time: l.SentAt, Receives: l.ReceiveCount,
				Error: l.Reason, Function: l.Target, DeliveryID: l.DeliveryID, Body: l.Body,
			})
		}
	}
	return out, nil
}

func (o consoleOps) Redrive(_ context.Context, queue, id string) (int, error) {
	var ids []string
	if id != "" {
		ids = []string{id}
	}
	return o.s.Redrive(queue, ids, id == "")
}

func (o consoleOps) Purge(_ context.Context, queue string) (int, error) {
	return o.s.Purge(queue, nil, true)
}

func (o consoleOps) Sandbox(ctx context.Context) (console.Sandbox, error) {
	api, err := o.s.SandboxAPI()
	if err != nil {
		return console.Sandbox{}, err
	}
	var sb console.Sandbox
	for p, err := range api.Peers().List(ctx, peerdomapi.Options{}) {
		if err != nil {
			return sb, err
		}
		sb.Peers = append(sb.Peers, console.Entity{ID: p.ID, Name: strings.TrimSpace(p.FirstName + " " + p.LastName)})
	}
	for r, err := range api.Roles().List(ctx, peerdomapi.Options{}) {
		if err != nil {
			return sb, err
		}
		sb.Roles = append(sb.Roles, console.Entity{ID: r.ID, Name: r.Name})
	}
	for g, err := range api.Groups().List(ctx, peerdomapi.Options{}) {
		if err != nil {
			return sb, err
		}
		sb.Circles = append(sb.Circles, console.Entity{ID: g.ID, Name: g.Name})
	}
	return sb, nil
}

// EditSandbox makes the edit through the sandbox's API, as a person pressing Peerdom's
// buttons would: the sandbox sends its webhook to serve.
func (o consoleOps) EditSandbox(ctx context.Context, e console.SandboxEdit) error {
	api, err := o.s.SandboxAPI()
	if err != nil {
		return err
	}
	switch e.Op {
	case "rename-role":
		r, err := api.Roles().Get(ctx, e.ID, peerdomapi.Options{})
		if err != nil {
			return err
		}
		_, err = api.Roles().Update(ctx, e.ID, peerdomapi.RoleInput{Name: e.Name, ParentID: r.ParentID})
		return err
	case "rename-circle":
		g, err := api.Groups().Get(ctx, e.ID, peerdomapi.Options{})
		if err != nil {
			return err
		}
		_, err = api.Groups().Update(ctx, e.ID, peerdomapi.GroupInput{Name: e.Name, ParentID: g.ParentID})
		return err
	case "add-peer":
		_, err := api.Peers().Create(ctx, peerdomapi.PeerInput{FirstName: e.FirstName, LastName: e.LastName})
		return err
	}
	return fmt.Errorf("no sandbox edit %q", e.Op)
}

func (o consoleOps) SampleKinds() []string { return webhooksamples.Kinds() }

func (o consoleOps) SendSample(ctx context.Context, kind string) error {
	_, _, err := o.s.SendSample(ctx, kind)
	return err
}

// Rules names each rule as "Rule → Function", which Replay reads back.
func (o consoleOps) Rules() []string {
	var out []string
	for _, r := range o.s.Rules() {
		if r.Delivered {
			out = append(out, r.Rule+" → "+r.Function)
		}
	}
	return out
}

func (o consoleOps) Replay(_ context.Context, eventID, rule string) error {
	for _, r := range o.s.Rules() {
		if r.Delivered && r.Rule+" → "+r.Function == rule {
			return o.s.ReplayEvent(eventID, r.Function, r.Rule)
		}
	}
	return fmt.Errorf("no rule %q that serve runs", rule)
}

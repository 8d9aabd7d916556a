package costrun

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"time"

	"github.com/peerbridge/peerbridge/internal/bus/membus"
	"github.com/peerbridge/peerbridge/internal/cost"
	"github.com/peerbridge/peerbridge/internal/idempotency/dynamostore"
	"github.com/peerbridge/peerbridge/internal/reconcile"
	"github.com/peerbridge/peerbridge/internal/samtemplate"
	"github.com/peerbridge/peerbridge/internal/state/dynamostate"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// Reconcile counts one scheduled reconciliation that finds no difference over an
// organization of the given numbers of peers, roles and circles (a baseline run first,
// not counted).
func Reconcile(ctx context.Context, templatePath string, params map[string]string, peers, roles, circles int) (cost.ReconcileRun, error) {
	sb := organization(peers, roles, circles)
	env, err := reconcileEnv(templatePath, params, sb.Config().OwnerEmail)
	if err != nil {
		return cost.ReconcileRun{}, err
	}
	c := newCounter()
	counting := true
	r, err := countedReconciler(sb, env, c, func(service, op string, units, bytes int) {
		if counting {
			c.request(codeReconcile, service, op, units, bytes)
		}
	})
	if err != nil {
		return cost.ReconcileRun{}, err
	}
	counting = false
	if _, err := r.Run(ctx); err != nil {
		return cost.ReconcileRun{}, fmt.Errorf("baseline: %w", err)
	}
	c.reset()
	counting = true
	c.invoked(codeReconcile)
	// As functions/reconcile/main.go: the run through reconcile.Lambda, which writes the
	// function's metric line and its one log line.
	w := &logWriter{c: c, code: codeReconcile}
	logger := functionLogger(w, getter(env)).With(slog.String("function", "reconcile"))
	rep, err := reconcile.Lambda{Reconciler: r, Logger: logger, Metrics: w, Function: "peerbridge-reconcile"}.Handle(ctx, nil)
	if err != nil {
		return cost.ReconcileRun{}, err
	}
	if rep.Differences != 0 {
		return cost.ReconcileRun{}, fmt.Errorf("the counted run found %d differences, want 0", rep.Differences)
	}
	return cost.ReconcileRun{Entities: peers + roles + circles, Counts: c.counts()}, nil
}

// organization is a sandbox Peerdom holding circles, roles (two holders each) and peers,
// filled as a real organization's are: a purpose and accountabilities on circles and
// roles, a few fields on peers (a state item of about 1-1.5 KB, which is what the scan's
// read units depend on).
func organization(peers, roles, circles int) *peerdomtest.Peerdom {
	sb := peerdomtest.New(peerdomtest.Config{})
	for i := range circles {
		sb.AddGroup(peerdomapi.Group{ID: fmt.Sprintf("c0000000-0000-4000-8000-%012d", i), Name: fmt.Sprintf("Circle %d", i),
			Color: "#3366cc", CustomFields: purposeFields("circle", i)})
	}
	for i := range roles {
		sb.AddRole(peerdomapi.Role{ID: fmt.Sprintf("r0000000-0000-4000-8000-%012d", i), Name: fmt.Sprintf("Role %d", i),
			ParentID: fmt.Sprintf("c0000000-0000-4000-8000-%012d", i%max(circles, 1)), Color: "#cc6633", CustomFields: purposeFields("role", i)})
	}
	for i := range peers {
		sb.AddPeer(peerdomapi.Peer{ID: fmt.Sprintf("p0000000-0000-4000-8000-%012d", i), FirstName: "Firstname", LastName: fmt.Sprintf("Lastname %d", i),
			NickName: "Nick", AvatarURL: fmt.Sprintf("https://cdn.example.com/avatars/p0000000-0000-4000-8000-%012d.png", i),
			CustomFields: []peerdomapi.CustomField{{Name: "Location", Values: []string{"Zürich"}}, {Name: "Skills", Values: []string{"facilitation", "writing", "Go"}}}})
	}
	for i := range roles { // two holders per role
		for h := range 2 {
			sb.AddHolder(peerdomtest.Holder{RoleID: fmt.Sprintf("r0000000-0000-4000-8000-%012d", i), PeerID: fmt.Sprintf("p0000000-0000-4000-8000-%012d", (2*i+h)%max(peers, 1))})
		}
	}
	return sb
}

// purposeFields are the purpose and accountabilities of the circle or role i.
func purposeFields(kind string, i int) []peerdomapi.CustomField {
	return []peerdomapi.CustomField{
		{Name: "Purpose", Values: []string{fmt.Sprintf("The %s %d makes sure the organization's work in its domain is done well, on time and in the open, for everyone it serves.", kind, i)}},
		{Name: "Accountabilities", Values: []string{
			"Keeping the domain's agreements current and known to everyone who depends on them",
			"Answering requests from other circles within a week, with a clear yes, no or when",
			"Reporting progress and tensions at each tactical meeting of the parent circle",
			"Onboarding new role holders and handing over what they need to start",
		}},
	}
}

// reconcileEnv is the environment the template gives reconcile, deployed with the
// sandbox's parameters and params (those the template declares).
func reconcileEnv(templatePath string, params map[string]string, owner string) (map[string]string, error) {
	all := SandboxParams(onboardingRoleID, owner)
	for k, v := range params {
		all[k] = v
	}
	tpl, err := samtemplate.Load(templatePath, nil)
	if err != nil {
		return nil, err
	}
	for k := range all {
		if _, declared := tpl.Params[k]; !declared {
			delete(all, k)
		}
	}
	if tpl, err = samtemplate.Load(templatePath, all); err != nil {
		return nil, err
	}
	fns, err := tpl.Functions()
	if err != nil {
		return nil, err
	}
	var env map[string]string
	for _, fn := range fns {
		if path.Clean(fn.CodeURI) == codeReconcile {
			env = fn.Env
		}
	}
	if env == nil {
		return nil, fmt.Errorf("the template deploys no %s", codeReconcile)
	}
	return env, nil
}

// countedReconciler is reconcile as env configures it, over sb, a DynamoDB twin and a
// bus, each call counted: Peerdom's and DynamoDB's through count, the bus's into c.
func countedReconciler(sb *peerdomtest.Peerdom, env map[string]string, c *counter, count func(service, op string, units, bytes int)) (*reconcile.Reconciler, error) {
	api, err := peerdomapi.New(sandboxURL, sb.Config().APIKey,
		peerdomapi.WithHTTPClient(&http.Client{Transport: countingTransport{next: handlerTransport{h: sb}, count: func(method string) {
			count("peerdom", method, 0, 0)
		}}}))
	if err != nil {
		return nil, err
	}
	db := newDynamo(func(op string, units, size int) { count("dynamodb", op, units, size) })
	return &reconcile.Reconciler{API: api, State: dynamostate.New(db, env["STATE_TABLE"]), Bus: countingBus{next: membus.New(), c: c, code: codeReconcile},
		Source: env["EVENT_SOURCE"], Leases: dynamostore.New(db, env["IDEMPOTENCY_TABLE"]), Reserve: 20 * time.Second}, nil
}

package serve

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/observe"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// TestServeReconciles: serve reconciles every --reconcile-every against the sandbox; a
// change whose webhook is lost is published once, with origin "reconcile", and a change
// whose webhook arrived (enrich recorded it) is not published again.
func TestServeReconciles(t *testing.T) {
	out := &syncBuffer{}
	eventsOut := filepath.Join(t.TempDir(), "events.jsonl")
	opts := Options{
		Addr: "127.0.0.1:0", SandboxAddr: "127.0.0.1:0", Token: "test-token",
		Template: filepath.Join("..", "..", "template.yaml"), EventsOut: eventsOut,
		LogLevel: "error", DrainFor: 20 * time.Second, ReconcileEvery: 50 * time.Millisecond,
	}
	s, err := Start(context.Background(), opts, out, out)
	if err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !strings.Contains(out.String(), what); {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the output:\n%s", what, out.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("reconcile: baseline of")
	api, err := peerdomapi.New(s.sandboxURL, s.sandbox.Config().APIKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// A change whose webhook arrives: enrich records it, reconciliation stays quiet.
	if _, err := api.Peers().Create(ctx, peerdomapi.PeerInput{FirstName: "Heard", LastName: "Of"}); err != nil {
		t.Fatal(err)
	}
	if err := s.sandbox.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	// A change whose webhook is lost.
	s.sandbox.DropWebhooks(1)
	if _, err := api.Peers().Create(ctx, peerdomapi.PeerInput{FirstName: "Never", LastName: "Heard"}); err != nil {
		t.Fatal(err)
	}
	waitFor("reconcile: 1 change(s) no webhook reported")
	time.Sleep(5 * opts.ReconcileEvery) // more runs: nothing more to find
	if _, err := s.Stop(opts.DrainFor); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "change(s) no webhook reported"); n != 1 {
		t.Errorf("%d runs found changes, want 1:\n%s", n, out.String())
	}
	b, err := os.ReadFile(eventsOut)
	if err != nil {
		t.Fatal(err)
	}
	var reconciled []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.Contains(line, `"origin":"reconcile"`) {
			reconciled = append(reconciled, line)
		}
	}
	if len(reconciled) != 1 || !strings.Contains(reconciled[0], "Never Heard") || !strings.Contains(reconciled[0], "Peer Created") {
		t.Errorf("reconcile events on the bus: %v", reconciled)
	}
	// The runs are in the record: the baseline, one drift of one difference whose event
	// is recorded under its delivery id, the others quiet.
	var runs, drift, baseline int
	for _, r := range s.Records().Records() {
		if r.Reconcile == nil {
			continue
		}
		runs++
		drift += r.Reconcile.Drift
		if r.Reconcile.Baseline {
			baseline++
		}
		if r.Reconcile.Drift == 1 {
			d := r.Reconcile.Differences
			if len(d) != 1 || d[0].DetailType != "Peer Created" || len(s.Records().Filter(func(x *observe.Record) bool {
				return x.Published != nil && x.DeliveryID == d[0].DeliveryID
			})) != 1 {
				t.Errorf("the drift's differences %+v have no published event in the record", d)
			}
		}
	}
	if c := s.Records().Counts(); runs < 3 || baseline != 1 || drift != 1 || c.Drift != 1 || c.ReconcileRuns != int64(runs) {
		t.Errorf("reconcile records: %d runs, %d baseline, drift %d; counts %+v", runs, baseline, drift, c)
	}
}

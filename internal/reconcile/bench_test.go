package reconcile_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/reconcile"
	"github.com/peerbridge/peerbridge/internal/state/memstate"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// lambdaTimeout is template.yaml's ReconcileFunction Timeout: a run must fit in it.
const lambdaTimeout = 300 * time.Second

// BenchmarkReconcile5000 reconciles an organization of 5,000 entities (3,000 roles with
// two holders and a custom field each, 500 circles, 1,500 peers with two custom fields)
// against the double, after a baseline, with 50 roles renamed behind the webhooks' back
// before each run. It prints the API calls, the wall time and the memory of a run.
// The double answers in microseconds; against Peerdom, add the calls × its latency.
func BenchmarkReconcile5000(b *testing.B) {
	srv := peerdomtest.NewServer(peerdomtest.Config{RootCircle: "Root"})
	defer srv.Close()
	root, _ := srv.RootCircle()
	var peers, roles []string
	for i := range 1500 {
		peers = append(peers, srv.AddPeer(peerdomapi.Peer{FirstName: "Peer", LastName: fmt.Sprint(i), CustomFields: []peerdomapi.CustomField{
			{Name: "Office", Values: []string{"Zurich"}}, {Name: "Languages", Values: []string{"en", "de"}}}}).ID)
	}
	for i := range 500 {
		srv.AddGroup(peerdomapi.Group{Name: fmt.Sprint("circle ", i), ParentID: root.ID})
	}
	for i := range 3000 {
		r := srv.AddRole(peerdomapi.Role{Name: fmt.Sprint("role ", i), ParentID: root.ID,
			CustomFields: []peerdomapi.CustomField{{Name: "Purpose", Values: []string{fmt.Sprint("purpose ", i)}}}})
		roles = append(roles, r.ID)
		for j := range 2 {
			srv.AddHolder(peerdomtest.Holder{RoleID: r.ID, PeerID: peers[(i+j*7)%len(peers)]})
		}
	}
	ctx := context.Background()
	api := srv.Client()
	r := &reconcile.Reconciler{API: api, State: memstate.New(), Bus: &recorder{}}
	if rep, err := r.Run(ctx); err != nil || !rep.Baseline || rep.Recorded != 5001 {
		b.Fatalf("baseline: %+v, %v", rep, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var calls, peak uint64
	var worst time.Duration
	for i := range b.N {
		b.StopTimer()
		for j := range 50 {
			id := roles[(i*50+j)%len(roles)]
			if _, err := api.Roles().Update(ctx, id, peerdomapi.RoleInput{Name: fmt.Sprintf("renamed %d-%d", i, j)}); err != nil {
				b.Fatal(err)
			}
		}
		before := len(srv.Requests())
		runtime.GC()
		b.StartTimer()
		start := time.Now()
		rep, err := r.Run(ctx)
		took := time.Since(start)
		b.StopTimer()
		if err != nil || rep.Published != 50 {
			b.Fatalf("run %d: %+v, %v", i, rep, err)
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
		calls += uint64(len(srv.Requests()) - before)
		worst = max(worst, took)
		b.StartTimer()
	}
	b.ReportMetric(float64(calls)/float64(b.N), "api-calls/run")
	b.ReportMetric(float64(peak)/(1<<20), "heap-MB-after-run")
	b.ReportMetric(worst.Seconds(), "worst-s/run")
	if worst > lambdaTimeout {
		b.Errorf("a run took %s, more than the function's timeout %s", worst, lambdaTimeout)
	}
}

package coldstart

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/repo"
	"github.com/peerbridge/peerbridge/internal/rie"
)

// function is one bootstrap under test: its name in the benchmark, its package, its
// logical id in template.yaml (its section of events/env.json), and its SDK baseline:
// hello world building the same AWS SDK clients (testdata/sdk), and nothing else.
type function struct {
	name, pkg, logicalID, sdkPkg string
}

var functions = []function{
	{"Ingest", "./functions/ingest", "IngestFunction", "./internal/coldstart/testdata/sdk/ingest"},
	{"Worker", "./functions/worker", "WorkerFunction", "./internal/coldstart/testdata/sdk/worker"},
	{"OnboardPeer", "./functions/actions/onboard-peer", "OnboardPeerFunction", "./internal/coldstart/testdata/sdk/actions"},
	{"RoleDefaults", "./functions/actions/role-defaults", "RoleDefaultsFunction", "./internal/coldstart/testdata/sdk/actions"},
	{"Enrich", "./functions/actions/enrich", "EnrichFunction", "./internal/coldstart/testdata/sdk/enrich"},
	{"Reconcile", "./functions/reconcile", "ReconcileFunction", "./internal/coldstart/testdata/sdk/reconcile"},
}

const helloPkg = "./internal/coldstart/testdata/hello"

// lambdaEnv is what Lambda gives every function, with AWS pointed at a closed loopback
// port: init may build clients but no call can leave the machine.
var lambdaEnv = map[string]string{
	"LOG_LEVEL":                   "info",
	"AWS_REGION":                  "us-east-1",
	"AWS_DEFAULT_REGION":          "us-east-1",
	"AWS_ACCESS_KEY_ID":           "AKIDCOLDSTARTBENCH",
	"AWS_SECRET_ACCESS_KEY":       "cold-start-benchmark-secret",
	"AWS_SESSION_TOKEN":           "cold-start-benchmark-token",
	"AWS_EXECUTION_ENV":           "AWS_Lambda_provided.al2023",
	"AWS_ENDPOINT_URL":            "http://127.0.0.1:9",
	"AWS_EC2_METADATA_DISABLED":   "true",
	"AWS_CONFIG_FILE":             "/nonexistent/coldstart/config",
	"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/coldstart/credentials",
	"PEERDOM_API_URL":             "http://127.0.0.1:9/v1",
	"QUEUE_URL":                   "http://127.0.0.1:9/123456789012/peerbridge-webhooks",
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// bootstraps builds the functions, hello world and the SDK baselines once per test
// binary, with the Makefile's lambda-build flags for this machine's architecture, and
// returns the path of each by package.
func bootstraps(b *testing.B) map[string]string {
	b.Helper()
	pkgs := []string{helloPkg}
	for _, f := range functions {
		if !slices.Contains(pkgs, f.sdkPkg) {
			pkgs = append(pkgs, f.sdkPkg)
		}
		pkgs = append(pkgs, f.pkg)
	}
	buildOnce.Do(func() {
		root, err := repo.Root()
		if err != nil {
			buildErr = err
			return
		}
		if buildDir, buildErr = os.MkdirTemp("", "coldstart-"); buildErr != nil {
			return
		}
		for _, pkg := range pkgs {
			cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-buildvcs=false",
				"-ldflags=-s -w -buildid=", "-o", binPath(pkg), pkg)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	paths := map[string]string{}
	for _, pkg := range pkgs {
		paths[pkg] = binPath(pkg)
	}
	return paths
}

// binPath is where pkg's bootstrap is built: a directory per package path.
func binPath(pkg string) string {
	return filepath.Join(buildDir, strings.ReplaceAll(strings.TrimPrefix(pkg, "./"), "/", "_"), "bootstrap")
}

// environment is a function's environment: its events/env.json section (what
// `sam local invoke` gives it), then lambdaEnv.
func environment(b *testing.B, logicalID string) map[string]string {
	b.Helper()
	root, err := repo.Root()
	if err != nil {
		b.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "events", "env.json"))
	if err != nil {
		b.Fatal(err)
	}
	var file map[string]map[string]string
	if err := json.Unmarshal(raw, &file); err != nil {
		b.Fatal(err)
	}
	section, ok := file[logicalID]
	if !ok {
		b.Fatalf("events/env.json has no %s section", logicalID)
	}
	env := map[string]string{}
	for k, v := range section {
		env[k] = v
	}
	for k, v := range lambdaEnv {
		env[k] = v
	}
	return env
}

// coldStart starts bootstrap in a new emulator, invokes it once (which runs its init) and
// returns the init duration the emulator reports and the process's peak RSS.
func coldStart(b *testing.B, emulator, bootstrap string, env map[string]string) (initDuration time.Duration, peakRSS int64) {
	b.Helper()
	e, err := rie.Start(emulator, rie.Function{Bootstrap: bootstrap, Env: env})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Stop()
	// An empty event: ingest answers 405, the worker has no records, the actions ignore
	// it; none waits on the network. Reconcile runs: its first API call is refused by
	// the closed port and retried for under 2 s, after init, so the figure is unchanged.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := e.Invoke(ctx, []byte(`{}`))
	if err != nil {
		b.Fatal(err)
	}
	if resp.Status != 200 {
		b.Fatalf("%s: init failed (HTTP %d %s):\n%s", bootstrap, resp.Status, resp.Body, e.Logs())
	}
	if initDuration, err = e.InitDuration(5 * time.Second); err != nil {
		b.Fatal(err)
	}
	if peakRSS, err = e.RuntimePeakRSS(); err != nil {
		b.Fatal(err)
	}
	return initDuration, peakRSS
}

// BenchmarkColdStart starts each function, hello world and the function's SDK baseline
// in turn, each time in a new emulator (a cold start), b.N times each, rotating which
// goes first, and reports the median init of each: init-ms, hello-init-ms and
// sdk-init-ms. make bench judges init-ms/sdk-init-ms (what our code adds to the cold
// start of the SDK clients the function must link) and prints init-ms/hello-init-ms. It
// also reports each binary's size and the peak RSS of its process after the first
// invocation (the emulator's "Max Memory Used" only repeats the configured size). ns/op
// is the wall time of the three starts with the emulators' start and stop, not a figure
// to read.
func BenchmarkColdStart(b *testing.B) {
	bins := bootstraps(b)
	emulator, err := rie.Binary()
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range functions {
		b.Run(f.name, func(b *testing.B) {
			env := environment(b, f.logicalID)
			// The three bootstraps started in turn: the function, hello world, the SDK
			// baseline.
			starts := []struct {
				path  string
				inits []float64
				rss   int64
			}{{path: bins[f.pkg]}, {path: bins[helloPkg]}, {path: bins[f.sdkPkg]}}
			// One start of each first, untimed, so none pays for reading its binary from
			// disk.
			for _, s := range starts {
				coldStart(b, emulator, s.path, env)
			}
			i := 0
			for b.Loop() {
				for k := range starts { // rotate the order so none always follows another
					s := &starts[(i+k)%len(starts)]
					d, r := coldStart(b, emulator, s.path, env)
					s.inits = append(s.inits, float64(d)/float64(time.Millisecond))
					s.rss = max(s.rss, r)
				}
				i++
			}
			for k, prefix := range []string{"", "hello-", "sdk-"} {
				s := starts[k]
				b.ReportMetric(median(s.inits), prefix+"init-ms")
				b.ReportMetric(megabytes(fileSize(b, s.path)), prefix+"binary-MB")
				b.ReportMetric(megabytes(s.rss), prefix+"peak-RSS-MB")
			}
		})
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

func fileSize(b *testing.B, path string) int64 {
	b.Helper()
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}

func megabytes(n int64) float64 { return float64(n) / (1 << 20) }

//go:build saminvoke

package samapp

import (
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/internal/reconcile"
	"github.com/peerbridge/peerbridge/internal/rie"
	"github.com/peerbridge/peerbridge/internal/samtemplate"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// The secrets the deployed stack reads; env.json replaces them with plain values.
const (
	tokenSecret  = "peerbridge/webhook-token"
	apiKeyParam  = "/peerbridge/peerdom-api-key"
	rotatedToken = "rotated-token-9f3e1d"
)

// buildDir is a `sam build` output directory named by an environment variable that
// `make sam-test` sets.
func buildDir(t *testing.T, env string) string {
	t.Helper()
	dir := os.Getenv(env)
	if dir == "" {
		t.Fatalf("%s is not set: run `make sam-test`, which builds with sam first", env)
	}
	return dir
}

// TestDeployBuildIsArm64 checks what `sam deploy` would upload: for each function of the
// template, a static, stripped linux/arm64 executable named bootstrap at the artifact's
// root, which the built template points at.
func TestDeployBuildIsArm64(t *testing.T) {
	dir := buildDir(t, "PEERBRIDGE_SAM_BUILD")
	built, err := samtemplate.Load(filepath.Join(dir, "template.yaml"), allOn)
	if err != nil {
		t.Fatal(err)
	}
	fns, err := built.Functions()
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != len(functionFolders) {
		t.Fatalf("built template has %d functions, want %d", len(fns), len(functionFolders))
	}
	for _, fn := range fns {
		if fn.CodeURI != fn.LogicalID {
			t.Errorf("%s: built CodeUri %q, want its artifact folder %q", fn.LogicalID, fn.CodeURI, fn.LogicalID)
		}
		checkExecutable(t, filepath.Join(dir, fn.LogicalID, "bootstrap"), elf.EM_AARCH64)
	}
	host := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[runtime.GOARCH]
	for id := range functionFolders {
		checkExecutable(t, filepath.Join(buildDir(t, "PEERBRIDGE_SAM_HOST_BUILD"), id, "bootstrap"), host)
	}
}

func checkExecutable(t *testing.T, path string, machine elf.Machine) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	defer f.Close()
	if f.Machine != machine || f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX || f.Type != elf.ET_EXEC {
		t.Errorf("%s: %v %v %v, want a Linux %v executable", path, f.Machine, f.OSABI, f.Type, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s is dynamically linked: build with CGO_ENABLED=0", path)
		}
	}
	if f.Section(".symtab") != nil {
		t.Errorf("%s has a symbol table: build with -ldflags=-s", path)
	}
}

// world is the stand-ins the functions run against: moto for AWS, peerdomtest for Peerdom.
type world struct {
	sqs      *sqs.Client
	queueURL string // the webhook queue, where ingest sends
	captured string // a queue every event on the bus is copied to, by a rule
	peerdom  *peerdomtest.Server
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	cfg := mototest.Config(t)
	w := &world{sqs: sqs.NewFromConfig(cfg)}
	sm := secretsmanager.NewFromConfig(cfg)
	check := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	q, err := w.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(sampleQueue)})
	check(q, err)
	w.queueURL = aws.ToString(q.QueueUrl)
	// Every event on the bus is copied to a queue, as a user's rule would take it.
	w.captured = mototest.RouteToQueue(t, sampleBus, `{"source": ["`+sampleSource+`"]}`)
	check(sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(tokenSecret),
		SecretString: aws.String(fmt.Sprintf("[%q, %q]", rotatedToken, sampleToken))}))
	check(ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(apiKeyParam),
		Value: aws.String(`{"apiKey": "` + sampleAPIKey + `"}`), Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true)}))

	w.peerdom = peerdomtest.NewServer(peerdomtest.Config{Organization: "acme", APIKey: sampleAPIKey,
		OwnerName: "Peerbridge Bot", OwnerEmail: sampleAPIUser})
	t.Cleanup(w.peerdom.Close)
	w.peerdom.AddPeer(peerdomapi.Peer{ID: samplePeerID, FirstName: "Ada", LastName: "Lovelace"})
	w.peerdom.AddRole(peerdomapi.Role{ID: sampleOnboardingID, Name: "Onboarding buddy"})
	w.peerdom.AddRole(peerdomapi.Role{ID: sampleRoleID, Name: "Lead Facilitator",
		CustomFields: []peerdomapi.CustomField{{Name: "Purpose", Values: []string{"Meetings that end on time, with decisions"}}}})
	return w
}

// receive takes n messages off a queue (failing after a while), deleting them.
func (w *world) receive(t *testing.T, queueURL string, n int) []sqstypes.Message {
	t.Helper()
	ctx := context.Background()
	var out []sqstypes.Message
	deadline := time.Now().Add(15 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		r, err := w.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Messages {
			out = append(out, m)
			if _, err := w.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(out) != n {
		t.Fatalf("%d messages on %s, want %d", len(out), queueURL, n)
	}
	return out
}

// function is one function of the template as `sam local invoke` runs it.
type function struct {
	samtemplate.Function
	timeout time.Duration
	memory  int
}

func functions(t *testing.T) map[string]function {
	t.Helper()
	root := repoRoot(t)
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"), allOn)
	if err != nil {
		t.Fatal(err)
	}
	fns, err := tpl.Functions()
	if err != nil {
		t.Fatal(err)
	}
	raw := loadRaw(t)
	out := map[string]function{}
	for _, fn := range fns {
		res := raw.functions()[fn.LogicalID]
		out[fn.LogicalID] = function{Function: fn,
			timeout: time.Duration(number(t, raw.functionSetting(res, "Timeout"), "Timeout")) * time.Second,
			memory:  number(t, raw.functionSetting(res, "MemorySize"), "MemorySize")}
	}
	return out
}

// start runs a function's host-architecture build under the emulator with the
// environment `sam local invoke --env-vars events/env.json` gives it: the template's
// variables, the values env.json has for those (SAM sets no others), then overrides; and
// AWS pointed at moto.
func start(t *testing.T, fn function, overrides map[string]string) *rie.Emulator {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "events", "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]map[string]string
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for k, v := range fn.Env {
		env[k] = v
	}
	for _, section := range []string{"Parameters", fn.LogicalID} {
		for k, v := range file[section] {
			if _, declared := fn.Env[k]; declared {
				env[k] = v
			}
		}
	}
	for k, v := range overrides {
		env[k] = v
	}
	for k, v := range map[string]string{
		"AWS_SAM_LOCAL":               "true",
		"AWS_ENDPOINT_URL":            mototest.Endpoint(t),
		"AWS_REGION":                  sampleRegion,
		"AWS_DEFAULT_REGION":          sampleRegion,
		"AWS_ACCESS_KEY_ID":           "testing",
		"AWS_SECRET_ACCESS_KEY":       "testing",
		"AWS_CONFIG_FILE":             "/nonexistent/samapp/config",
		"AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/samapp/credentials",
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		env[k] = v
	}
	bin, err := rie.Binary()
	if err != nil {
		t.Fatal(err)
	}
	e, err := rie.Start(bin, rie.Function{
		Bootstrap: filepath.Join(buildDir(t, "PEERBRIDGE_SAM_HOST_BUILD"), fn.LogicalID, "bootstrap"),
		Name:      fn.LogicalID, Timeout: fn.timeout, MemoryMB: fn.memory, Env: env,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Stop()
		if t.Failed() {
			t.Logf("%s log:\n%s", fn.LogicalID, e.Logs())
		}
	})
	return e
}

func invokeFile(t *testing.T, e *rie.Emulator, path string) rie.Response {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), path))
	if err != nil {
		t.Fatal(err)
	}
	return invoke(t, e, b)
}

func invoke(t *testing.T, e *rie.Emulator, payload []byte) rie.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := e.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// logged waits a little for s in the log: the function's output is copied to the log
// concurrently with the emulator's answer.
func logged(e *rie.Emulator, s string) bool {
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(e.Logs(), s) {
			return true
		}
	}
	return false
}

// neverLogged fails when a secret shows up in a function's log.
func neverLogged(t *testing.T, e *rie.Emulator, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(e.Logs(), s) {
			t.Errorf("the log holds the secret %q", s)
		}
	}
}

type httpAnswer struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
}

// TestEventsUnderTheEmulator invokes every file in events/ on its built function, and
// passes what ingest queued on to the worker, as the deployed pipeline does.
func TestEventsUnderTheEmulator(t *testing.T) {
	fns := functions(t)
	w := newWorld(t)

	var queued []sqstypes.Message
	queuedKinds := map[string]string{} // delivery id: sample kind
	t.Run("ingest", func(t *testing.T) {
		e := start(t, fns["IngestFunction"], nil)
		for _, c := range ingestCases() {
			path := "events/ingest/" + c.file + ".json"
			resp := invokeFile(t, e, path)
			if msg, failed := resp.FunctionError(); failed {
				t.Errorf("%s: %s", path, msg)
				continue
			}
			var a httpAnswer
			if err := json.Unmarshal(resp.Body, &a); err != nil {
				t.Fatalf("%s: answer %s: %v", path, resp.Body, err)
			}
			if a.StatusCode != c.status {
				t.Errorf("%s: status %d, want %d (%s)", path, a.StatusCode, c.status, a.Body)
				continue
			}
			var body struct{ ID, Error string }
			if err := json.Unmarshal([]byte(a.Body), &body); err != nil || a.Headers["Content-Type"] != "application/json" {
				t.Errorf("%s: body %q is not a JSON answer: %v", path, a.Body, err)
			}
			requestID := c.request().RequestContext.RequestID
			if c.status == 200 {
				if body.ID != requestID {
					t.Errorf("%s: answered id %q, want the request id %q (the delivery id)", path, body.ID, requestID)
				}
				queuedKinds[requestID] = c.kind
			} else if body.Error == "" {
				t.Errorf("%s: %d without an error message", path, a.StatusCode)
			}
			if !logged(e, requestID) {
				t.Errorf("%s: no log line names its delivery id %s", path, requestID)
			}
		}
		queued = w.receive(t, w.queueURL, len(queuedKinds))
		for _, m := range queued {
			d, err := peerdom.DecodeDelivery([]byte(aws.ToString(m.Body)))
			if err != nil {
				t.Fatal(err)
			}
			kind, ok := queuedKinds[d.ID]
			if !ok {
				t.Errorf("queued delivery %s answers no request", d.ID)
			} else if want := must(webhooksamples.Get(kind)); d.Text != want {
				t.Errorf("queued text %q, want the %s sample", d.Text, kind)
			}
		}
		neverLogged(t, e, sampleToken, "wrong-token")
	})

	t.Run("ingest reads its tokens from the secret", func(t *testing.T) {
		e := start(t, fns["IngestFunction"], map[string]string{"WEBHOOK_TOKEN_SECRET_ID": tokenSecret, "WEBHOOK_TOKENS": ""})
		for token, status := range map[string]int{sampleToken: 200, rotatedToken: 200, "wrong-token": 401} {
			req := ingestCase{file: "secret-" + token, token: token, body: string(must(webhooksamples.Body("group-deleted")))}.request()
			b, _ := json.Marshal(req)
			var a httpAnswer
			if err := json.Unmarshal(invoke(t, e, b).Body, &a); err != nil || a.StatusCode != status {
				t.Errorf("token %s: %d %s (%v), want %d", token, a.StatusCode, a.Body, err, status)
			}
		}
		w.receive(t, w.queueURL, 2)
		neverLogged(t, e, sampleToken, rotatedToken)
	})

	worker := start(t, fns["WorkerFunction"], nil)
	t.Run("worker publishes what ingest queued", func(t *testing.T) {
		if len(queued) == 0 {
			t.Skip("ingest queued nothing")
		}
		// In batches of the event source mapping's BatchSize, as Lambda polls the queue.
		raw := loadRaw(t)
		size := number(t, dig(raw.functions()["WorkerFunction"], "Properties", "Events", "Webhooks", "Properties", "BatchSize"), "BatchSize")
		for start := 0; start < len(queued); start += size {
			var batch sqsBatch
			for _, m := range queued[start:min(start+size, len(queued))] {
				batch.Records = append(batch.Records, sqsRecord{MessageID: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
					Body: aws.ToString(m.Body), Attributes: map[string]string{"ApproximateReceiveCount": "1"}, MessageAttributes: map[string]any{},
					MD5OfBody: aws.ToString(m.MD5OfBody), EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:" + sampleRegion + ":" + sampleAccount + ":" + sampleQueue,
					AWSRegion: sampleRegion})
			}
			b, _ := json.Marshal(batch)
			checkBatch(t, w, worker, fmt.Sprintf("queued deliveries %d-%d", start, start+len(batch.Records)-1), b, batch, nil)
		}
	})
	t.Run("worker", func(t *testing.T) {
		for _, c := range workerCases() {
			path := "events/worker/" + c.file + ".json"
			b, err := os.ReadFile(filepath.Join(repoRoot(t), path))
			if err != nil {
				t.Fatal(err)
			}
			var batch sqsBatch
			if err := json.Unmarshal(b, &batch); err != nil {
				t.Fatal(err)
			}
			checkBatch(t, w, worker, path, b, batch, c.failed)
		}
	})

	t.Run("actions", func(t *testing.T) {
		api := map[string]string{"PEERDOM_API_URL": w.peerdom.URL}
		ids := map[string]string{"onboard-peer": "OnboardPeerFunction", "role-defaults": "RoleDefaultsFunction", "enrich": "EnrichFunction"}
		emulators := map[string]*rie.Emulator{}
		for folder, id := range ids {
			emulators[folder] = start(t, fns[id], api)
		}
		for _, c := range actionCases() {
			path := "events/" + c.function + "/" + c.file + ".json"
			writes := len(w.peerdom.Writes())
			resp := invokeFile(t, emulators[c.function], path)
			if msg, failed := resp.FunctionError(); failed {
				t.Errorf("%s: %s", path, msg)
				continue
			}
			switch c.function + "/" + c.file {
			case "onboard-peer/peer-created":
				if n := holders(w, samplePeerID, sampleOnboardingID); n != 1 {
					t.Errorf("%s: peer holds the onboarding role %d times, want 1", path, n)
				}
				// Delivered again (at least once): nothing more is written.
				invokeFile(t, emulators[c.function], path)
				if n := holders(w, samplePeerID, sampleOnboardingID); n != 1 || len(w.peerdom.Writes()) != writes+1 {
					t.Errorf("%s redelivered: holders %d, writes %d, want 1 and %d", path, n, len(w.peerdom.Writes()), writes+1)
				}
			case "onboard-peer/peer-created-by-api-user":
				if len(w.peerdom.Writes()) != writes {
					t.Errorf("%s: the action acted on its own API user's change", path)
				}
			case "role-defaults/role-created":
				role, _ := w.peerdom.Role(sampleRoleID)
				got := map[string][]string{}
				for _, f := range role.CustomFields {
					got[f.Name] = f.Values
				}
				if !slices.Equal(got["Domain"], []string{"To be defined"}) || !slices.Equal(got["Purpose"], []string{"Meetings that end on time, with decisions"}) {
					t.Errorf("%s: custom fields %v, want Domain filled and Purpose kept", path, got)
				}
			case "enrich/role-updated":
				var ev busEvent
				b, _ := os.ReadFile(filepath.Join(repoRoot(t), path))
				if err := json.Unmarshal(b, &ev); err != nil {
					t.Fatal(err)
				}
				cause, _ := peerdom.DecodeDetail(ev.Detail)
				var snap struct {
					DetailType string `json:"detail-type"`
					Detail     struct {
						CausedBy, EntityID string
						Object             struct{ ID string }
					}
				}
				m := w.receive(t, w.captured, 1)[0]
				if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &snap); err != nil {
					t.Fatal(err)
				}
				if snap.DetailType != "Role Snapshot" || snap.Detail.CausedBy != cause.ID || snap.Detail.EntityID != sampleRoleID || snap.Detail.Object.ID != sampleRoleID {
					t.Errorf("%s: published %s", path, aws.ToString(m.Body))
				}
			default:
				t.Errorf("%s: no check for this sample", path)
			}
		}
		for _, e := range emulators {
			neverLogged(t, e, sampleAPIKey)
		}
	})

	t.Run("reconcile", func(t *testing.T) {
		e := start(t, fns["ReconcileFunction"], map[string]string{"PEERDOM_API_URL": w.peerdom.URL})
		path := "events/reconcile/scheduled.json"
		run := func() reconcile.Report {
			t.Helper()
			resp := invokeFile(t, e, path)
			if msg, failed := resp.FunctionError(); failed {
				t.Fatalf("%s: %s", path, msg)
			}
			var rep reconcile.Report
			if err := json.Unmarshal(resp.Body, &rep); err != nil {
				t.Fatalf("%s: answer %s: %v", path, resp.Body, err)
			}
			return rep
		}
		if first := run(); !first.Baseline || first.Published != 0 || first.Listed["peer"] == 0 {
			t.Fatalf("first run %+v: want a baseline publishing nothing", first)
		}
		// A change no webhook reported: the next run publishes it.
		added := w.peerdom.AddPeer(peerdomapi.Peer{FirstName: "Grace", LastName: "Hopper"})
		if second := run(); second.Differences != 1 || second.Published != 1 {
			t.Fatalf("second run %+v: want the one new peer published", second)
		}
		var ev busEvent
		m := w.receive(t, w.captured, 1)[0]
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
			t.Fatal(err)
		}
		d, err := peerdom.DecodeDetail(ev.Detail)
		if err != nil {
			t.Fatal(err)
		}
		if ev.DetailType != "Peer Created" || d.Origin != peerdom.OriginReconcile || d.EntityID != added.ID || d.Name != "Grace Hopper" {
			t.Errorf("published %s", aws.ToString(m.Body))
		}
		if !strings.Contains(e.Logs(), `"ReconcileDifferences":1`) {
			t.Errorf("no metric line in the log:\n%s", e.Logs())
		}
		neverLogged(t, e, sampleAPIKey)
	})

	t.Run("an event about a peer deleted since ends ignored, with the reason", func(t *testing.T) {
		e := start(t, fns["OnboardPeerFunction"], map[string]string{"PEERDOM_API_URL": w.peerdom.URL})
		b, err := os.ReadFile(filepath.Join(repoRoot(t), "events", "onboard-peer", "peer-created.json"))
		if err != nil {
			t.Fatal(err)
		}
		unknown := strings.ReplaceAll(string(b), samplePeerID, "00000000-0000-4000-8000-000000000000")
		if msg, failed := invoke(t, e, []byte(unknown)).FunctionError(); failed {
			t.Errorf("an event about a peer deleted since failed (Lambda would retry it, then dead-letter it): %s", msg)
		}
		logs := e.WaitFunctionLogs(2, 5*time.Second) // "ready" at init, then the event's line
		if len(logs) == 0 {
			t.Fatal("the function logged nothing")
		}
		if last := logs[len(logs)-1]; last["msg"] != "event" || last["outcome"] != "ignored" ||
			!strings.Contains(fmt.Sprint(last["reason"]), "peer 00000000-0000-4000-8000-000000000000 is gone from Peerdom") {
			t.Errorf("log lines %v, want the event's outcome ignored with the reason naming the peer", logs)
		}
	})

	t.Run("an action that cannot act fails, for Lambda to retry and dead-letter", func(t *testing.T) {
		// An onboarding role Peerdom does not know: a setting to fix, so the event fails.
		e := start(t, fns["OnboardPeerFunction"], map[string]string{"PEERDOM_API_URL": w.peerdom.URL,
			"ONBOARDING_ROLE_IDS": "00000000-0000-4000-8000-00000000dead"})
		if msg, failed := invokeFile(t, e, "events/onboard-peer/peer-created.json").FunctionError(); !failed {
			t.Error("an event for an onboarding role Peerdom does not know succeeded")
		} else if !strings.Contains(msg, "00000000-0000-4000-8000-00000000dead") {
			t.Errorf("error %q does not name the role", msg)
		}
	})

	t.Run("actions read the API key from the parameter", func(t *testing.T) {
		e := start(t, fns["EnrichFunction"], map[string]string{"PEERDOM_API_URL": w.peerdom.URL,
			"PEERDOM_API_KEY_PARAMETER": apiKeyParam, "PEERDOM_API_KEY": ""})
		resp := invokeFile(t, e, "events/enrich/role-updated.json")
		if msg, failed := resp.FunctionError(); failed {
			t.Fatal(msg)
		}
		w.receive(t, w.captured, 1)
		neverLogged(t, e, sampleAPIKey)
	})
}

func holders(w *world, peerID, roleID string) int {
	n := 0
	for _, h := range w.peerdom.Holders() {
		if h.PeerID == peerID && h.RoleID == roleID {
			n++
		}
	}
	return n
}

// checkBatch invokes the worker on a batch and checks its partial batch response and the
// events that reached the bus: one per valid delivery, as the contract makes it.
func checkBatch(t *testing.T, w *world, e *rie.Emulator, name string, payload []byte, batch sqsBatch, failed []int) {
	t.Helper()
	resp := invoke(t, e, payload)
	if msg, isErr := resp.FunctionError(); isErr {
		t.Fatalf("%s: %s", name, msg)
	}
	var answer struct {
		BatchItemFailures []struct {
			ItemIdentifier string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(resp.Body, &answer); err != nil {
		t.Fatalf("%s: answer %s: %v", name, resp.Body, err)
	}
	var got, want []string
	for _, f := range answer.BatchItemFailures {
		got = append(got, f.ItemIdentifier)
	}
	for _, i := range failed {
		want = append(want, batch.Records[i].MessageID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: failed items %v, want %v", name, got, want)
	}
	wantEvents := map[string]peerdom.Event{}
	for i, r := range batch.Records {
		if slices.Contains(failed, i) {
			continue
		}
		d, err := peerdom.DecodeDelivery([]byte(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		wantEvents[d.ID] = peerdom.NewEvent(sampleSource, d)
	}
	for _, m := range w.receive(t, w.captured, len(wantEvents)) {
		var ev busEvent
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
			t.Fatal(err)
		}
		d, err := peerdom.DecodeDetail(ev.Detail)
		if err != nil {
			t.Fatal(err)
		}
		want, ok := wantEvents[d.ID]
		if !ok {
			t.Errorf("%s: unexpected event %s", name, aws.ToString(m.Body))
			continue
		}
		gotDetail, _ := marshal(d, false)
		wantDetail, _ := marshal(want.Detail, false)
		if ev.DetailType != want.DetailType || ev.Source != want.Source || string(gotDetail) != string(wantDetail) {
			t.Errorf("%s: event %s %s\n%s\nwant %s %s\n%s", name, ev.Source, ev.DetailType, gotDetail, want.Source, want.DetailType, wantDetail)
		}
	}
	// The queued envelope is what peerdom.EncodeDelivery makes, so a change to either side shows here.
	for i, r := range batch.Records {
		if slices.Contains(failed, i) {
			continue
		}
		d, _ := peerdom.DecodeDelivery([]byte(r.Body))
		if enc, _ := peerdom.EncodeDelivery(d); enc != r.Body {
			t.Errorf("%s: record %d is not the envelope ingest writes", name, i)
		}
	}
}

package samapp

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/internal/envscan"
	"github.com/peerbridge/peerbridge/internal/samtemplate"
)

// functionFolders are the fixed logical ids and code folders (COMMON.md).
var functionFolders = map[string]string{
	"IngestFunction":       "functions/ingest",
	"WorkerFunction":       "functions/worker",
	"OnboardPeerFunction":  "functions/actions/onboard-peer",
	"RoleDefaultsFunction": "functions/actions/role-defaults",
	"EnrichFunction":       "functions/actions/enrich",
	"ReconcileFunction":    "functions/reconcile",
}

// endpointFunctions are the functions deployed instead of one of functionFolders' under
// another Endpoint: IngestUrlFunction is ingest behind a Lambda function URL.
var endpointFunctions = map[string]string{"IngestUrlFunction": "functions/ingest"}

// allOn are parameters under which every optional part of the template is deployed.
var allOn = map[string]string{
	"PeerdomApiKeyParameterName": "peerbridge/peerdom-api-key",
	"OnboardingRoleIds":          sampleOnboardingID,
	"RoleDefaults":               sampleRoleDefaults,
	"ChatWebhookUrlSecretName":   "peerbridge/chat-webhook-url",
	"AlarmTopicArn":              "arn:aws:sns:us-east-1:123456789012:alarms",
}

// lambdaProvided are variables Lambda sets itself (the function role's credentials
// included), and the SDK's endpoint overrides (AWS_ENDPOINT_URL[_<SERVICE>], for a local
// stand-in such as moto, read by internal/awsconfig): code may read them unset by the template.
var lambdaProvided = regexp.MustCompile(`^(AWS_REGION|AWS_DEFAULT_REGION|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|AWS_ENDPOINT_URL(_\w+)?|AWS_LAMBDA_\w+|AWS_EXECUTION_ENV|_HANDLER|_X_AMZN_TRACE_ID|LAMBDA_TASK_ROOT|LAMBDA_RUNTIME_DIR|TZ)$`)

// rawTemplate is template.yaml as plain values, short-form intrinsics in their long form
// ({"Ref": X}, {"Fn::GetAtt": [R, A]}), unresolved: for checks of the template as written.
type rawTemplate map[string]any

func loadRaw(t *testing.T) rawTemplate {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := samtemplate.Raw(b)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func (r rawTemplate) resources() map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, v := range r["Resources"].(map[string]any) {
		out[id] = v.(map[string]any)
	}
	return out
}

func (r rawTemplate) functions() map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, res := range r.resources() {
		if res["Type"] == "AWS::Serverless::Function" {
			out[id] = res
		}
	}
	return out
}

// functionSetting is a function's property, else the Globals' one.
func (r rawTemplate) functionSetting(fn map[string]any, name string) any {
	if v := dig(fn, "Properties", name); v != nil {
		return v
	}
	return dig(map[string]any(r), "Globals", "Function", name)
}

func number(t *testing.T, v any, what string) int {
	t.Helper()
	switch n := v.(type) {
	case int:
		return n
	case string:
		i, err := strconv.Atoi(n)
		if err == nil {
			return i
		}
	}
	t.Fatalf("%s = %v, want a number", what, v)
	return 0
}

func TestFunctionsBuildFromTheMakefile(t *testing.T) {
	root := repoRoot(t)
	raw := loadRaw(t)
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	fns := raw.functions()
	var ids []string
	for id := range fns {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var want []string
	folders := maps.Clone(functionFolders)
	maps.Copy(folders, endpointFunctions)
	for id := range folders {
		want = append(want, id)
	}
	sort.Strings(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("functions = %v, want %v", ids, want)
	}
	for _, g := range []struct {
		name string
		want any
	}{{"Runtime", "provided.al2023"}, {"Handler", "bootstrap"}} {
		if got := dig(map[string]any(raw), "Globals", "Function", g.name); got != g.want {
			t.Errorf("Globals.Function.%s = %v, want %v", g.name, got, g.want)
		}
	}
	if got := fmt.Sprint(dig(map[string]any(raw), "Globals", "Function", "Architectures")); got != "[arm64]" {
		t.Errorf("Globals.Function.Architectures = %v, want [arm64]", got)
	}
	if got := dig(map[string]any(raw), "Globals", "Function", "LoggingConfig", "LogFormat"); got != "JSON" {
		t.Errorf("Globals.Function.LoggingConfig.LogFormat = %v, want JSON", got)
	}
	for id, fn := range fns {
		code, _ := dig(fn, "Properties", "CodeUri").(string)
		if code != folders[id] {
			t.Errorf("%s CodeUri = %q, want %q", id, code, folders[id])
		}
		mains, _ := filepath.Glob(filepath.Join(root, code, "*.go"))
		isMain := false
		for _, f := range mains {
			b, _ := os.ReadFile(f)
			isMain = isMain || (!strings.HasSuffix(f, "_test.go") && regexp.MustCompile(`(?m)^package main$`).Match(b))
		}
		if !isMain {
			t.Errorf("%s: CodeUri %s holds no main package", id, code)
		}
		for k, v := range map[string]string{"BuildMethod": "makefile", "ProjectRootDirectory": ".", "ContextPath": "."} {
			if got := dig(fn, "Metadata", k); got != v {
				t.Errorf("%s Metadata.%s = %v, want %q (sam build runs the root Makefile in the module)", id, k, got, v)
			}
		}
		target := regexp.MustCompile(`(?m)^build-` + id + `:\n\t\$\(call lambda-build,` + regexp.QuoteMeta(code) + `\)$`)
		if !target.Match(makefile) {
			t.Errorf("Makefile has no build-%s target building %s", id, code)
		}
		if dig(fn, "Properties", "Role") == nil || dig(fn, "Properties", "Policies") != nil {
			t.Errorf("%s: want an explicit least-privilege Role and no SAM Policies (SAM's add managed policies on Resource *)", id)
		}
		if dig(fn, "Properties", "LoggingConfig", "LogGroup") == nil {
			t.Errorf("%s: no LoggingConfig.LogGroup (its role may write to that log group only)", id)
		}
	}
	lambdaBuild := regexp.MustCompile(`(?s)define lambda-build\n(.*?)\nendef`).FindSubmatch(makefile)
	if lambdaBuild == nil {
		t.Fatal("Makefile defines no lambda-build")
	}
	goflags := regexp.MustCompile(`(?m)^LAMBDA_GOFLAGS := (.*)$`).FindSubmatch(makefile)
	if goflags == nil || !strings.Contains(string(lambdaBuild[1]), "$(LAMBDA_GOFLAGS)") {
		t.Fatal("lambda-build does not use LAMBDA_GOFLAGS")
	}
	recipe := string(lambdaBuild[1]) + " " + string(goflags[1])
	for _, flag := range []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=$(LAMBDA_GOARCH)", "-tags lambda.norpc", "-trimpath", "-s -w", "$(ARTIFACTS_DIR)", "/bootstrap"} {
		if !strings.Contains(recipe, flag) {
			t.Errorf("lambda-build lacks %s", flag)
		}
	}
	if !regexp.MustCompile(`(?m)^LAMBDA_GOARCH \?= arm64$`).Match(makefile) {
		t.Error("Makefile: LAMBDA_GOARCH must default to arm64, the template's architecture")
	}
}

func TestEnvironmentMatchesTheCode(t *testing.T) {
	root := repoRoot(t)
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"), allOn)
	if err != nil {
		t.Fatal(err)
	}
	fns, err := tpl.Functions()
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != len(functionFolders) {
		t.Fatalf("%d functions deployed with every option on, want %d", len(fns), len(functionFolders))
	}
	for _, fn := range fns {
		reads, err := envscan.Reads(root, filepath.Join(root, fn.CodeURI))
		if err != nil {
			t.Errorf("%s: %v", fn.LogicalID, err)
			continue
		}
		read := map[string]bool{}
		for _, r := range reads {
			read[r.Name] = true
			if _, set := fn.Env[r.Name]; !set && !lambdaProvided.MatchString(r.Name) {
				t.Errorf("%s reads %s (%s) but template.yaml does not set it", fn.LogicalID, r.Name, strings.Join(r.Where, ", "))
			}
		}
		for name := range fn.Env {
			if !read[name] {
				t.Errorf("%s: template.yaml sets %s, which its code never reads", fn.LogicalID, name)
			}
		}
	}
}

// statements calls check for every IAM policy statement in v.
func statements(v any, where string, check func(where string, st map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		if sts, ok := x["Statement"].([]any); ok {
			for i, s := range sts {
				st, ok := s.(map[string]any)
				// A statement chosen by a condition: each branch is a statement.
				if branches, cond := st["Fn::If"].([]any); ok && cond && len(branches) == 3 {
					for j, b := range branches[1:] {
						if bst, ok := b.(map[string]any); ok {
							check(fmt.Sprintf("%s.Statement[%d].Fn::If[%d]", where, i, j+1), bst)
						}
					}
					continue
				}
				if ok {
					check(fmt.Sprintf("%s.Statement[%d]", where, i), st)
				}
			}
		}
		for k, e := range x {
			statements(e, where+"."+k, check)
		}
	case []any:
		for i, e := range x {
			statements(e, fmt.Sprintf("%s[%d]", where, i), check)
		}
	}
}

// checkStatement refuses a wildcard resource or action: every resource here has a name.
func checkStatement(t *testing.T, where string, st map[string]any) {
	t.Helper()
	list := func(v any) []any {
		if l, ok := v.([]any); ok {
			return l
		}
		return []any{v}
	}
	if st["NotResource"] != nil || st["NotAction"] != nil {
		t.Errorf("%s: NotResource/NotAction grant nearly everything", where)
	}
	if st["Resource"] == nil && st["Principal"] == nil {
		t.Errorf("%s: no Resource", where)
	}
	// X-Ray's write actions have no resource-level permission: "*" is their only resource.
	xrayWrite := true
	for _, a := range list(st["Action"]) {
		xrayWrite = xrayWrite && (a == "xray:PutTraceSegments" || a == "xray:PutTelemetryRecords")
	}
	for _, r := range list(st["Resource"]) {
		if s, ok := r.(string); ok && (s == "*" || strings.HasSuffix(s, ":*")) && !(xrayWrite && s == "*") {
			t.Errorf("%s: Resource %q: name the resource", where, s)
		}
	}
	for _, a := range list(st["Action"]) {
		if s, ok := a.(string); ok && (s == "*" || strings.HasSuffix(s, ":*") || strings.Contains(s, "*")) {
			t.Errorf("%s: Action %q: name the actions", where, s)
		}
	}
}

func TestPoliciesNameTheirResources(t *testing.T) {
	raw := loadRaw(t)
	n := 0
	statements(raw["Resources"], "Resources", func(where string, st map[string]any) {
		n++
		checkStatement(t, where, st)
	})
	if n < 15 {
		t.Errorf("found %d policy statements; the walk missed the roles", n)
	}
	for id, res := range raw.resources() {
		if dig(res, "Properties", "ManagedPolicyArns") != nil {
			t.Errorf("%s: managed policies are broader than its needs", id)
		}
	}
}

// TestDeployedTemplateHasNoWildcards checks the template as CloudFormation gets it, after
// the SAM transform: SAM adds roles and policies of its own for functions without Role.
func TestDeployedTemplateHasNoWildcards(t *testing.T) {
	resources := transformed(t, allOn)
	roles := 0
	for id, res := range resources {
		typ, _ := res["Type"].(string)
		if strings.HasPrefix(typ, "AWS::Serverless::") {
			t.Errorf("%s: %s left after the transform", id, typ)
		}
		switch typ {
		case "AWS::IAM::Role":
			roles++
			fallthrough
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::SQS::QueuePolicy":
			if dig(res, "Properties", "ManagedPolicyArns") != nil {
				t.Errorf("%s: managed policies %v", id, dig(res, "Properties", "ManagedPolicyArns"))
			}
			statements(res, id, func(where string, st map[string]any) { checkStatement(t, where, st) })
		}
	}
	if roles != 7 { // six functions and the chat rule
		t.Errorf("%d IAM roles after the transform, want 7: SAM made roles of its own", roles)
	}
	for _, want := range []string{"WorkerFunctionWebhooks", "OnboardPeerFunctionPeerCreated", "EnrichFunctionEntityChanged", "WebhookApiApiGatewayDefaultStage"} {
		if _, ok := resources[want]; !ok {
			t.Errorf("transformed template lacks %s", want)
		}
	}
}

func TestQueueAndWorkerSettings(t *testing.T) {
	raw := loadRaw(t)
	res := raw.resources()
	worker := res["WorkerFunction"]
	workerTimeout := number(t, raw.functionSetting(worker, "Timeout"), "WorkerFunction Timeout")
	queue := res["WebhookQueue"]
	if vis := number(t, dig(queue, "Properties", "VisibilityTimeout"), "VisibilityTimeout"); vis < 6*workerTimeout {
		t.Errorf("WebhookQueue VisibilityTimeout %d < 6 x the worker's timeout %d", vis, workerTimeout)
	}
	if got := number(t, dig(queue, "Properties", "RedrivePolicy", "maxReceiveCount"), "maxReceiveCount"); got != 5 {
		t.Errorf("maxReceiveCount = %d, want 5", got)
	}
	if got := fmt.Sprint(dig(queue, "Properties", "RedrivePolicy", "deadLetterTargetArn")); got != "map[Fn::GetAtt:[WebhookDLQ Arn]]" {
		t.Errorf("deadLetterTargetArn = %s, want WebhookDLQ", got)
	}
	for id, r := range res {
		if r["Type"] == "AWS::SQS::Queue" && dig(r, "Properties", "SqsManagedSseEnabled") != true && dig(r, "Properties", "KmsMasterKeyId") == nil {
			t.Errorf("queue %s is not encrypted", id)
		}
	}
	sqsEvent := dig(worker, "Properties", "Events", "Webhooks", "Properties").(map[string]any)
	if dig(worker, "Properties", "Events", "Webhooks", "Type") != "SQS" {
		t.Fatal("WorkerFunction has no SQS event named Webhooks")
	}
	if fmt.Sprint(sqsEvent["FunctionResponseTypes"]) != "[ReportBatchItemFailures]" {
		t.Errorf("worker FunctionResponseTypes = %v: without ReportBatchItemFailures the partial batch response is ignored", sqsEvent["FunctionResponseTypes"])
	}
	if n := number(t, sqsEvent["BatchSize"], "BatchSize"); n < 1 || n > 10 {
		t.Errorf("BatchSize = %d, want 1..10", n)
	}
	if sqsEvent["MaximumBatchingWindowInSeconds"] == nil {
		t.Error("worker has no batching window")
	}
	hook := dig(res["IngestFunction"], "Properties", "Events", "Webhook", "Properties")
	if dig(hook, "Method") != "POST" || dig(hook, "Path") != "/webhooks/{token}" || dig(hook, "PayloadFormatVersion") != "2.0" {
		t.Errorf("ingest route = %v, want POST /webhooks/{token}, payload 2.0", hook)
	}
	ingestTimeout := number(t, raw.functionSetting(res["IngestFunction"], "Timeout"), "IngestFunction Timeout")
	if ms := number(t, dig(hook, "TimeoutInMillis"), "TimeoutInMillis"); ms <= ingestTimeout*1000 || ms > 30000 {
		t.Errorf("integration timeout %d ms must exceed ingest's %d s and stay within HTTP API's 30 s", ms, ingestTimeout)
	}
}

func TestEveryRuleRetriesAndDeadLetters(t *testing.T) {
	raw := loadRaw(t)
	rules := 0
	for id, fn := range raw.functions() {
		events, _ := dig(fn, "Properties", "Events").(map[string]any)
		hasRule := false
		for name, ev := range events {
			if dig(ev, "Type") != "EventBridgeRule" {
				continue
			}
			hasRule = true
			rules++
			p := dig(ev, "Properties")
			if dig(p, "RetryPolicy", "MaximumRetryAttempts") == nil || dig(p, "RetryPolicy", "MaximumEventAgeInSeconds") == nil {
				t.Errorf("%s.%s: no RetryPolicy", id, name)
			}
			if fmt.Sprint(dig(p, "DeadLetterConfig", "Arn")) != "map[Fn::GetAtt:[EventDeliveryDLQ Arn]]" {
				t.Errorf("%s.%s: DeadLetterConfig is not EventDeliveryDLQ", id, name)
			}
			if fmt.Sprint(dig(p, "EventBusName")) != "map[Ref:EventBus]" {
				t.Errorf("%s.%s: not on the peerbridge bus", id, name)
			}
		}
		// EventBridge invokes Lambda asynchronously: a failing run is retried by Lambda,
		// then goes to the function's OnFailure destination, not to the rule's DLQ.
		if hasRule && fmt.Sprint(dig(fn, "Properties", "EventInvokeConfig", "DestinationConfig", "OnFailure", "Destination")) != "map[Fn::GetAtt:[EventDeliveryDLQ Arn]]" {
			t.Errorf("%s: no EventInvokeConfig OnFailure destination: failed runs would be dropped", id)
		}
	}
	if rules != 3 {
		t.Errorf("%d EventBridge rules on functions, want 3 (one per action)", rules)
	}
	for _, target := range dig(raw.resources()["ChatRule"], "Properties", "Targets").([]any) {
		if dig(target, "RetryPolicy") == nil || dig(target, "DeadLetterConfig") == nil {
			t.Error("ChatRule target has no retry policy or dead-letter queue")
		}
		if got := dig(target, "InputTransformer", "InputTemplate"); got != `{"text": <text>}` {
			t.Errorf("chat InputTemplate = %v", got)
		}
		if got := dig(target, "InputTransformer", "InputPathsMap", "text"); got != "$.detail.text" {
			t.Errorf("chat text path = %v", got)
		}
	}
	// Every DLQ has an alarm on its depth, and the endpoint one on its 5xx answers.
	alarmed := map[string]bool{}
	for _, r := range raw.resources() {
		if r["Type"] != "AWS::CloudWatch::Alarm" {
			continue
		}
		dims, _ := dig(r, "Properties", "Dimensions").([]any) // none on a metric-math alarm
		for _, d := range dims {
			alarmed[fmt.Sprint(dig(r, "Properties", "MetricName"))+" "+fmt.Sprint(dig(d, "Value"))] = true
		}
	}
	for _, want := range []string{
		"ApproximateNumberOfMessagesVisible map[Fn::GetAtt:[WebhookDLQ QueueName]]",
		"ApproximateNumberOfMessagesVisible map[Fn::GetAtt:[EventDeliveryDLQ QueueName]]",
		"5xx map[Ref:WebhookApi]",
		"4xx map[Ref:WebhookApi]",
	} {
		if !alarmed[want] {
			t.Errorf("no alarm on %s", want)
		}
	}
}

func TestAccessLogKeepsTheTokenOut(t *testing.T) {
	raw := loadRaw(t)
	format, _ := dig(raw.resources()["WebhookApi"], "Properties", "AccessLogSettings", "Format").(string)
	var fields map[string]string
	if err := json.Unmarshal([]byte(format), &fields); err != nil {
		t.Fatalf("access log format is not a JSON object: %v", err)
	}
	for k, v := range fields {
		// $context.path (and anything naming the path) holds the token; routeKey is the
		// route's template, "POST /webhooks/{token}".
		if strings.Contains(strings.ToLower(v), "path") {
			t.Errorf("access log field %s = %s records the path, which holds the token", k, v)
		}
	}
	if fields["route"] != "$context.routeKey" || fields["status"] != "$context.status" || fields["requestId"] != "$context.requestId" {
		t.Errorf("access log lacks route, status or request id: %v", fields)
	}
	if dig(raw.resources()["WebhookApi"], "Properties", "DefaultRouteSettings", "ThrottlingRateLimit") == nil {
		t.Error("the webhook API has no throttling")
	}
}

func TestOutputs(t *testing.T) {
	raw := loadRaw(t)
	outputs := raw["Outputs"].(map[string]any)
	for _, name := range []string{"WebhookUrl", "WebhookTokenCommand", "EventBusName", "EventArchiveName", "WebhookQueueUrl", "WebhookDLQUrl", "EventDeliveryDLQUrl", "WebhookDLQArn", "EventDeliveryDLQArn"} {
		if outputs[name] == nil {
			t.Errorf("no output %s", name)
		}
	}
	if url := fmt.Sprint(dig(outputs, "WebhookUrl", "Value")); strings.Count(url, "webhooks/<token>") != 2 {
		t.Errorf("WebhookUrl %s does not show where the token goes for both endpoints", url)
	}
	for name, queue := range map[string]string{"WebhookDLQArn": "WebhookDLQ", "EventDeliveryDLQArn": "EventDeliveryDLQ"} {
		if got := fmt.Sprint(dig(outputs, name, "Value")); got != "map[Fn::GetAtt:["+queue+" Arn]]" {
			t.Errorf("%s = %s, want %s's ARN", name, got, queue)
		}
	}
}

func TestEnvFileSetsOnlyDeclaredVariables(t *testing.T) {
	root := repoRoot(t)
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"), allOn)
	if err != nil {
		t.Fatal(err)
	}
	fns, err := tpl.Functions()
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]map[string]string{}
	for _, fn := range fns {
		declared[fn.LogicalID] = fn.Env
	}
	for id := range endpointFunctions { // deployed under another Endpoint; invoked locally all the same
		fn, _, err := tpl.Function(id)
		if err != nil {
			t.Fatal(err)
		}
		declared[id] = fn.Env
	}
	b, err := os.ReadFile(filepath.Join(root, "events", "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]map[string]string
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	for fn, vars := range env {
		for name := range vars {
			if fn == "Parameters" {
				anyDeclares := false
				for _, d := range declared {
					_, ok := d[name]
					anyDeclares = anyDeclares || ok
				}
				if !anyDeclares {
					t.Errorf("env.json Parameters.%s: no function declares it, so sam local invoke ignores it", name)
				}
				continue
			}
			d, ok := declared[fn]
			if !ok {
				t.Errorf("env.json: %s is not a function of the template", fn)
				continue
			}
			if _, ok := d[name]; !ok {
				t.Errorf("env.json %s.%s: not declared by the function, so sam local invoke ignores it", fn, name)
			}
		}
	}
	// No AWS secret needed: the secret ids are emptied and the plain values given.
	// (ingest takes WEBHOOK_TOKENS before its secret or parameter)
	for fn, secretVars := range map[string][]string{"IngestFunction": {"WEBHOOK_TOKEN_SECRET_ID"},
		"IngestUrlFunction": {"WEBHOOK_TOKEN_SECRET_ID"}, "OnboardPeerFunction": {"PEERDOM_API_KEY_PARAMETER"},
		"RoleDefaultsFunction": {"PEERDOM_API_KEY_PARAMETER"}, "EnrichFunction": {"PEERDOM_API_KEY_PARAMETER"}} {
		for _, secretVar := range secretVars {
			if v, ok := env[fn][secretVar]; !ok || v != "" {
				t.Errorf("env.json %s.%s = %q, want \"\" (no secret locally)", fn, secretVar, v)
			}
		}
	}
}

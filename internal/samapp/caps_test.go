package samapp

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/peerbridge/peerbridge/internal/mototest"
)

// transformed is template.yaml after the SAM transform, under params: what
// CloudFormation gets.
func transformed(t *testing.T, params map[string]string) map[string]map[string]any {
	t.Helper()
	encoded, _ := json.Marshal(params)
	cmd := exec.Command(mototest.Python(), filepath.Join("testdata", "transform.py"), filepath.Join(repoRoot(t), "template.yaml"), string(encoded))
	cmd.Env = []string{"AWS_DEFAULT_REGION=us-east-1", "PATH=" + os.Getenv("PATH")} // no credentials: no AWS call
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("SAM transform (%s has aws-sam-translator after `make venv`): %v\n%s", mototest.Python(), err, stderr)
	}
	var deployed struct {
		Resources map[string]map[string]any
	}
	if err := json.Unmarshal(out, &deployed); err != nil {
		t.Fatal(err)
	}
	return deployed.Resources
}

// TestThrottleAndConcurrencyCaps: the endpoint's throttle, the worker's maximum
// concurrency and each action's reserved concurrency come from their parameters, as
// CloudFormation gets them after the SAM transform; ActionsReservedConcurrency=0 leaves
// the actions uncapped rather than throttled to nothing (0 reserved stops a function).
func TestThrottleAndConcurrencyCaps(t *testing.T) {
	raw := loadRaw(t)
	params := raw["Parameters"].(map[string]any)
	for name, def := range map[string]int{"WebhookRateLimit": 100, "WebhookBurstLimit": 500, "WorkerMaxConcurrency": 5, "ActionsReservedConcurrency": 2} {
		if got := fmt.Sprint(dig(params, name, "Default")); got != fmt.Sprint(def) {
			t.Errorf("parameter %s default %s, want %d (the README justifies it)", name, got, def)
		}
	}
	actions := []string{"OnboardPeerFunction", "RoleDefaultsFunction", "EnrichFunction"}
	for _, tc := range []struct {
		params   map[string]string
		reserved any // each action's ReservedConcurrentExecutions; nil: none
	}{
		{map[string]string{}, map[string]any{"Ref": "ActionsReservedConcurrency"}},
		{map[string]string{"ActionsReservedConcurrency": "0"}, nil},
	} {
		p := maps.Clone(allOn)
		maps.Copy(p, tc.params)
		res := transformed(t, p)
		stage := dig(res["WebhookApiApiGatewayDefaultStage"], "Properties", "DefaultRouteSettings")
		if fmt.Sprint(dig(stage, "ThrottlingRateLimit")) != "map[Ref:WebhookRateLimit]" || fmt.Sprint(dig(stage, "ThrottlingBurstLimit")) != "map[Ref:WebhookBurstLimit]" {
			t.Errorf("the stage's throttle: %v", stage)
		}
		if got := dig(res["WorkerFunctionWebhooks"], "Properties", "ScalingConfig", "MaximumConcurrency"); fmt.Sprint(got) != "map[Ref:WorkerMaxConcurrency]" {
			t.Errorf("worker event source MaximumConcurrency = %v", got)
		}
		for _, fn := range actions {
			got := dig(res[fn], "Properties", "ReservedConcurrentExecutions")
			// The transform keeps the Fn::If; resolve it as CloudFormation would.
			if m, _ := got.(map[string]any); m != nil && m["Fn::If"] != nil {
				iff, _ := m["Fn::If"].([]any)
				if tc.params["ActionsReservedConcurrency"] == "0" {
					got = iff[2]
				} else {
					got = iff[1]
				}
				if fmt.Sprint(got) == "map[Ref:AWS::NoValue]" {
					got = nil
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.reserved) {
				t.Errorf("%v: %s ReservedConcurrentExecutions = %v, want %v", tc.params, fn, got, tc.reserved)
			}
		}
	}
	if fmt.Sprint(dig(raw.resources()["IngestFunction"], "Properties", "ReservedConcurrentExecutions")) != "<nil>" {
		t.Error("ingest is capped: a webhook it cannot take is lost; the API's throttle is its bound")
	}
}

package samtemplate

import (
	"encoding/json"
	"strings"
	"testing"
)

const sample = `
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  EventSource:
    Type: String
    Default: peerdom
  OnboardingRoleIds:
    Type: CommaDelimitedList
    Default: ""
  ChatWebhookUrl:
    Type: String
    Default: ""
  LogLevel:
    Type: String
    Default: info
Conditions:
  HasChat: !Not [!Equals [!Ref ChatWebhookUrl, ""]]
  NoChat: !Not [!Condition HasChat]
Globals:
  Function:
    Environment:
      Variables:
        LOG_LEVEL: !Ref LogLevel
        EVENT_SOURCE: !Ref EventSource
Resources:
  Bus:
    Type: AWS::Events::EventBus
    Properties:
      Name: !Sub "${AWS::StackName}-bus"
  OnboardPeerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/actions/onboard-peer
      EventInvokeConfig:
        MaximumRetryAttempts: 1
      Environment:
        Variables:
          ONBOARDING_ROLE_IDS: !Join [",", !Ref OnboardingRoleIds]
          BUS: !Ref Bus
          QUEUE_ARN: !GetAtt Queue.Arn
          LOG_LEVEL: debug
          OPTIONAL: !If [HasChat, !Ref ChatWebhookUrl, !Ref AWS::NoValue]
      Events:
        PeerCreated:
          Type: EventBridgeRule
          Properties:
            EventBusName: !Ref Bus
            Pattern:
              source: [!Ref EventSource]
              detail-type: [Peer Created]
              detail:
                changedFields: [{exists: true}]
                count: [{numeric: [">", 0]}]
        Api:
          Type: Api
  ChatOnlyFunction:
    Type: AWS::Serverless::Function
    Condition: HasChat
    Properties:
      CodeUri: functions/chat
`

func TestFunctionsWithDefaults(t *testing.T) {
	tpl, err := Parse([]byte(sample), nil)
	if err != nil {
		t.Fatal(err)
	}
	fns, err := tpl.Functions()
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != 1 || fns[0].LogicalID != "OnboardPeerFunction" {
		t.Fatalf("functions = %+v, want only OnboardPeerFunction (ChatOnlyFunction's condition is false)", fns)
	}
	fn := fns[0]
	if fn.MaxRetries != 1 {
		t.Errorf("MaxRetries = %d, want the template's 1", fn.MaxRetries)
	}
	if fn.CodeURI != "functions/actions/onboard-peer" {
		t.Errorf("CodeURI = %q", fn.CodeURI)
	}
	wantEnv := map[string]string{"LOG_LEVEL": "debug", "EVENT_SOURCE": "peerdom", "ONBOARDING_ROLE_IDS": "", "BUS": "Bus", "QUEUE_ARN": "Queue.Arn"}
	if len(fn.Env) != len(wantEnv) {
		t.Errorf("env = %v, want %v", fn.Env, wantEnv)
	}
	for k, v := range wantEnv {
		if fn.Env[k] != v {
			t.Errorf("env %s = %q, want %q", k, fn.Env[k], v)
		}
	}
	if len(fn.Rules) != 1 || fn.Rules[0].Name != "PeerCreated" || fn.Rules[0].Bus != "Bus" {
		t.Fatalf("rules = %+v", fn.Rules)
	}
	if !json.Valid(fn.Rules[0].Pattern) {
		t.Fatalf("pattern is not JSON: %s", fn.Rules[0].Pattern)
	}
	got := fn.Rules[0].Pattern
	want := `{"detail":{"changedFields":[{"exists":true}],"count":[{"numeric":[">",0]}]},"detail-type":["Peer Created"],"source":["peerdom"]}`
	if string(got) != want {
		t.Errorf("pattern = %s\nwant %s", got, want)
	}
}

func TestParamsOverrideDefaults(t *testing.T) {
	tpl, err := Parse([]byte(sample), map[string]string{"EventSource": "acme", "ChatWebhookUrl": "https://chat", "OnboardingRoleIds": "r1,r2"})
	if err != nil {
		t.Fatal(err)
	}
	fns, err := tpl.Functions()
	if err != nil {
		t.Fatal(err)
	}
	if len(fns) != 2 {
		t.Fatalf("want both functions once HasChat holds, got %d", len(fns))
	}
	on := fns[1]
	if fns[0].MaxRetries != 2 {
		t.Errorf("MaxRetries without EventInvokeConfig = %d, want Lambda's default 2", fns[0].MaxRetries)
	}
	if on.Env["OPTIONAL"] != "https://chat" || on.Env["EVENT_SOURCE"] != "acme" || on.Env["ONBOARDING_ROLE_IDS"] != "r1,r2" {
		t.Errorf("env = %v", on.Env)
	}
	if !strings.Contains(string(on.Rules[0].Pattern), `"source":["acme"]`) {
		t.Errorf("pattern = %s", on.Rules[0].Pattern)
	}
}

func TestErrors(t *testing.T) {
	if _, err := Parse([]byte(sample), map[string]string{"Nope": "x"}); err == nil || !strings.Contains(err.Error(), `"Nope" is not declared`) {
		t.Errorf("unknown parameter: %v", err)
	}
	if _, err := Parse([]byte("a: [b"), nil); err == nil {
		t.Error("bad YAML accepted")
	}
	bad := strings.Replace(sample, "!Not [!Condition HasChat]", "!Not [!Condition Missing]", 1)
	if _, err := Parse([]byte(bad), nil); err == nil || !strings.Contains(err.Error(), "Missing") {
		t.Errorf("unknown condition: %v", err)
	}
}

func TestSub(t *testing.T) {
	tpl, err := Parse([]byte(sample), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tpl.resolve(map[string]any{"Fn::Sub": []any{"${AWS::StackName}-${X}-${!Lit}-${Bus.Arn}-${EventSource}", map[string]any{"X": "y"}}})
	if err != nil || got != "peerbridge-local-y-${Lit}-Bus.Arn-peerdom" {
		t.Errorf("sub = %v, %v", got, err)
	}
}

// Function finds a function whatever its condition, as `sam local invoke` runs it, and
// says whether the stack would deploy it; its settings fall back to Globals, then Lambda.
func TestFunctionByIDWhateverItsCondition(t *testing.T) {
	src := strings.Replace(sample, "Globals:\n  Function:\n", "Globals:\n  Function:\n    Timeout: 30\n", 1)
	src = strings.Replace(src, "      CodeUri: functions/chat\n", "      CodeUri: functions/chat\n      MemorySize: 256\n", 1)
	tpl, err := Parse([]byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	fn, deployed, err := tpl.Function("ChatOnlyFunction")
	if err != nil {
		t.Fatal(err)
	}
	if deployed || fn.CodeURI != "functions/chat" || fn.TimeoutSeconds != 30 || fn.MemoryMB != 256 {
		t.Errorf("ChatOnlyFunction: deployed %v, %+v; want not deployed, functions/chat, 30 s, 256 MB", deployed, fn)
	}
	if fn, deployed, err := tpl.Function("OnboardPeerFunction"); err != nil || !deployed || fn.MemoryMB != 128 || fn.Env["LOG_LEVEL"] != "debug" {
		t.Errorf("OnboardPeerFunction: %v %v %+v", err, deployed, fn)
	}
	if _, _, err := tpl.Function("Bus"); err == nil || !strings.Contains(err.Error(), "ChatOnlyFunction, OnboardPeerFunction") {
		t.Errorf("a resource that is no function: %v, want an error listing the functions", err)
	}
}

package samtemplate

import (
	"strings"
	"testing"
)

// Resources lists what the template deploys with its parameters, resolved; Global reads
// Globals; NoEcho tells which parameters are not to be shown.
func TestResourcesGlobalNoEcho(t *testing.T) {
	src := strings.Replace(sample, "  ChatWebhookUrl:\n    Type: String\n", "  ChatWebhookUrl:\n    Type: String\n    NoEcho: true\n", 1)
	src = strings.Replace(src, "Globals:\n  Function:\n", "Globals:\n  Function:\n    Architectures: [arm64]\n    LoggingConfig:\n      SystemLogLevel: WARN\n", 1)
	ids := func(tpl *Template) []string {
		var out []string
		for _, r := range tpl.Resources() {
			out = append(out, r.LogicalID+":"+r.Type)
		}
		return out
	}
	tpl, err := Parse([]byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids(tpl), " "); got != "Bus:AWS::Events::EventBus OnboardPeerFunction:AWS::Serverless::Function" {
		t.Errorf("without chat: %s", got)
	}
	if name := tpl.Resources()[0].Properties["Name"]; name != "peerbridge-local-bus" {
		t.Errorf("Bus Name resolved to %v", name)
	}
	withChat, err := Parse([]byte(src), map[string]string{"ChatWebhookUrl": "https://chat.example"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids(withChat), " "); !strings.Contains(got, "ChatOnlyFunction") {
		t.Errorf("with chat: %s", got)
	}
	if got := tpl.Global("Function", "LoggingConfig", "SystemLogLevel"); got != "WARN" {
		t.Errorf("Global SystemLogLevel = %v", got)
	}
	if got := tpl.Global("Function", "Nothing"); got != nil {
		t.Errorf("Global of a missing key = %v", got)
	}
	if !tpl.NoEcho("ChatWebhookUrl") || tpl.NoEcho("EventSource") || tpl.NoEcho("Undeclared") {
		t.Errorf("NoEcho: ChatWebhookUrl %v, EventSource %v, Undeclared %v", tpl.NoEcho("ChatWebhookUrl"), tpl.NoEcho("EventSource"), tpl.NoEcho("Undeclared"))
	}
}

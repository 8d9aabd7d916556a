package samtemplate

import (
	"os"
	"path/filepath"
	"testing"
)

// The stack's template keeps what holds data when the stack is deleted or a resource
// replaced (the token secret, the queues and dead-letter queues, the tables), says so of
// every log group too, recovers the entity state to a point in time, and alarms on a
// reconciliation that stops succeeding and on webhooks waiting in the queue.
func TestTemplateKeepsStateAndAlarms(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := Raw(src)
	if err != nil {
		t.Fatal(err)
	}
	resources, _ := raw["Resources"].(map[string]any)
	kept := map[string]bool{}
	for name, v := range resources {
		res, _ := v.(map[string]any)
		switch res["Type"] {
		case "AWS::SQS::Queue", "AWS::DynamoDB::Table", "AWS::SecretsManager::Secret", "AWS::SSM::Parameter":
			if res["DeletionPolicy"] != "Retain" || res["UpdateReplacePolicy"] != "Retain" {
				t.Errorf("%s (%s): DeletionPolicy %v, UpdateReplacePolicy %v; want Retain for both", name, res["Type"], res["DeletionPolicy"], res["UpdateReplacePolicy"])
			}
			kept[name] = true
		case "AWS::Logs::LogGroup":
			if res["DeletionPolicy"] == nil || res["UpdateReplacePolicy"] == nil {
				t.Errorf("%s: no explicit DeletionPolicy and UpdateReplacePolicy", name)
			}
		}
	}
	for _, name := range []string{"WebhookQueue", "WebhookDLQ", "EventDeliveryDLQ", "IdempotencyTable", "EntityStateTable"} {
		if !kept[name] {
			t.Errorf("%s is not among the kept resources %v", name, kept)
		}
	}
	if v := dig(resources, "EntityStateTable", "Properties", "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled"); v != true {
		t.Errorf("EntityStateTable point-in-time recovery: %v", v)
	}

	hb, _ := resources["ReconcileHeartbeatAlarm"].(map[string]any)
	props, _ := hb["Properties"].(map[string]any)
	// On the function's own Lambda Errors (free): a run writes no metric when it finds nothing.
	if hb == nil || props["TreatMissingData"] != "notBreaching" || props["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" ||
		props["Namespace"] != "AWS/Lambda" || props["MetricName"] != "Errors" || props["Statistic"] != "Sum" || hb["Condition"] != "HasReconcileSchedule" ||
		dig(props, "Dimensions") == nil {
		t.Errorf("ReconcileHeartbeatAlarm: %v", hb)
	}
	if n := dig(resources, "ReconcileFunction", "Properties", "EventInvokeConfig", "MaximumRetryAttempts"); n == 0 || n == nil {
		t.Errorf("ReconcileFunction retries: %v", n)
	}
	age, _ := dig(resources, "WebhookQueueAgeAlarm", "Properties").(map[string]any)
	if age["MetricName"] != "ApproximateAgeOfOldestMessage" || age["Namespace"] != "AWS/SQS" {
		t.Errorf("WebhookQueueAgeAlarm: %v", age)
	}
	if q := dig(age, "Dimensions"); q == nil {
		t.Errorf("WebhookQueueAgeAlarm has no queue dimension")
	}
}

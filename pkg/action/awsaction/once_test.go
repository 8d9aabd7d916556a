package awsaction_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/peerbridge/peerbridge/internal/idempotency/dynamostore"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/pkg/action/awsaction"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

// TestRepeatedDeliveryIsSkippedThroughDynamoDB runs onboard-peer as its Lambda does, with
// IDEMPOTENCY_TABLE naming a table on moto: a redelivered event makes no API call.
func TestRepeatedDeliveryIsSkippedThroughDynamoDB(t *testing.T) {
	ctx := context.Background()
	if err := dynamostore.CreateTable(ctx, dynamodb.NewFromConfig(mototest.Config(t)), "onboard-idempotency"); err != nil {
		t.Fatal(err)
	}
	s := peerdomtest.NewServer(peerdomtest.Config{APIKey: "k"})
	defer s.Close()
	role := s.AddRole(peerdomapi.Role{Name: "Newcomer"})
	ada := s.AddPeer(peerdomapi.Peer{FirstName: "Ada"})
	var log bytes.Buffer
	env := map[string]string{"PEERDOM_API_URL": s.URL, "PEERDOM_API_KEY": "k", "ONBOARDING_ROLE_IDS": role.ID,
		"IDEMPOTENCY_TABLE": "onboard-idempotency"}
	r, err := awsaction.NewRunner(ctx, "onboard-peer", deps(t, env, &log), awsaction.OnboardPeer)
	if err != nil {
		t.Fatal(err)
	}
	ev := peerCreated(t, ada.ID)
	if err := r.Lambda(ctx, ev); err != nil {
		t.Fatal(err)
	}
	requests := len(s.Requests())
	ev.ID = "redelivery-" + ev.ID
	if err := r.Lambda(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if got := len(s.Requests()); got != requests || len(s.Writes()) != 1 {
		t.Fatalf("the redelivery made %d API requests (%d writes in all); want none (1)", got-requests, len(s.Writes()))
	}
	if !strings.Contains(log.String(), `"reason":"already done"`) {
		t.Fatalf("log: %s", log.String())
	}
}

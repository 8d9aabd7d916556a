package parameter

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/peerbridge/peerbridge/internal/mototest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// TestFetchOverTheWire: a SecureString parameter is read decrypted, a new value
// is seen by the next read, and a missing one is named (never a value).
func TestFetchOverTheWire(t *testing.T) {
	ctx := context.Background()
	c := ssm.NewFromConfig(mototest.Config(t))
	put := func(value string) {
		t.Helper()
		if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/peerbridge/fetch"), Value: aws.String(value),
			Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
	}
	put("s3cr3t-value")
	if got, err := Fetch(ctx, c, "/peerbridge/fetch"); err != nil || got != "s3cr3t-value" {
		t.Fatalf("Fetch = %q, %v", got, err)
	}
	put("rotated")
	if got, err := Fetch(ctx, c, "/peerbridge/fetch"); err != nil || got != "rotated" {
		t.Fatalf("after rotation Fetch = %q, %v", got, err)
	}
	_, err := Fetch(ctx, c, "/peerbridge/missing")
	if err == nil || !strings.Contains(err.Error(), `"/peerbridge/missing"`) || strings.Contains(err.Error(), "rotated") {
		t.Errorf("missing parameter: %v", err)
	}
	if _, err := Fetch(ctx, c, ""); err == nil {
		t.Error("no name: no error")
	}
}

package awsaction_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/peerbridge/peerbridge/internal/mototest"
	"github.com/peerbridge/peerbridge/pkg/action"
	"github.com/peerbridge/peerbridge/pkg/action/awsaction"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
	"github.com/peerbridge/peerbridge/pkg/peerdomapi/peerdomtest"
)

func TestMain(m *testing.M) { mototest.Main(m) }

// putParameter writes a SecureString parameter, as a user does with
// aws ssm put-parameter --type SecureString --overwrite.
func putParameter(t *testing.T, ps *ssm.Client, name, value string) {
	t.Helper()
	if _, err := ps.PutParameter(context.Background(), &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value),
		Type: ssmtypes.ParameterTypeSecureString, Overwrite: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
}

func TestPeerdomClientReadsTheKeyFromAParameter(t *testing.T) {
	ctx := context.Background()
	s := peerdomtest.NewServer(peerdomtest.Config{APIKey: "sk-from-the-secret"})
	defer s.Close()
	s.AddRole(peerdomapi.Role{Name: "Scribe"})
	ps := ssm.NewFromConfig(mototest.Config(t))
	putParameter(t, ps, "/peerdom/key-json", `{"apiKey":"sk-from-the-secret"}`)
	putParameter(t, ps, "/peerdom/key-plain", "sk-from-the-secret")
	putParameter(t, ps, "/peerdom/no-key", `{"other":"x"}`)

	for _, id := range []string{"/peerdom/key-json", "/peerdom/key-plain"} {
		api, err := awsaction.PeerdomClient(ctx, "demo", action.Config{APIURL: s.URL, APIKeyParameter: id}, ps)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if roles, err := api.Roles().All(ctx, peerdomapi.Options{}); err != nil || len(roles) != 1 {
			t.Fatalf("%s: the key from the secret does not work: %v, %v", id, roles, err)
		}
	}
	// Without a parameter, the plain key; no SSM call is made (nil client).
	api, err := awsaction.PeerdomClient(ctx, "demo", action.Config{APIURL: s.URL, APIKey: "sk-from-the-secret"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Roles().All(ctx, peerdomapi.Options{}); err != nil {
		t.Fatal(err)
	}

	for id, want := range map[string]string{"/no/such/parameter": `"/no/such/parameter"`, "/peerdom/no-key": `"apiKey"`} {
		_, err := awsaction.PeerdomClient(ctx, "demo", action.Config{APIURL: s.URL, APIKeyParameter: id}, ps)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "sk-from") {
			t.Errorf("%s: err = %v, want it to name %s", id, err, want)
		}
	}
}

// TestWarmClientPicksUpARotatedKey: the key is rotated (a new value in the parameter,
// the old key refused by Peerdom) while the container is warm. The next call is answered
// 401, the client reads the parameter again and repeats the call with the new key, once;
// when the parameter holds a refused key too, the call fails saying so.
func TestWarmClientPicksUpARotatedKey(t *testing.T) {
	ctx := context.Background()
	s := peerdomtest.NewServer(peerdomtest.Config{APIKey: "sk-new-key"})
	defer s.Close()
	ps := ssm.NewFromConfig(mototest.Config(t))
	putParameter(t, ps, "/peerdom/rotating", "sk-old-key")
	s.AddKey("sk-old-key", peerdomtest.User{Name: "Bot", Email: "bot@acme.example"})
	api, err := awsaction.PeerdomClient(ctx, "demo", action.Config{APIURL: s.URL, APIKeyParameter: "/peerdom/rotating"}, ps)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Maps().All(ctx, peerdomapi.Options{}); err != nil {
		t.Fatal(err)
	}
	// Rotation: the parameter gets the new key; the old one stops working.
	putParameter(t, ps, "/peerdom/rotating", "sk-new-key")
	s.RevokeKey("sk-old-key")
	if _, err := api.Peers().Create(ctx, peerdomapi.PeerInput{FirstName: "Rotated"}); err != nil {
		t.Fatalf("after the rotation: %v", err)
	}
	if w := s.Writes(); len(w) != 1 {
		t.Errorf("writes %+v, want the one create", w)
	}
	// A parameter holding a key Peerdom refuses: one re-read, one repeat, then a clear error.
	putParameter(t, ps, "/peerdom/rotating", "sk-wrong-key")
	s.RevokeKey("sk-new-key")
	before := len(s.Requests())
	_, err = api.Maps().All(ctx, peerdomapi.Options{})
	if !errors.Is(err, peerdomapi.ErrUnauthorized) || !strings.Contains(err.Error(), "refused again") || strings.Contains(err.Error(), "sk-") {
		t.Errorf("err = %v, want ErrUnauthorized saying the re-read key is refused too, quoting no key", err)
	}
	if n := len(s.Requests()) - before; n != 2 {
		t.Errorf("%d requests, want 2 (the refused key, then the re-read one)", n)
	}
}

// Package operatetest creates, in moto, the part of a peerbridge stack the operator
// commands read, for their tests.
package operatetest

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/peerbridge/peerbridge/internal/mototest"
)

// Template is the part of template.yaml the operator commands read, in plain
// CloudFormation (moto does not run the SAM transform): the queues with the webhook
// queue's redrive policy (maxReceiveCount 1, so a test dead-letters a message by
// receiving it twice), the bus, its archive, rules named as CloudFormation names the
// template's (two actions' and chat's), and the outputs by the template's names.
const Template = `
Resources:
  WebhookDLQ:
    Type: AWS::SQS::Queue
  WebhookQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 180
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt WebhookDLQ.Arn
        maxReceiveCount: 1
  EventDeliveryDLQ:
    Type: AWS::SQS::Queue
  EventBus:
    Type: AWS::Events::EventBus
    Properties:
      Name: !Sub ${AWS::StackName}-events
  EventArchive:
    Type: AWS::Events::Archive
    Properties:
      ArchiveName: !Sub ${AWS::StackName}-archive
      SourceArn: !GetAtt EventBus.Arn
  OnboardRule:
    Type: AWS::Events::Rule
    Properties:
      Name: !Sub ${AWS::StackName}-OnboardPeerFunctionPeerCreated-ABC
      EventBusName: !GetAtt EventBus.Name
      EventPattern: {"source": ["peerdom"], "detail-type": ["Peer Created"]}
  EnrichRule:
    Type: AWS::Events::Rule
    Properties:
      Name: !Sub ${AWS::StackName}-EnrichFunctionEntityChanged-DEF
      EventBusName: !GetAtt EventBus.Name
      EventPattern: {"source": ["peerdom"], "detail-type": ["Role Created", "Peer Updated"]}
  ChatRule:
    Type: AWS::Events::Rule
    Properties:
      Name: !Sub ${AWS::StackName}-ChatRule-GHI
      EventBusName: !GetAtt EventBus.Name
      EventPattern: {"detail-type": ["Role Created", "Peer Created"]}
Outputs:
  EventBusArn:
    Value: !GetAtt EventBus.Arn
  EventArchiveArn:
    Value: !GetAtt EventArchive.Arn
  WebhookUrl:
    Value: https://abc123.execute-api.us-east-1.amazonaws.com/webhooks/<token>
  WebhookQueueUrl:
    Value: !Ref WebhookQueue
  WebhookDLQUrl:
    Value: !Ref WebhookDLQ
  EventDeliveryDLQUrl:
    Value: !Ref EventDeliveryDLQ
  EventBusName:
    Value: !GetAtt EventBus.Name
`

var serial atomic.Int64

// Deploy creates the stack in moto under a name made from the test's, and returns the name.
func Deploy(t *testing.T) string {
	t.Helper()
	// Short: the archive's name (<stack>-archive) may not pass 48 characters.
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(strings.TrimPrefix(t.Name(), "Test")))
	name = fmt.Sprintf("pb-%.24s-%d", name, serial.Add(1))
	cf := cloudformation.NewFromConfig(mototest.Config(t))
	if _, err := cf.CreateStack(context.Background(), &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(Template)}); err != nil {
		t.Fatalf("create stack: %v", err)
	}
	return name
}

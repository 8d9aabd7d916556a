// Command onboard-peer is the OnboardPeer action as a Lambda function (see pkg/action and README.md).
package main

import "github.com/peerbridge/peerbridge/pkg/action/awsaction"

func main() { awsaction.Start("onboard-peer", awsaction.OnboardPeer) }

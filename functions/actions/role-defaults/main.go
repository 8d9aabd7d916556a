// Command role-defaults is the RoleDefaults action as a Lambda function (see pkg/action and README.md).
package main

import "github.com/peerbridge/peerbridge/pkg/action/awsaction"

func main() { awsaction.Start("role-defaults", awsaction.RoleDefaults) }

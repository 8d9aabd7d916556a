package action

import (
	"fmt"

	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// The names of the shipped actions: their function folders under functions/actions.
const (
	NameOnboardPeer  = "onboard-peer"
	NameRoleDefaults = "role-defaults"
	NameEnrich       = "enrich"
)

// Builtins lists the shipped actions' names.
func Builtins() []string { return []string{NameOnboardPeer, NameRoleDefaults, NameEnrich} }

// NewBuiltin makes a shipped action by name from its settings (getenv:
// ONBOARDING_ROLE_IDS, ROLE_DEFAULTS, EVENT_SOURCE), reading them as its Lambda function
// does (functions/actions/<name>); publish is the bus enrich publishes to (unused by the
// others).
func NewBuiltin(name string, api *peerdomapi.Client, getenv func(string) string, publish Publisher) (Handler, error) {
	switch name {
	case NameOnboardPeer:
		return NewOnboardPeer(api, ParseList(getenv("ONBOARDING_ROLE_IDS")))
	case NameRoleDefaults:
		defaults, err := ParseFieldDefaults(getenv("ROLE_DEFAULTS"))
		if err != nil {
			return nil, err
		}
		return NewRoleDefaults(api, defaults)
	case NameEnrich:
		return NewEnrich(api, publish, getenv("EVENT_SOURCE"))
	}
	return nil, fmt.Errorf("action: no shipped action is named %q (known: %v)", name, Builtins())
}

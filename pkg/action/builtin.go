package action

// The names of the shipped actions: their function folders under functions/actions.
const (
	NameOnboardPeer  = "onboard-peer"
	NameRoleDefaults = "role-defaults"
	NameEnrich       = "enrich"
)

// Builtins lists the shipped actions' names.
func Builtins() []string { return []string{NameOnboardPeer, NameRoleDefaults, NameEnrich} }

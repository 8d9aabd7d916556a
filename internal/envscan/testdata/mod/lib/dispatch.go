package lib

// NameA is a dispatcher's case value.
const NameA = "a"

// Make reads the settings of the thing it makes: each caller only those of its case.
func Make(name string, getenv func(string) string) string {
	switch name {
	case NameA:
		return getenv("A_ONLY")
	case "b", "c":
		return getenv("B_OR_C_ONLY")
	default:
		return getenv("OTHER_ONLY")
	}
}

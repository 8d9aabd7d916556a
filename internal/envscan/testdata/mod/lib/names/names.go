package names

// Prefix and Queue are read through a constant of another package.
const (
	Prefix = "APP_"
	Queue  = Prefix + "QUEUE_URL"
)

package peerdom

// Parse turns a webhook's Markdown text into an event detail (CONTRACT.md §3).
// It never fails: a header it does not understand gives an unrecognized detail.
// TEMPORARY: the real parser lands in the next commits of issue 2.
func Parse(text string) Detail {
	return Detail{Fields: map[string]string{}, Changes: []Change{}, ChangedFields: []string{}, Text: text}
}

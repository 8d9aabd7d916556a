// Package eventpattern matches events against Amazon EventBridge event patterns, so the
// local pipeline (`peerbridge serve`) routes events by the same patterns that
// template.yaml gives the real bus.
//
// A pattern is compiled once with Compile and then matched against many events. A bus
// routing one event to many rules decodes the event once with DecodeEvent and calls
// MatchEvent for each rule; Match does both for a single check.
//
// The semantics follow the EventBridge user guide (event patterns, content filtering,
// arrays, null values):
//
//   - Every field named in the pattern must be present in the event at the same nesting;
//     fields the pattern does not name are ignored.
//   - A pattern leaf is a non-empty array of match values; the field matches when any of
//     them matches. When the event's value is an array, the field matches when any element
//     matches (arrays are flattened; an empty array has no values, like a missing field).
//   - A pattern object applied to an array of objects must be satisfied by one element:
//     fields from different elements of the same array never combine into a match.
//   - Exact values are case- and type-sensitive: "5" (string) never matches 5 (number),
//     true never matches "true", null matches only null (not "" and not a missing field).
//     Numbers match exactly by their written representation (300 does not match 300.0);
//     they compare as numbers only under "numeric" and "anything-but".
//   - Operators: prefix, suffix (each optionally {"equals-ignore-case": ...}),
//     equals-ignore-case, wildcard (* matches any run of characters, \* a literal star,
//     \\ a backslash), anything-but (a string, a number, a list of strings or of numbers,
//     or {prefix|suffix|equals-ignore-case|wildcard}), numeric ([op, n] or
//     [">"|">=", low, "<"|"<=", high]), exists (true or false), cidr.
//   - String operators match only strings and numeric only JSON numbers. anything-but
//     needs the field to be present, and matches any present value it does not exclude
//     (so anything-but "x" matches a number or null). exists matches leaf values only:
//     a field whose value is an object does not exist as far as exists is concerned.
//   - "$or": [ {...}, {...}, ... ] at any level holds when one of its (two or more)
//     alternatives matches the object it appears in.
//
// Invalid patterns — not a JSON object, an empty object or array, a leaf that is not an
// array, an unknown or malformed operator, a wildcard with consecutive stars, a numeric
// range that is empty — are rejected by Compile with an *Error that names the place.
package eventpattern

// Package eventpattern matches events against Amazon EventBridge event patterns, so the
// local pipeline (`peerbridge serve`) routes events by the same patterns that
// template.yaml gives the real bus.
//
// A pattern is compiled once with Compile and then matched against many events. A bus
// routing one event to many rules decodes the event once with DecodeEvent and calls
// MatchEvent for each rule; Match does both for a single check.
//
// The semantics follow the EventBridge user guide (event patterns, content filtering,
// arrays, null values) and, where the guide is silent, event-ruler 1.8.1, the matcher AWS
// publishes and EventBridge is built on. The package is held to event-ruler's recorded
// verdicts on a generated corpus of over 28,000 (pattern, event) pairs (see
// TestEventRulerVerdicts): on every pattern both accept, they agree on every event.
//
//   - Every field named in the pattern must be present in the event at the same nesting;
//     fields the pattern does not name are ignored.
//   - A pattern leaf is a non-empty array of match values; the field matches when any of
//     them matches. When the event's value is an array, the field matches when any element
//     matches (arrays are flattened; an empty array has no values, like a missing field).
//   - A pattern object applied to an array of objects must be satisfied by one element:
//     fields from different elements of the same array never combine into a match.
//   - Exact values are type-sensitive: "5" (string) never matches 5 (number), true never
//     matches "true", null matches only null (not "" and not a missing field).
//   - Numbers compare by value: 300 matches 300.0 and 3e2, and anything-but 300 excludes
//     them. That holds for every number a float64 holds exactly (as Java writes it back);
//     any other number (9007199254740993, 0.10000000000000001) matches only its own
//     text, and numeric and anything-but never take it.
//   - Operators: prefix, suffix (each optionally {"equals-ignore-case": ...}),
//     equals-ignore-case, wildcard (* matches any run of characters, \* a literal star,
//     \\ a backslash), anything-but (a string, a number, a list of strings or of numbers,
//     or {prefix|suffix|equals-ignore-case|wildcard}), numeric ([op, n] or
//     [">"|">=", low, "<"|"<=", high]), exists (true or false), cidr.
//   - String operators match only strings and numeric only JSON numbers. anything-but
//     needs the field to be present, and matches any present value it does not exclude
//     (so anything-but "x" matches a number or null). exists:true holds where the field
//     has a leaf value (not an object, not an empty array); exists:false holds when the
//     field has no leaf value anywhere in the event: a field that one element of an array
//     of objects has exists, even where another element lacks it.
//   - equals-ignore-case (and its prefix, suffix and anything-but forms) compares each
//     character of the operand with its lower and its upper case as Java maps them: "ß"
//     matches "SS", but the Kelvin sign is not "k" and a titlecase letter such as "ǅ"
//     matches only "ǆ" or "Ǆ", not itself; a character beyond the Basic
//     Multilingual Plane (an emoji) in the operand matches only "??".
//   - IP addresses: a string value written as an IP address (four dotted numbers, or hex
//     digits and colons) matches that address however it is written ("2001:DB8:0::1"
//     matches "2001:db8::1"). cidr takes IPv4 prefixes /0 to /31 and IPv6 /0 to /127 (for
//     one address write the address as a value). As event-ruler compares addresses digit by
//     digit, a cidr also matches an IPv6 address whose leading digits fall in an IPv4
//     range, and a JSON number whose digits do (5 is in 10.0.0.0/0) unless the field also
//     has a numeric condition.
//   - "$or": [ {...}, {...}, ... ] at any level holds when one of its (two or more)
//     alternatives matches the object it appears in. As in event-ruler, an alternative
//     and the fields beside the "$or" must hold in one element of each array of objects
//     on the way (past 4,096 combinations of alternatives, each "$or" is matched on its
//     own instead).
//   - Field names are looked up as written. event-ruler joins them with dots, so there
//     {"a.b": ["x"]} also matches {"a": {"b": "x"}} and the reverse; not here.
//
// Invalid patterns — not a JSON object, an empty object or array, a leaf that is not an
// array, an unknown or malformed operator, a wildcard with consecutive stars, a numeric
// range that is empty or a single number (write ["=", n]), a bound beyond the largest
// float64, a number no float64 holds exactly as a numeric or anything-but operand, a /32
// or /128 cidr — are rejected by Compile with an *Error that names the place, as
// event-ruler rejects them. One pattern event-ruler accepts is refused here: one that
// names a field twice in what event-ruler makes one rule of (inside a "$or" alternative
// and outside it, in two nested "$or"s, or as "a.b" and {"a": {"b": ...}}). event-ruler
// keeps whichever of the two conditions it reads last, silently, so the deployed rule
// would not mean what the pattern says; write the field once in each alternative.
package eventpattern

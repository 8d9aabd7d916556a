package eventpattern_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/peerbridge/peerbridge/pkg/eventpattern"
)

// Events shaped like peerbridge's (docs/contract.md), in the envelope EventBridge gives rules.
const (
	roleCreated = `{"version":"0","id":"e1","detail-type":"Role Created","source":"peerdom",
	  "account":"123456789012","time":"2026-03-02T10:00:00Z","region":"us-east-1","resources":[],
	  "detail":{"id":"d-1","entity":"role","action":"created","name":"Facilitator",
	    "url":"https://app.peerdom.org/acme/map/3f2b6a1e-9c4d-4e8a-b1f0-2a7c5d9e8b11/role/9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66",
	    "organization":"acme","entityId":"9c1e7d2a-4b3f-4a6e-8d2c-1f0e9b8a7c66",
	    "author":{"name":"Jane Doe","email":"jane@example.com"},
	    "fields":{"Name":"Facilitator","Map":"Main map"},"changes":[],"changedFields":[],
	    "text":"**[Role](https://app.peerdom.org/acme/...)** was created"}}`
	peerUpdated = `{"version":"0","id":"e2","detail-type":"Peer Updated","source":"peerdom",
	  "account":"123456789012","time":"2026-03-02T10:00:00Z","region":"us-east-1","resources":[],
	  "detail":{"id":"d-2","entity":"peer","action":"updated","url":"https://app.peerdom.org/acme/peers/bob",
	    "organization":"acme","author":{"name":"Jane Doe","email":"jane@example.com"},"fields":{},
	    "changes":[{"field":"Nickname","old":"Bob","new":"Bobby"},{"field":"Location","old":"Zurich","new":"Geneva"},
	      {"field":"Languages","added":["French","Italian"],"removed":[]}],
	    "changedFields":["Nickname","Location","Languages"],"text":"..."}}`
	groupDeletedBySystem = `{"version":"0","id":"e3","detail-type":"Group Deleted","source":"peerdom",
	  "account":"123456789012","time":"2026-03-02T10:00:00Z","region":"us-east-1","resources":[],
	  "detail":{"id":"d-3","entity":"group","action":"deleted","name":"Marketing",
	    "fields":{"Name":"Marketing"},"changes":[],"changedFields":[],"text":"..."}}`
	unrecognized = `{"version":"0","id":"e4","detail-type":"Unrecognized Message","source":"peerdom",
	  "account":"123456789012","time":"2026-03-02T10:00:00Z","region":"us-east-1","resources":[],
	  "detail":{"id":"d-4","fields":{},"changes":[],"changedFields":[],"text":"Hello from Peerdom!"}}`
)

// Generic events, after the examples of the EventBridge user guide.
const (
	ec2 = `{"version":"0","id":"e5","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2",
	  "account":"111122223333","time":"2017-10-02T18:43:48Z","region":"us-west-1",
	  "resources":["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
	  "detail":{"instance-id":"i-1234567890abcdef0","state":"initializing","c-count":5,"d-count":3,
	    "x-limit":301.8,"source-ip":"10.0.0.33","FileName":"photo.PNG","FilePath":"/usr/lib/x.so"}}`
	typed = `{"source":"test","detail":{"n":5,"n300":300.0,"s":"5","t":true,"st":"true","null":null,"empty":"",
	  "obj":{"c1":100},"arr":["initializing","running"],"only":["initializing"],"nums":[1,20],"none":[],
	  "nested":[["a"],["b"]],"ip6":"2001:db8::1","word":"ÉCOLE","star":"a*b","backslash":"a\\b"}}`
)

func TestMatch(t *testing.T) {
	cases := []struct {
		name, pattern, event string
		want                 bool
	}{
		// Exact values and lists.
		{"source and detail-type", `{"source":["peerdom"],"detail-type":["Role Created"]}`, roleCreated, true},
		{"detail-type list", `{"detail-type":["Role Created","Role Updated"]}`, roleCreated, true},
		{"detail-type not in list", `{"detail-type":["Role Updated","Role Deleted"]}`, roleCreated, false},
		{"exact is case-sensitive", `{"detail-type":["role created"]}`, roleCreated, false},
		{"nested detail fields", `{"detail":{"entity":["role"],"action":["created"]}}`, roleCreated, true},
		{"nested detail mismatch", `{"detail":{"entity":["role"],"action":["deleted"]}}`, roleCreated, false},
		{"deeper nesting", `{"detail":{"author":{"email":["jane@example.com"]}}}`, roleCreated, true},
		{"missing field", `{"detail":{"author":{"email":["jane@example.com"]}}}`, groupDeletedBySystem, false},
		{"unrecognized by detail-type", `{"detail-type":["Unrecognized Message"]}`, unrecognized, true},
		{"empty string value", `{"detail":{"empty":[""]}}`, typed, true},

		// Arrays in the event: any element.
		{"changedFields contains", `{"detail":{"changedFields":["Location"]}}`, peerUpdated, true},
		{"changedFields any of", `{"detail":{"changedFields":["Name","Languages"]}}`, peerUpdated, true},
		{"changedFields lacks", `{"detail":{"changedFields":["Name"]}}`, peerUpdated, false},
		{"resources array", `{"resources":["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]}`, ec2, true},
		{"nested arrays are flattened", `{"detail":{"nested":["b"]}}`, typed, true},
		{"objects in array: one element", `{"detail":{"changes":{"field":["Location"],"new":["Geneva"]}}}`, peerUpdated, true},
		{"objects in array: never across elements", `{"detail":{"changes":{"field":["Nickname"],"new":["Geneva"]}}}`, peerUpdated, false},
		{"objects in array: nested array in element", `{"detail":{"changes":{"added":["Italian"]}}}`, peerUpdated, true},
		// Not in the user guide: EventBridge's engine (Event Ruler) flattens arrays, so an
		// empty one holds no value and the field counts as absent.
		{"empty array has no value", `{"detail":{"none":[{"exists":false}]}}`, typed, true},
		{"empty array does not exist", `{"detail":{"changedFields":[{"exists":true}]}}`, roleCreated, false},

		// Types: exact matching never converts.
		{"string 5 is not number 5", `{"detail":{"n":["5"]}}`, typed, false},
		{"number 5 is not string 5", `{"detail":{"s":[5]}}`, typed, false},
		{"number 5 matches 5", `{"detail":{"n":[5]}}`, typed, true},
		{"string 5 matches \"5\"", `{"detail":{"s":["5"]}}`, typed, true},
		{"300 matches 300.0 (compared by value, as event-ruler does)", `{"detail":{"n300":[300]}}`, typed, true},
		{"3e2 matches 300.0", `{"detail":{"n300":[3e2]}}`, typed, true},
		{"301 does not match 300.0", `{"detail":{"n300":[301]}}`, typed, false},
		{"a number no float64 holds exactly compares by text", `{"detail":{"big":[9007199254740992]}}`, `{"detail":{"big":9007199254740993}}`, false},
		{"... and matches its own text", `{"detail":{"big":[9007199254740993]}}`, `{"detail":{"big":9007199254740993}}`, true},
		{"anything-but a number excludes it written otherwise", `{"detail":{"n300":[{"anything-but":3e2}]}}`, typed, false},
		{"numeric skips a number no float64 holds exactly", `{"detail":{"big":[{"numeric":[">",0]}]}}`, `{"detail":{"big":9007199254740993}}`, false},
		{"300.0 matches 300.0", `{"detail":{"n300":[300.0]}}`, typed, true},
		{"true is not \"true\"", `{"detail":{"st":[true]}}`, typed, false},
		{"\"true\" is not true", `{"detail":{"t":["true"]}}`, typed, false},
		{"true matches true", `{"detail":{"t":[true]}}`, typed, true},
		{"number 1 is not true", `{"detail":{"t":[1]}}`, typed, false},

		// null.
		{"null matches null", `{"detail":{"null":[null]}}`, typed, true},
		{"empty string is not null", `{"detail":{"null":[""]}}`, typed, false},
		{"null is not empty string", `{"detail":{"empty":[null]}}`, typed, false},
		{"null is not missing", `{"detail":{"missing":[null]}}`, typed, false},
		{"null exists", `{"detail":{"null":[{"exists":true}]}}`, typed, true},

		// prefix / suffix / equals-ignore-case.
		{"prefix", `{"time":[{"prefix":"2017-10-02"}]}`, ec2, true},
		{"prefix mismatch", `{"time":[{"prefix":"2017-10-03"}]}`, ec2, false},
		{"prefix is case-sensitive", `{"source":[{"prefix":"AWS."}]}`, ec2, false},
		{"prefix only on strings", `{"detail":{"n":[{"prefix":"5"}]}}`, typed, false},
		{"prefix equals-ignore-case", `{"source":[{"prefix":{"equals-ignore-case":"AWS."}}]}`, ec2, true},
		{"prefix equals-ignore-case mismatch", `{"source":[{"prefix":{"equals-ignore-case":"AWS.S3"}}]}`, ec2, false},
		{"suffix", `{"detail":{"author":{"email":[{"suffix":"@example.com"}]}}}`, roleCreated, true},
		{"suffix is case-sensitive", `{"detail":{"FileName":[{"suffix":".png"}]}}`, ec2, false},
		{"suffix equals-ignore-case", `{"detail":{"FileName":[{"suffix":{"equals-ignore-case":".png"}}]}}`, ec2, true},
		{"equals-ignore-case", `{"detail-type":[{"equals-ignore-case":"ROLE created"}]}`, roleCreated, true},
		{"equals-ignore-case is still equality", `{"detail-type":[{"equals-ignore-case":"role"}]}`, roleCreated, false},
		{"equals-ignore-case beyond ASCII", `{"detail":{"word":[{"equals-ignore-case":"école"}]}}`, typed, true},
		{"equals-ignore-case only on strings", `{"detail":{"t":[{"equals-ignore-case":"TRUE"}]}}`, typed, false},

		// wildcard.
		{"wildcard", `{"detail":{"url":[{"wildcard":"https://app.peerdom.org/*/role/*"}]}}`, roleCreated, true},
		{"wildcard mismatch", `{"detail":{"url":[{"wildcard":"https://app.peerdom.org/*/circles/*"}]}}`, roleCreated, false},
		{"wildcard star matches nothing too", `{"detail-type":[{"wildcard":"Role*Created"}]}`, roleCreated, true},
		{"wildcard is anchored", `{"detail-type":[{"wildcard":"Role*"}]}`, peerUpdated, false},
		{"wildcard ends cannot overlap", `{"detail":{"s":[{"wildcard":"5*5"}]}}`, typed, false},
		{"wildcard escaped star", `{"detail":{"star":[{"wildcard":"a\\*b"}]}}`, typed, true},
		{"wildcard escaped star is literal", `{"detail":{"star":[{"wildcard":"a\\*"}]}}`, typed, false},
		{"wildcard escaped backslash", `{"detail":{"backslash":[{"wildcard":"a\\\\*"}]}}`, typed, true},
		{"wildcard only star", `{"detail":{"empty":[{"wildcard":"*"}]}}`, typed, true},
		{"wildcard only on strings", `{"detail":{"n":[{"wildcard":"*"}]}}`, typed, false},

		// anything-but.
		{"anything-but string", `{"detail":{"state":[{"anything-but":"running"}]}}`, ec2, true},
		{"anything-but string excluded", `{"detail":{"state":[{"anything-but":"initializing"}]}}`, ec2, false},
		{"anything-but missing field", `{"detail":{"author":{"email":[{"anything-but":"bot@acme.example"}]}}}`, groupDeletedBySystem, false},
		{"anything-but IGNORE_AUTHORS style", `{"detail":{"author":{"email":[{"anything-but":["bot@acme.example"]}]}}}`, roleCreated, true},
		{"anything-but list excluded", `{"detail":{"state":[{"anything-but":["stopped","initializing"]}]}}`, ec2, false},
		{"anything-but other type passes", `{"detail":{"n":[{"anything-but":"5"}]}}`, typed, true},
		{"anything-but null passes", `{"detail":{"null":[{"anything-but":"x"}]}}`, typed, true},
		{"anything-but number", `{"detail":{"c-count":[{"anything-but":[100,200,300]}]}}`, ec2, true},
		{"anything-but number excluded", `{"detail":{"c-count":[{"anything-but":[4,5]}]}}`, ec2, false},
		{"anything-but number compares as number", `{"detail":{"n300":[{"anything-but":300}]}}`, typed, false},
		{"anything-but number passes string", `{"detail":{"s":[{"anything-but":5}]}}`, typed, true},
		{"anything-but array: one element suffices", `{"detail":{"arr":[{"anything-but":"initializing"}]}}`, typed, true},
		{"anything-but array: all excluded", `{"detail":{"only":[{"anything-but":"initializing"}]}}`, typed, false},
		{"anything-but prefix", `{"detail":{"state":[{"anything-but":{"prefix":"init"}}]}}`, ec2, false},
		{"anything-but prefix passes", `{"source":[{"anything-but":{"prefix":"aws."}}]}`, roleCreated, true},
		{"anything-but suffix", `{"detail":{"FileName":[{"anything-but":{"suffix":".PNG"}}]}}`, ec2, false},
		{"anything-but equals-ignore-case", `{"detail":{"state":[{"anything-but":{"equals-ignore-case":"INITIALIZING"}}]}}`, ec2, false},
		{"anything-but equals-ignore-case list", `{"detail":{"state":[{"anything-but":{"equals-ignore-case":["STOPPED","RUNNING"]}}]}}`, ec2, true},
		{"anything-but wildcard", `{"detail":{"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]}}`, ec2, false},
		{"anything-but wildcard passes", `{"detail":{"url":[{"anything-but":{"wildcard":"*/circles/*"}}]}}`, roleCreated, true},

		// numeric.
		{"numeric range", `{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}]}}`, ec2, true},
		{"numeric range open top", `{"detail":{"c-count":[{"numeric":[">",0,"<",5]}]}}`, ec2, false},
		{"numeric less", `{"detail":{"d-count":[{"numeric":["<",10]}]}}`, ec2, true},
		{"numeric equals exponent", `{"detail":{"x-limit":[{"numeric":["=",3.018e2]}]}}`, ec2, true},
		{"numeric compares 300.0 with 300", `{"detail":{"n300":[{"numeric":["=",300]}]}}`, typed, true},
		{"numeric >=", `{"detail":{"n":[{"numeric":[">=",5]}]}}`, typed, true},
		{"numeric >", `{"detail":{"n":[{"numeric":[">",5]}]}}`, typed, false},
		{"numeric only on numbers", `{"detail":{"s":[{"numeric":[">",0]}]}}`, typed, false},
		{"numeric not on booleans", `{"detail":{"t":[{"numeric":[">",0]}]}}`, typed, false},
		{"numeric on array", `{"detail":{"nums":[{"numeric":[">",10]}]}}`, typed, true},

		// exists.
		{"exists true", `{"detail":{"author":{"email":[{"exists":true}]}}}`, roleCreated, true},
		{"exists true missing", `{"detail":{"author":{"email":[{"exists":true}]}}}`, groupDeletedBySystem, false},
		{"exists false missing", `{"detail":{"author":[{"exists":false}]}}`, groupDeletedBySystem, true},
		{"exists false present", `{"detail":{"entity":[{"exists":false}]}}`, roleCreated, false},
		{"exists false on unrecognized", `{"detail":{"entity":[{"exists":false}]}}`, unrecognized, true},
		{"exists: object value is not a leaf", `{"detail":{"obj":[{"exists":false}]}}`, typed, true},
		{"exists true on object value", `{"detail":{"obj":[{"exists":true}]}}`, typed, false},
		{"exists false under missing parent", `{"detail":{"nope":{"x":[{"exists":false}]}}}`, typed, true},
		{"exists false under scalar parent", `{"detail":{"s":{"x":[{"exists":false}]}}}`, typed, true},
		{"exists in a list with a value", `{"detail":{"author":{"email":[{"exists":false},"jane@example.com"]}}}`, roleCreated, true},

		// cidr.
		{"cidr", `{"detail":{"source-ip":[{"cidr":"10.0.0.0/24"}]}}`, ec2, true},
		{"cidr outside", `{"detail":{"source-ip":[{"cidr":"10.0.1.0/24"}]}}`, ec2, false},
		{"cidr IPv6", `{"detail":{"ip6":[{"cidr":"2001:db8::/32"}]}}`, typed, true},

		// $or at any level.
		{"$or top level first", `{"source":["peerdom"],"$or":[{"detail-type":["Role Created"]},{"detail":{"entity":["peer"]}}]}`, roleCreated, true},
		{"$or top level second", `{"source":["peerdom"],"$or":[{"detail-type":["Role Created"]},{"detail":{"entity":["peer"]}}]}`, peerUpdated, true},
		{"$or top level none", `{"source":["peerdom"],"$or":[{"detail-type":["Role Created"]},{"detail":{"entity":["peer"]}}]}`, groupDeletedBySystem, false},
		{"$or and the other fields", `{"source":["aws.ec2"],"$or":[{"detail-type":["Role Created"]},{"detail":{"entity":["peer"]}}]}`, peerUpdated, false},
		{"$or nested in detail", `{"detail":{"$or":[{"changedFields":["Name"]},{"changedFields":["Location"]}]}}`, peerUpdated, true},
		{"$or nested none", `{"detail":{"$or":[{"changedFields":["Name"]},{"name":["x"]}]}}`, peerUpdated, false},
		{"$or inside $or", `{"$or":[{"source":["x"]},{"detail":{"$or":[{"entity":["group"]},{"author":{"email":[{"suffix":"@example.com"}]}}]}}]}`, roleCreated, true},
		{"$or inside $or none", `{"$or":[{"source":["x"]},{"detail":{"$or":[{"entity":["group"]},{"author":{"email":[{"suffix":"@acme"}]}}]}}]}`, roleCreated, false},
		{"$or with exists", `{"detail":{"$or":[{"author":[{"exists":false}]},{"author":{"email":["bot@acme.example"]}}]}}`, groupDeletedBySystem, true},

		// exists:false looks at the whole event: a field one element of an array of
		// objects has exists, even when another element lacks it.
		{"exists false under an array of objects", `{"detail":{"note":{"id":[{"exists":false}]}}}`, `{"detail":{"note":[{"id":1},{"x":2}]}}`, false},
		{"exists false when no element has it", `{"detail":{"note":{"id":[{"exists":false}]}}}`, `{"detail":{"note":[{"x":1},{"x":2}]}}`, true},
		{"exists false with a null element", `{"detail":{"note":{"id":[{"exists":false}]}}}`, `{"detail":{"note":[{"id":null},{"x":2}]}}`, false},
		{"exists true still per element", `{"detail":{"note":{"id":[{"exists":true}],"x":[2]}}}`, `{"detail":{"note":[{"id":1},{"x":2}]}}`, false},

		// IP addresses, case folding: as event-ruler reads them.
		{"a value written as an IP address matches the address", `{"detail":{"ip6":["2001:DB8:0::1"]}}`, typed, true},
		{"IPv4 with leading zeros, as Java reads it", `{"detail":{"ip":["10.0.0.1"]}}`, `{"detail":{"ip":"010.000.0.01"}}`, true},
		{"IPv4 longer than 15 characters is text", `{"detail":{"ip":["1.2.3.4"]}}`, `{"detail":{"ip":"0000000001.2.3.4"}}`, false},
		{"IPv6 group with more than four digits of leading zeros", `{"detail":{"ip":["::1"]}}`, `{"detail":{"ip":"0000:0::00001"}}`, true},
		{"IPv6 group above ffff is text", `{"detail":{"ip":["::1:0"]}}`, `{"detail":{"ip":"::10000"}}`, false},
		{"cidr on an IPv4 address with leading zeros", `{"detail":{"ip":[{"cidr":"010.0.0.0/8"}]}}`, `{"detail":{"ip":"10.1.2.3"}}`, true},
		{"equals-ignore-case folds ß to SS", `{"detail":{"w":[{"equals-ignore-case":"straße"}]}}`, `{"detail":{"w":"STRASSE"}}`, true},
		{"equals-ignore-case: the Kelvin sign is not K", `{"detail":{"w":[{"equals-ignore-case":"kelvin"}]}}`, `{"detail":{"w":"\u212aelvin"}}`, false},
		{"equals-ignore-case: a titlecase letter is neither case", `{"detail":{"w":[{"equals-ignore-case":"ǅ"}]}}`, `{"detail":{"w":"ǅ"}}`, false},
		{"equals-ignore-case: an emoji matches only question marks", `{"detail":{"w":[{"equals-ignore-case":"😀"}]}}`, `{"detail":{"w":"😀"}}`, false},
		{"... but matches two question marks", `{"detail":{"w":[{"equals-ignore-case":"😀"}]}}`, `{"detail":{"w":"??"}}`, true},
		{"cidr /0 takes a number by its digits", `{"detail":{"n":[{"cidr":"10.0.0.0/0"}]}}`, typed, true},
		{"cidr /0 takes no number when the field is also numeric", `{"detail":{"n":[{"cidr":"10.0.0.0/0"},{"numeric":[">",100]}]}}`, typed, false},

		// A "$or" alternative and the fields beside it hold in one element of an array.
		{"$or and the fields beside it in one element", `{"detail":{"p":{"name":["x"]}},"$or":[{"detail":{"p":{"id":["1"]}}},{"source":["z"]}]}`, `{"detail":{"p":[{"name":"x","id":"1"},{"id":"2"}]}}`, true},
		{"$or and the fields beside it not across elements", `{"detail":{"p":{"name":["x"]}},"$or":[{"detail":{"p":{"id":["1"]}}},{"source":["z"]}]}`, `{"detail":{"p":[{"name":"x"},{"id":"1"}]}}`, false},

		// Several match values in one leaf.
		{"mixed operators in a leaf", `{"detail-type":[{"prefix":"Group"},"Role Created"]}`, roleCreated, true},
		{"mixed operators none", `{"detail-type":[{"prefix":"Group"},{"suffix":"Deleted"}]}`, roleCreated, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := eventpattern.Compile([]byte(c.pattern))
			if err != nil {
				t.Fatalf("Compile(%s): %v", c.pattern, err)
			}
			got, err := p.Match([]byte(c.event))
			if err != nil {
				t.Fatalf("Match: %v", err)
			}
			if got != c.want {
				t.Errorf("pattern %s: Match = %v, want %v", c.pattern, got, c.want)
			}
			ev, err := eventpattern.DecodeEvent([]byte(c.event))
			if err != nil {
				t.Fatal(err)
			}
			if p.MatchEvent(ev) != got {
				t.Errorf("MatchEvent disagrees with Match")
			}
		})
	}
}

func TestCompileRejects(t *testing.T) {
	cases := []struct {
		name, pattern, wantPath, wantReason string
	}{
		{"not JSON", `{"source":`, "", "not valid JSON"},
		{"trailing data", `{"source":["a"]} {}`, "", "after the JSON value"},
		{"array", `["peerdom"]`, "", "must be a JSON object, got an array"},
		{"empty pattern", `{}`, "", "empty objects"},
		{"empty nested object", `{"detail":{}}`, "detail", "empty objects"},
		{"leaf not an array", `{"source":"peerdom"}`, "source", `must be an object or an array of match values, got a string (write ["peerdom"])`},
		{"leaf number", `{"detail":{"n":5}}`, "detail.n", "got a number"},
		{"empty array", `{"source":[]}`, "source", "empty arrays are not allowed"},
		{"nested array", `{"source":[["a"]]}`, "source[0]", "got an array"},
		{"two keys in operator", `{"source":[{"prefix":"a","suffix":"b"}]}`, "source[0]", "exactly one key"},
		{"unknown operator", `{"source":[{"contains":"a"}]}`, "source[0]", `unknown operator "contains"`},
		{"prefix number", `{"source":[{"prefix":5}]}`, "source[0].prefix", "takes a string"},
		{"prefix bad object", `{"source":[{"prefix":{"ignore-case":"a"}}]}`, "source[0].prefix", "equals-ignore-case"},
		{"equals-ignore-case list", `{"source":[{"equals-ignore-case":["a"]}]}`, "source[0].equals-ignore-case", "takes a string"},
		{"wildcard consecutive stars", `{"source":[{"wildcard":"a**b"}]}`, "source[0].wildcard", "consecutive"},
		{"wildcard bad escape", `{"source":[{"wildcard":"a\\b"}]}`, "source[0].wildcard", "backslash"},
		{"wildcard trailing backslash", `{"source":[{"wildcard":"a\\"}]}`, "source[0].wildcard", "backslash"},
		{"exists not boolean", `{"source":[{"exists":"yes"}]}`, "source[0].exists", "true or false"},
		{"numeric not array", `{"n":[{"numeric":5}]}`, "n[0].numeric", "takes an array"},
		{"numeric short", `{"n":[{"numeric":[">"]}]}`, "n[0].numeric", "pairs"},
		{"numeric string operand", `{"n":[{"numeric":[">","5"]}]}`, "n[0].numeric", "must be a number"},
		{"numeric unknown operator", `{"n":[{"numeric":["!=",5]}]}`, "n[0].numeric", `unknown numeric operator "!="`},
		{"numeric upper first", `{"n":[{"numeric":["<",10,">",0]}]}`, "n[0].numeric", "lower bound"},
		{"numeric two lower", `{"n":[{"numeric":[">",0,">=",1]}]}`, "n[0].numeric", "lower bound"},
		{"numeric equals combined", `{"n":[{"numeric":["=",1,"<",2]}]}`, "n[0].numeric", "cannot be combined"},
		{"numeric empty range", `{"n":[{"numeric":[">",5,"<",1]}]}`, "n[0].numeric", "range is empty"},
		{"numeric point open", `{"n":[{"numeric":[">",5,"<=",5]}]}`, "n[0].numeric", "range is empty"},
		{"numeric huge", `{"n":[{"numeric":[">",1e400]}]}`, "n[0].numeric", "out of range"},
		{"anything-but empty list", `{"s":[{"anything-but":[]}]}`, "s[0].anything-but", "must not be empty"},
		{"anything-but mixed list", `{"s":[{"anything-but":["a",1]}]}`, "s[0].anything-but", "only strings or only numbers"},
		{"anything-but null", `{"s":[{"anything-but":null}]}`, "s[0].anything-but", "got null"},
		{"anything-but null in list", `{"s":[{"anything-but":[null]}]}`, "s[0].anything-but", "strings or numbers, got null"},
		{"anything-but empty prefix", `{"s":[{"anything-but":{"prefix":""}}]}`, "s[0].anything-but", "non-empty string"},
		{"anything-but unknown", `{"s":[{"anything-but":{"numeric":[">",1]}}]}`, "s[0].anything-but", `does not take "numeric"`},
		{"cidr invalid", `{"ip":[{"cidr":"10.0.0.300/8"}]}`, "ip[0].cidr", "not a valid IP address"},
		{"cidr /32", `{"ip":[{"cidr":"10.0.0.1/32"}]}`, "ip[0].cidr", `IPv4 mask bits must be < 32 (for one address write the address as a value, ["10.0.0.1"])`},
		{"cidr /128", `{"ip":[{"cidr":"2001:db8::1/128"}]}`, "ip[0].cidr", "IPv6 mask bits must be < 128"},
		{"cidr IPv4-mapped", `{"ip":[{"cidr":"::ffff:10.0.0.1/8"}]}`, "ip[0].cidr", "not an IPv4 or IPv6 address"},
		{"cidr no mask", `{"ip":[{"cidr":"10.0.0.1/"}]}`, "ip[0].cidr", "malformed"},
		{"numeric equal bounds", `{"n":[{"numeric":[">=",5,"<=",5.0]}]}`, "n[0].numeric", `for one number write ["=", n]`},
		{"numeric beyond the largest", `{"n":[{"numeric":[">",1.7976931348623157e308]}]}`, "n[0].numeric", "largest float64 cannot be a lower bound"},
		{"numeric at least the largest", `{"n":[{"numeric":[">=",1.7976931348623157e308]}]}`, "n[0].numeric", "largest float64 cannot be a lower bound"},
		{"numeric not exact", `{"n":[{"numeric":[">",0.10000000000000001]}]}`, "n[0].numeric", "cannot be compared"},
		{"anything-but number not exact", `{"n":[{"anything-but":9007199254740993}]}`, "n[0].anything-but", "cannot be compared"},
		{"field inside and outside $or", `{"source":["a"],"$or":[{"source":["b"]},{"id":["c"]}]}`, "source", "named twice"},
		{"field in two nested $or", `{"$or":[{"detail":{"x":["a"]}},{"id":["c"]}],"detail":{"$or":[{"x":["b"]},{"y":["c"]}]}}`, "detail.x", "named twice"},
		{"dotted name and nested objects", `{"a.b":["x"],"a":{"b":["y"]}}`, "a.b", "named twice"},
		{"$or not array", `{"$or":{"source":["a"]}}`, "$or", "must be an array"},
		{"$or one alternative", `{"$or":[{"source":["a"]}]}`, "$or", "at least 2"},
		{"$or non-object", `{"$or":[{"source":["a"]},"b"]}`, "$or[1]", "must be an object"},
		{"$or empty alternative", `{"$or":[{"source":["a"]},{}]}`, "$or[1]", "empty objects"},
		{"$or operator as field", `{"$or":[{"source":["a"]},{"prefix":["b"]}]}`, "$or[1].prefix", "operator"},
		{"$or nested error", `{"detail":{"$or":[{"a":["x"]},{"b":[]}]}}`, "detail.$or[1].b", "empty arrays"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := eventpattern.Compile([]byte(c.pattern))
			if err == nil {
				t.Fatalf("Compile(%s) = %v, want an error", c.pattern, p)
			}
			var pe *eventpattern.Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is %T, want *eventpattern.Error", err, err)
			}
			if pe.Path != c.wantPath {
				t.Errorf("Path = %q, want %q (%v)", pe.Path, c.wantPath, err)
			}
			if !strings.Contains(pe.Reason, c.wantReason) {
				t.Errorf("Reason = %q, want it to contain %q", pe.Reason, c.wantReason)
			}
			if !strings.HasPrefix(err.Error(), "eventpattern: invalid pattern") {
				t.Errorf("Error() = %q, want the package prefix", err.Error())
			}
		})
	}
}

func TestMatchRejectsBadEvents(t *testing.T) {
	p := eventpattern.MustCompile(`{"source":["peerdom"]}`)
	for _, ev := range []string{``, `{"source":`, `["peerdom"]`, `"peerdom"`, `{"source":"peerdom"} x`} {
		if _, err := p.Match([]byte(ev)); err == nil {
			t.Errorf("Match(%q): no error", ev)
		}
	}
}

func TestMatchEventFloat64Numbers(t *testing.T) {
	// An event decoded by plain json.Unmarshal has float64 numbers; they still match.
	ev := map[string]any{"detail": map[string]any{"n": float64(5), "arr": []any{float64(1), "x"}}}
	for pattern, want := range map[string]bool{
		`{"detail":{"n":[5]}}`:                             true,
		`{"detail":{"n":[6]}}`:                             false,
		`{"detail":{"n":[{"numeric":[">",4]}]}}`:           true,
		`{"detail":{"arr":[{"anything-but":[1]}]}}`:        true, // "x" is not excluded
		`{"detail":{"arr":[{"anything-but":["x", "y"]}]}}`: true, // 1 is not a string
		`{"detail":{"n":["5"]}}`:                           false,
	} {
		if got := eventpattern.MustCompile(pattern).MatchEvent(ev); got != want {
			t.Errorf("%s: MatchEvent = %v, want %v", pattern, got, want)
		}
	}
}

func TestMustCompilePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustCompile of an invalid pattern did not panic")
		}
	}()
	eventpattern.MustCompile(`{"source":"x"}`)
}

func TestStringIsSource(t *testing.T) {
	src := `{"source": ["peerdom"]}`
	if got := eventpattern.MustCompile(src).String(); got != src {
		t.Errorf("String() = %q, want %q", got, src)
	}
}

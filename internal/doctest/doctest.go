// Package doctest runs the documentation: README.md and docs/*.md. Its tests hold the
// convention every page follows (docs/development.md, "The docs are tested"):
//
//   - a ```sh block is run from the repository root by bash -euo pipefail, with a built
//     peerbridge first on PATH;
//   - a ```sh serve block is run the same way while `peerbridge serve` runs on free ports
//     (send and the default addresses 127.0.0.1:3000-3003 are pointed at it); the
//     ```text serve blocks around it, if any, are serve's output, compared line for line
//     in any order (events handled at once print in either order);
//   - a ```sh aws block (an AWS account or a real Peerdom needed) is only checked by
//     bash -n, and every peerbridge command and flag it names must exist;
//   - the first ```text block after a ```sh block is its output, compared with the
//     real one once times, ids, ports and durations are normalised.
//
// Other fences (go, yaml, make, json, an untagged picture) are not run here.
package doctest

import (
	"bufio"
	"bytes"
	"os"
	"regexp"
	"strings"
)

// Block is one fenced block of a Markdown file.
type Block struct {
	File   string
	Line   int      // the line of its opening fence, from 1
	Indent string   // the opening fence's indentation
	Lang   string   // the first word of the info string
	Tags   []string // the words after it
	Body   string
}

// Has reports whether the block's info string carries tag.
func (b Block) Has(tag string) bool {
	for _, t := range b.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

// Blocks reads the fenced blocks of a Markdown file. A fence may be indented (inside a
// list item); its indentation is removed from the block's lines.
func Blocks(path string) ([]Block, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseBlocks(path, src), nil
}

// ParseBlocks is Blocks on a file's contents.
func ParseBlocks(name string, src []byte) []Block {
	var out []Block
	var cur *Block
	var indent string
	var body strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimLeft(line, " ")
		if cur == nil {
			if strings.HasPrefix(trimmed, "```") {
				words := strings.Fields(strings.TrimPrefix(trimmed, "```"))
				b := Block{File: name, Line: n, Indent: line[:len(line)-len(trimmed)]}
				if len(words) > 0 {
					b.Lang, b.Tags = words[0], words[1:]
				}
				cur, indent = &b, line[:len(line)-len(trimmed)]
				body.Reset()
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") && strings.TrimSpace(strings.TrimPrefix(trimmed, "```")) == "" {
			cur.Body = body.String()
			out = append(out, *cur)
			cur = nil
			continue
		}
		body.WriteString(strings.TrimPrefix(line, indent))
		body.WriteByte('\n')
	}
	return out
}

var normalisers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`), "<uuid>"},
	{regexp.MustCompile(`\b[0-9a-f]{32,}\b`), "<hex>"},
	{regexp.MustCompile(`\[delivery [0-9a-f]{8}\]`), "[delivery <id>]"},
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?`), "<timestamp>"},
	{regexp.MustCompile(`\b\d{8}-\d{6}\b`), "<stamp>"},
	{regexp.MustCompile(`\b\d{2}:\d{2}:\d{2}\b`), "<time>"},
	{regexp.MustCompile(`(127\.0\.0\.1|localhost):\d+`), "$1:<port>"},
	{regexp.MustCompile(`(127\.0\.0\.1|localhost)_\d+\.json`), "${1}_<port>.json"},
	{regexp.MustCompile(`\(\d+(\.\d+)?(ns|µs|us|ms|s)\)`), "(<duration>)"},
	{regexp.MustCompile(`\bpid \d+`), "pid <pid>"},
	{regexp.MustCompile(`/tmp/tmp\.[A-Za-z0-9]+`), "<mktemp>"},
}

// Normalise replaces in s what differs from run to run — UUIDs, long hex tokens, short
// delivery ids, timestamps and times, loopback ports, measured durations, process ids,
// mktemp's directories —
// by placeholders, drops the --url of serve's "try" line (serve on free ports names it,
// make run's does not), trailing spaces and blank lines at either end, and replaces the
// given literal strings (e.g. a temporary directory) first.
func Normalise(s string, replace ...string) string {
	s = strings.NewReplacer(replace...).Replace(s)
	for _, n := range normalisers {
		s = n.re.ReplaceAllString(s, n.with)
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		l = strings.TrimRight(l, " \t\r")
		if tryLineRE.MatchString(l) { // serve's hint names --url when not on make run's port
			l = strings.Replace(l, " --url http://127.0.0.1:<port>", "", 1)
		}
		lines[i] = l
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n")
}

var tryLineRE = regexp.MustCompile(`^\s+try\s`)

var flagRE = regexp.MustCompile(`(?m)^\s+(-{1,2}[A-Za-z][A-Za-z0-9-]*)`)

// HelpFlags are the flags a command's -h output lists ("  -name ..." lines), each
// without its dashes.
func HelpFlags(help string) map[string]bool {
	out := map[string]bool{}
	for _, m := range flagRE.FindAllStringSubmatch(help, -1) {
		out[strings.TrimLeft(m[1], "-")] = true
	}
	return out
}

// Invocation is one peerbridge command line found in a shell block.
type Invocation struct {
	Args  []string // the words after "peerbridge", up to the end of the command
	Flags []string // the flags among them, without dashes or =value
}

var wordRE = regexp.MustCompile(`'[^']*'|"(?:[^"\\]|\\.)*"|\S+`)

// Invocations finds every peerbridge command in a shell script: "peerbridge", "bin/peerbridge"
// or "go run ./cmd/peerbridge" in command position (a line's start, after |, ;, &&, || or
// $(, after VAR=value words), a line ending in \ continuing it; a separator, a
// redirection or a comment ends it.
func Invocations(script string) []Invocation {
	script = strings.ReplaceAll(script, "\\\n", " ")
	var out []Invocation
	for _, line := range strings.Split(script, "\n") {
		words := wordRE.FindAllString(line, -1)
		cmdPos := true
		for i := 0; i < len(words); i++ {
			w := words[i]
			if k := strings.LastIndex(w, "$("); k >= 0 {
				w, cmdPos = w[k+2:], true // X=$(cmd ... or "$(cmd ...
			}
			if ends(w) {
				cmdPos = true
				continue
			}
			if !cmdPos {
				continue
			}
			if assignRE.MatchString(w) {
				continue
			}
			cmdPos = false
			start := -1
			switch {
			case w == "peerbridge" || w == "bin/peerbridge" || w == "./bin/peerbridge":
				start = i + 1
			case w == "go" && i+2 < len(words) && words[i+1] == "run" && words[i+2] == "./cmd/peerbridge":
				start = i + 3
			}
			if start < 0 {
				continue
			}
			var inv Invocation
			for _, a := range words[start:] {
				if ends(a) || strings.HasPrefix(a, "#") || strings.HasPrefix(a, ">") || strings.HasPrefix(a, "2>") || strings.HasPrefix(a, "<") || a == ")" {
					break
				}
				last := false
				if strings.HasSuffix(a, ")") && !strings.ContainsAny(a, "('\"") {
					a, last = strings.TrimSuffix(a, ")"), true // the end of a $(...)
				}
				inv.Args = append(inv.Args, a)
				if strings.HasPrefix(a, "-") && len(a) > 1 {
					name := strings.TrimLeft(a, "-")
					if k := strings.IndexByte(name, '='); k >= 0 {
						name = name[:k]
					}
					inv.Flags = append(inv.Flags, name)
				}
				if last {
					break
				}
			}
			out = append(out, inv)
		}
	}
	return out
}

var assignRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

func ends(w string) bool { return w == "|" || w == ";" || w == "&&" || w == "||" }

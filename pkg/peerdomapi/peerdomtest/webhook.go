package peerdomtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/peerbridge/peerbridge/pkg/peerdomapi"
)

// field is one line of a webhook: a label and its values. Custom fields with more than
// one value are list fields, whose changes show as [+]/[-] items.
type field struct {
	label  string
	values []string
}

func one(label, v string) field {
	if v == "" {
		return field{label: label}
	}
	return field{label: label, values: []string{v}}
}

func customFields(cf []peerdomapi.CustomField) []field {
	out := make([]field, 0, len(cf))
	for _, f := range cf {
		var vs []string
		for _, v := range f.Values {
			if strings.TrimSpace(v) != "" {
				vs = append(vs, v)
			}
		}
		out = append(out, field{label: f.Name, values: vs})
	}
	return out
}

// markdownEscaper backslash-escapes the characters that would otherwise read as
// Markdown (or as the [+]/[-] markers of a list change) inside a name or value.
var markdownEscaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`, "`", "\\`")

func esc(s string) string { return markdownEscaper.Replace(s) }

// message renders a webhook text: header, author, field lines.
func message(kind, link, action string, author User, lines []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**[%s](%s)** was %s\n\n", kind, link, action)
	switch {
	case author.Name != "" && author.Email != "":
		fmt.Fprintf(&b, "**Author:** %s (%s)\n\n", esc(author.Name), author.Email)
	case author.Email != "":
		fmt.Fprintf(&b, "**Author:** %s\n\n", author.Email)
	case author.Name != "":
		fmt.Fprintf(&b, "**Author:** %s\n\n", esc(author.Name))
	}
	b.WriteString(strings.Join(lines, "\n"))
	return b.String()
}

// fieldLines are the lines of a created or deleted message: every field with a value.
func fieldLines(fs []field) []string {
	var out []string
	for _, f := range fs {
		if len(f.values) == 0 {
			continue
		}
		vs := make([]string, len(f.values))
		for i, v := range f.values {
			vs[i] = esc(v)
		}
		out = append(out, fmt.Sprintf("**%s:** %s", esc(f.label), strings.Join(vs, ", ")))
	}
	return out
}

// diffLines are the lines of an updated message: `**F:** old → new` for a single value,
// `**F:** [+] a [-] b` for a list field. Unchanged fields are left out.
func diffLines(before, after []field) []string {
	old := map[string][]string{}
	var order []string
	for _, f := range before {
		old[f.label] = f.values
		order = append(order, f.label)
	}
	now := map[string][]string{}
	for _, f := range after {
		now[f.label] = f.values
		if _, ok := old[f.label]; !ok {
			order = append(order, f.label)
		}
	}
	var out []string
	for _, label := range order {
		o, n := old[label], now[label]
		if slices.Equal(o, n) {
			continue
		}
		if len(o) > 1 || len(n) > 1 {
			var items []string
			for _, v := range n {
				if !slices.Contains(o, v) {
					items = append(items, "[+] "+esc(v))
				}
			}
			for _, v := range o {
				if !slices.Contains(n, v) {
					items = append(items, "[-] "+esc(v))
				}
			}
			if len(items) > 0 { // a mere reordering is no change
				out = append(out, fmt.Sprintf("**%s:** %s", esc(label), strings.Join(items, " ")))
			}
			continue
		}
		first := func(vs []string) string {
			if len(vs) == 0 {
				return ""
			}
			return esc(vs[0])
		}
		out = append(out, fmt.Sprintf("**%s:** %s", esc(label), strings.TrimSpace(first(o)+" → "+first(n))))
	}
	return out
}

// send queues a webhook body for delivery, unless DropWebhooks says to lose it. Called
// with p.mu held.
func (p *Peerdom) send(text string) {
	if p.dropWebhooks > 0 {
		p.dropWebhooks--
		p.dropped = append(p.dropped, text)
		return
	}
	p.out.push(text)
}

// outbox delivers webhooks in order, one at a time, on its own goroutine — like Peerdom,
// after the write and apart from the API request that made it.
type outbox struct {
	ctx      context.Context
	cancel   context.CancelFunc
	callback func(context.Context, []byte)
	url      string
	client   *http.Client
	done     chan struct{}
	wake     chan struct{}

	mu        sync.Mutex
	queue     []string
	busy      bool
	changed   chan struct{} // closed and replaced whenever queue or busy changes
	delivered []string
	errs      []error
}

func newOutbox(callback func(context.Context, []byte), url string) *outbox {
	ctx, cancel := context.WithCancel(context.Background())
	o := &outbox{ctx: ctx, cancel: cancel, callback: callback, url: url,
		client: &http.Client{Timeout: 30 * time.Second},
		done:   make(chan struct{}), wake: make(chan struct{}, 1), changed: make(chan struct{})}
	go o.run()
	return o
}

func (o *outbox) signal() { // with o.mu held
	close(o.changed)
	o.changed = make(chan struct{})
}

func (o *outbox) push(text string) {
	o.mu.Lock()
	o.queue = append(o.queue, text)
	o.signal()
	o.mu.Unlock()
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

func (o *outbox) run() {
	defer close(o.done)
	for {
		o.mu.Lock()
		if len(o.queue) == 0 {
			o.mu.Unlock()
			select {
			case <-o.wake:
				continue
			case <-o.ctx.Done():
				return
			}
		}
		text := o.queue[0]
		o.queue = o.queue[1:]
		o.busy = true
		o.signal()
		o.mu.Unlock()

		err := o.deliver(text)

		o.mu.Lock()
		o.busy = false
		o.delivered = append(o.delivered, text)
		if err != nil {
			o.errs = append(o.errs, err)
		}
		o.signal()
		o.mu.Unlock()
		if o.ctx.Err() != nil {
			return
		}
	}
}

func (o *outbox) deliver(text string) error {
	body, err := json.Marshal(map[string]string{"text": text})
	if err != nil {
		return err
	}
	if o.callback != nil {
		o.callback(o.ctx, body)
	}
	if o.url == "" {
		return nil
	}
	req, err := http.NewRequestWithContext(o.ctx, http.MethodPost, o.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "peerdomtest-webhook")
	resp, err := o.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook POST %s: %s", o.url, resp.Status)
	}
	return nil
}

func (o *outbox) waitIdle(ctx context.Context) error {
	for {
		o.mu.Lock()
		if len(o.queue) == 0 && !o.busy {
			o.mu.Unlock()
			return nil
		}
		ch := o.changed
		o.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("peerdomtest: webhooks still being delivered: %w", ctx.Err())
		case <-o.done:
			return nil
		}
	}
}

func (o *outbox) sent() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.delivered...)
}

func (o *outbox) errors() []error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]error(nil), o.errs...)
}

func (o *outbox) close() {
	o.cancel()
	<-o.done
}

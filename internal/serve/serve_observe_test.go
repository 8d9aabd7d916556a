package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/peerbridge/peerbridge/internal/observe"
	"github.com/peerbridge/peerbridge/internal/webhooksamples"
)

// TestServeRecordsEachDelivery: every webhook, sent concurrently, leaves its records in
// the stream under its delivery id — accepted, published, routed, each routed action
// started and ended — the counts agree with the records one by one, the display shows
// each outcome the records hold, and no record holds the sandbox's API key.
func TestServeRecordsEachDelivery(t *testing.T) {
	s, out, _ := startTestStack(t, nil)
	kinds := webhooksamples.Kinds()
	var mu sync.Mutex
	acked := map[string]string{} // delivery id -> kind
	var wg sync.WaitGroup
	for range 3 {
		for _, kind := range kinds {
			wg.Go(func() {
				body, _ := webhooksamples.Body(kind)
				resp, err := http.Post(s.WebhookURL(), "application/json", bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				var ans struct{ ID string }
				json.NewDecoder(resp.Body).Decode(&ans)
				resp.Body.Close()
				mu.Lock()
				acked[ans.ID] = kind
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	// A refused one: a wrong token.
	resp, err := http.Post(strings.Replace(s.WebhookURL(), "test-token", "wrong", 1), "application/json", strings.NewReader(`{"text":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Sandbox().WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Drain(ctx); err != nil {
		t.Fatal(err)
	}

	recs := s.Records().Records()
	byDelivery := map[string][]observe.Record{}
	var done, refused int
	for _, r := range recs {
		byDelivery[r.DeliveryID] = append(byDelivery[r.DeliveryID], r)
		if r.Outcome != nil && r.Outcome.Outcome == observe.Done {
			done++
		}
		if r.APICall != nil && (r.DeliveryID == "" || r.EventID == "" || r.APICall.Status == 0 || r.APICall.Function == "") {
			t.Errorf("an API call not tied to its event: %+v %+v", r, r.APICall)
		}
		if r.Webhook != nil && !r.Webhook.Accepted {
			refused++
			if r.Webhook.Status != http.StatusUnauthorized || r.Webhook.Reason == "" {
				t.Errorf("the refused webhook's record: %+v", r.Webhook)
			}
		}
	}
	for id, kind := range acked {
		rs := byDelivery[id]
		count := map[observe.Kind]int{}
		started, ended := map[string]int{}, map[string]int{}
		var routed []string
		for _, r := range rs {
			count[r.Kind]++
			switch {
			case r.Routed != nil && r.Routed.Delivered:
				routed = append(routed, r.Routed.Function)
			case r.Action != nil:
				started[r.Action.Function]++
			case r.Outcome != nil && r.Outcome.Final:
				ended[r.Outcome.Function]++
			}
		}
		// (The webhook's record comes when it is answered: its event may come first.)
		if count[observe.KindWebhook] != 1 || count[observe.KindPublished] != 1 {
			t.Errorf("%s %s: records %v", kind, id, count)
			continue
		}
		for _, fn := range routed {
			if started[fn] != 1 || ended[fn] != 1 {
				t.Errorf("%s %s: %s started %d times, ended %d times, want once each", kind, id, fn, started[fn], ended[fn])
			}
		}
	}
	c := s.Records().Counts()
	if c.WebhooksAccepted < int64(len(acked)) || c.WebhooksRefused != int64(refused) || refused != 1 || c.ActionsDone != int64(done) || done == 0 {
		t.Errorf("counts %+v; records: %d done, %d refused, %d acknowledged", c, done, refused, len(acked))
	}
	if shown := strings.Count(out.String(), "          ✓ "); shown != done {
		t.Errorf("the display shows %d actions done, the records %d", shown, done)
	}
	raw, _ := json.Marshal(recs)
	if key := s.Sandbox().Config().APIKey; strings.Contains(string(raw), key) {
		t.Errorf("a record holds the API key %q", key)
	}
	if c.APICalls == 0 {
		t.Error("no API call recorded")
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

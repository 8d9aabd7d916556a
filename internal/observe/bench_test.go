package observe

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
)

// The record an event's publication makes, with a typical event (about 1 KB).
func benchRecord() Record {
	ev := json.RawMessage(`{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"Role Renamed","source":"peerdom","account":"000000000000","time":"2026-12-07T22:00:00Z","region":"eu-central-1","resources":[],"detail":{"id":"a3f1c2d4-0000-4000-8000-000000000001","entityId":"9c1d2e3f-0000-4000-8000-000000000002","author":{"name":"Ada Lovelace","email":"ada@example.org"},"changes":[{"field":"name","old":"Facilitator","new":"Lead facilitator"}]}}`)
	return Record{Kind: KindPublished, DeliveryID: "a3f1c2d4-0000-4000-8000-000000000001", EventID: "6a7e8feb",
		Published: &Published{DetailType: "Role Renamed", Source: "peerdom", Event: ev, Text: "**Ada Lovelace** renamed the role Facilitator to Lead facilitator"}}
}

// BenchmarkPublish: the cost of a record with nobody subscribed (what the pipeline pays
// when no one looks), with a subscriber reading, and with one reading nothing (its
// records are dropped, Publish does not wait). The baselines, in the same run: the
// lock and counter every Publish takes anyway, and the JSON encoding of the event that
// the pipeline does once per event already (the --events-out line, the target's input).
func BenchmarkPublish(b *testing.B) {
	rec := benchRecord()
	b.Run("baseline-lock-counter", func(b *testing.B) {
		var mu sync.Mutex
		n := 0
		for b.Loop() {
			mu.Lock()
			n++
			mu.Unlock()
		}
	})
	b.Run("baseline-event-json", func(b *testing.B) {
		var ev map[string]any
		json.Unmarshal(rec.Published.Event, &ev)
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(ev)
		}
	})
	b.Run("no-subscriber", func(b *testing.B) {
		s := New(Options{})
		b.ReportAllocs()
		for b.Loop() {
			s.Publish(rec)
		}
	})
	b.Run("one-reader", func(b *testing.B) {
		s := New(Options{})
		ctx, cancel := context.WithCancel(context.Background())
		sub := s.Subscribe(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range sub.C {
			}
		}()
		b.ReportAllocs()
		for b.Loop() {
			s.Publish(rec)
		}
		cancel()
		<-done
	})
	b.Run("one-stuck", func(b *testing.B) {
		s := New(Options{})
		s.Subscribe(b.Context()) // never read
		b.ReportAllocs()
		for b.Loop() {
			s.Publish(rec)
		}
	})
	b.Run("no-subscriber-parallel", func(b *testing.B) {
		s := New(Options{})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s.Publish(rec)
			}
		})
	})
}

package action

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/peerbridge/peerbridge/internal/metrics"
)

// Handler is one automation. It returns nil when the event needs nothing (more) done,
// Ignore(...) when it is not for this action, and any other error to have the event
// retried: EventBridge redelivers it, then sends it to the dead-letter queue.
type Handler interface {
	Handle(ctx context.Context, ev Event) error
}

// HandlerFunc lets a plain function be a Handler.
type HandlerFunc func(ctx context.Context, ev Event) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, ev Event) error { return f(ctx, ev) }

// ignored is an event an action deliberately does not act on.
type ignored struct{ reason string }

func (e *ignored) Error() string { return "ignored: " + e.reason }

// Ignore is what a Handler returns for an event that is not for it (another detail-type,
// a deleted entity...). It is logged with the reason and is not an error to retry.
func Ignore(reason string) error { return &ignored{reason: reason} }

// IsIgnored reports whether err is (or wraps) Ignore's.
func IsIgnored(err error) bool {
	var ig *ignored
	return errors.As(err, &ig)
}

// permanent turns the failures no retry can mend into Ignore, with the error as the
// reason: an event that names no entity (ErrNoEntity), an entity deleted since the
// webhook (ErrEntityGone). Retried, they would only fail again and end in the
// dead-letter queue, raising its alarm for nothing to fix.
func permanent(err error) error {
	if errors.Is(err, ErrNoEntity) || errors.Is(err, ErrEntityGone) {
		return Ignore(err.Error())
	}
	return err
}

// notesKey carries the per-event attributes a Handler adds to its log line.
type notesKey struct{}

type notes struct {
	mu    sync.Mutex
	attrs []slog.Attr
}

// Note adds an attribute to the event's log line (e.g. what was written), so that the one
// line per event says what the action did.
func Note(ctx context.Context, key string, value any) {
	if n, ok := ctx.Value(notesKey{}).(*notes); ok {
		n.mu.Lock()
		n.attrs = append(n.attrs, slog.Any(key, value))
		n.mu.Unlock()
	}
}

// Runner runs a Handler on events: the ignore-authors guard, one log line per event,
// errors returned for retry. pkg/action/awsaction feeds it EventBridge's events in a Lambda.
type Runner struct {
	Name    string  // the action's name, in every log line
	Handler Handler // the automation
	// IgnoreAuthors are author emails (compared case-insensitively) whose events are
	// skipped: the API user the action writes as, so its own changes do not trigger it.
	IgnoreAuthors []string
	Logger        *slog.Logger // nil: slog.Default()
	// Once skips completed deliveries and lets one delivery at a time act on an entity
	// (once.go); nil: every delivery runs the handler.
	Once *Once
	// Metrics counts each outcome by action (ActionsDone, ActionsIgnored, ActionsFailed);
	// nil counts nothing. internal/metrics.Writer is one.
	Metrics Counter
	// OnResult, when set, is told each event's result once its log line is written
	// (peerbridge serve records it); ctx is the one Run was given.
	OnResult func(ctx context.Context, ev Event, res Result)
}

// Outcome is how the handling of one event ended: its log line's "outcome".
type Outcome string

const (
	OutcomeDone    Outcome = "done"    // the handler returned nil
	OutcomeIgnored Outcome = "ignored" // the handler (or IgnoreAuthors) chose not to act: Ignore
	OutcomeFailed  Outcome = "failed"  // an error: the event is retried, then dead-lettered
)

// Result is one event's outcome, for Runner.OnResult.
type Result struct {
	Outcome  Outcome
	Reason   string // OutcomeIgnored: why
	Err      error  // OutcomeFailed: the error Run returns
	Duration time.Duration
}

// Counter records counts under one dimension: internal/metrics.Writer's Count.
type Counter interface {
	Count(counts map[string]int, dimension, value string) error
}

// Run handles one event and logs the outcome: done, ignored or failed.
func (r *Runner) Run(ctx context.Context, ev Event) error {
	start := time.Now()
	n := &notes{}
	ctx = context.WithValue(ctx, notesKey{}, n)

	var err error
	if who, skip := r.authoredByIgnored(ev); skip {
		err = Ignore("authored by " + who + ", one of IGNORE_AUTHORS")
	} else {
		err = r.Once.run(ctx, r.Name, ev, r.safeHandle)
	}

	attrs := []slog.Attr{
		slog.String("action", r.Name),
		slog.String("deliveryId", ev.Detail.ID),
		slog.String("eventId", ev.ID),
		slog.String("detailType", ev.DetailType),
	}
	if ev.Detail.EntityID != "" {
		attrs = append(attrs, slog.String("entityId", ev.Detail.EntityID))
	}
	level, metric := slog.LevelInfo, metrics.ActionsDone
	res := Result{Outcome: OutcomeDone}
	var ig *ignored
	switch {
	case err == nil:
	case errors.As(err, &ig):
		res.Outcome, res.Reason = OutcomeIgnored, ig.reason
		err, metric = nil, metrics.ActionsIgnored
	default:
		res.Outcome, res.Err = OutcomeFailed, err
		level, metric = slog.LevelError, metrics.ActionsFailed
	}
	attrs = append(attrs, slog.String("outcome", string(res.Outcome)))
	if res.Reason != "" {
		attrs = append(attrs, slog.String("reason", res.Reason))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	if r.Metrics != nil {
		r.Metrics.Count(map[string]int{metric: 1}, "Action", r.Name) // a metric lost is not worth failing the event
	}
	n.mu.Lock()
	attrs = append(attrs, n.attrs...)
	n.mu.Unlock()
	res.Duration = time.Since(start)
	attrs = append(attrs, slog.Int64("durationMs", res.Duration.Milliseconds()))
	r.logger().LogAttrs(ctx, level, "event", attrs...)
	if r.OnResult != nil {
		r.OnResult(ctx, ev, res)
	}
	return err
}

// safeHandle turns a handler's panic into an error, so one bad event is retried and
// dead-lettered like any other failure instead of killing the runtime mid-batch.
func (r *Runner) safeHandle(ctx context.Context, ev Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("action %s panicked: %v", r.Name, p)
		}
	}()
	return permanent(r.Handler.Handle(ctx, ev))
}

func (r *Runner) authoredByIgnored(ev Event) (string, bool) {
	if ev.Detail.Author == nil || ev.Detail.Author.Email == "" {
		return "", false // system changes (cascades) have no author and are acted on
	}
	for _, a := range r.IgnoreAuthors {
		if strings.EqualFold(strings.TrimSpace(a), ev.Detail.Author.Email) {
			return ev.Detail.Author.Email, true
		}
	}
	return "", false
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

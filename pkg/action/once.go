package action

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/peerbridge/peerbridge/internal/idempotency"
	"github.com/peerbridge/peerbridge/pkg/peerdom"
)

// Once makes an action's effects happen once although EventBridge delivers each event at
// least once, sometimes twice at the same moment. Around the handler it
//
//   - skips a delivery (the webhook's detail.id) this action already completed, without
//     calling the API (outcome ignored, reason "already done");
//   - takes a lease on the entity (detail.entityId, else its name, else the delivery), so
//     that one delivery at a time reads, checks and writes it; a delivery that finds the
//     lease held waits and tries again, and fails (to be retried by EventBridge) when the
//     next try would come after its context's deadline;
//   - records the delivery complete when the handler succeeded or ignored the event;
//   - releases the lease.
//
// The lease lasts until the context's deadline (the Lambda's timeout) plus LeaseMargin,
// so a crashed holder blocks the entity no longer than it could have run.
//
// The stores peerbridge ships (awsaction.Once's DynamoDB table) also keep the entity's
// lease and its completed deliveries together: the claim is one conditional write that
// answers whether the delivery is done, the finish one more that records it, no read (2
// writes per delivery, where the separate lease and records take 2 reads and 3 writes).
type Once struct {
	Store Store // nil: every delivery runs the handler, as without Once

	RememberFor time.Duration // how long a completed delivery is remembered; 0: 7 days
	PollMin     time.Duration // first wait for a held lease; 0: 20ms (it doubles, with jitter)
	PollMax     time.Duration // longest wait between tries; 0: 500ms
	LeaseFor    time.Duration // the lease when the context has no deadline; 0: 1 minute
	LeaseMargin time.Duration // added to the deadline for clock skew; 0: 5s
}

// Store keeps Once's leases and completion records. Lease keys and record keys are
// separate spaces. Implementations are safe for concurrent use.
type Store interface {
	// Acquire takes the lease on key for owner until now+ttl. It succeeds when nobody
	// holds the lease, when the holder's lease has expired, or when owner already holds
	// it (which extends it); otherwise it returns an error wrapping ErrLeaseHeld.
	Acquire(ctx context.Context, key, owner string, ttl time.Duration) error
	// Release ends owner's lease on key; when owner does not hold it, it changes nothing
	// and returns an error.
	Release(ctx context.Context, key, owner string) error
	// Complete records key as done for ttl; a second Complete restarts the ttl.
	Complete(ctx context.Context, key string, ttl time.Duration) error
	// Completed reports whether key is recorded done and the record has not expired.
	Completed(ctx context.Context, key string) (bool, error)
}

// ErrLeaseHeld is what Store.Acquire returns (wrapped) while another owner holds the lease.
var ErrLeaseHeld = errors.New("action: lease held by another owner")

// held reports whether a store's error says the lease is held: ErrLeaseHeld, or the
// shipped stores' own.
func held(err error) bool { return errors.Is(err, ErrLeaseHeld) || errors.Is(err, idempotency.ErrHeld) }

// ErrEntityBusy is returned (wrapped) when another delivery held the entity's lease until
// this one's deadline: the event fails, and EventBridge retries it later.
var ErrEntityBusy = errors.New("action: another delivery is working on this entity")

const (
	defaultRememberFor = 7 * 24 * time.Hour
	defaultPollMin     = 20 * time.Millisecond
	defaultPollMax     = 500 * time.Millisecond
	defaultLeaseFor    = time.Minute
	defaultLeaseMargin = 5 * time.Second
	storeTimeout       = 2 * time.Second // for the writes made after the handler, when ctx may have ended
)

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// run runs handle on ev for the action named name, once (see Once). A nil Once or one
// without a Store just calls handle.
func (o *Once) run(ctx context.Context, name string, ev Event, handle func(context.Context, Event) error) error {
	if o == nil || o.Store == nil {
		return handle(ctx, ev)
	}
	doneKey := "" // no delivery id: repeats cannot be told apart, only the lease applies
	if ev.Detail.ID != "" {
		doneKey = name + "/" + ev.Detail.ID
	}
	if claims, ok := o.Store.(idempotency.Claims); ok {
		return o.runClaim(ctx, claims, name+"/"+leaseSubject(ev), doneKey, ev, handle)
	}
	if err := o.alreadyDone(ctx, doneKey); err != nil {
		return err
	}

	leaseKey, owner := name+"/"+leaseSubject(ev), peerdom.NewDeliveryID()
	if err := o.acquire(ctx, leaseKey, owner); err != nil {
		return err
	}
	defer o.release(ctx, leaseKey, owner)
	// Another delivery of the same webhook may have completed while this one waited.
	if err := o.alreadyDone(ctx, doneKey); err != nil {
		return err
	}

	err := handle(ctx, ev)
	if doneKey != "" && (err == nil || IsIgnored(err)) {
		// The effect is done; failing the event now would only run it again, so a record
		// that cannot be written is noted, and the state checks catch a repeat.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
		if rerr := o.Store.Complete(rctx, doneKey, orDefault(o.RememberFor, defaultRememberFor)); rerr != nil {
			Note(ctx, "recordError", rerr.Error())
		}
		cancel()
	}
	return err
}

// alreadyDone returns Ignore("already done") when key is recorded complete, nil when it
// is not, and the store's error when it cannot tell (the event fails and is retried).
func (o *Once) alreadyDone(ctx context.Context, key string) error {
	if key == "" {
		return nil
	}
	done, err := o.Store.Completed(ctx, key)
	if err != nil {
		return fmt.Errorf("checking whether %s is done: %w", key, err)
	}
	if done {
		return Ignore("already done")
	}
	return nil
}

// leaseSubject names the entity an event is about.
func leaseSubject(ev Event) string {
	d := ev.Detail
	switch {
	case d.EntityID != "":
		return string(d.Entity) + "/id/" + d.EntityID
	case d.Name != "":
		return string(d.Entity) + "/name/" + d.Name
	case d.ID != "":
		return "delivery/" + d.ID
	}
	return "event/" + ev.ID
}

// acquire takes the lease, waiting while another owner holds it.
func (o *Once) acquire(ctx context.Context, key, owner string) error {
	return o.wait(ctx, key, func() error { return o.Store.Acquire(ctx, key, owner, o.leaseTTL(ctx)) })
}

// wait calls try (a lease's acquire or claim on key) until it succeeds, waiting while it
// answers ErrHeld, and fails with ErrEntityBusy when the next try would come after the
// context's deadline.
func (o *Once) wait(ctx context.Context, key string, try func() error) error {
	start := time.Now()
	wait := orDefault(o.PollMin, defaultPollMin)
	for tries := 0; ; tries++ {
		err := try()
		if err == nil {
			if waited := time.Since(start); waited >= time.Millisecond {
				Note(ctx, "leaseWaitMs", waited.Milliseconds())
			}
			return nil
		}
		if tries > 0 && ctx.Err() != nil { // the deadline came during a try, after waiting
			return fmt.Errorf("%w: waiting for the lease on %s: %w", ErrEntityBusy, key, ctx.Err())
		}
		if !held(err) {
			return fmt.Errorf("taking the lease on %s: %w", key, err)
		}
		sleep := wait/2 + rand.N(wait/2+1) // jitter, so that waiters do not retry in step
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= sleep {
			return fmt.Errorf("%w: the lease on %s was held for %s, until this delivery's deadline", ErrEntityBusy, key, time.Since(start).Round(time.Millisecond))
		}
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: waiting for the lease on %s: %w", ErrEntityBusy, key, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, orDefault(o.PollMax, defaultPollMax))
	}
}

func (o *Once) leaseTTL(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return time.Until(dl) + orDefault(o.LeaseMargin, defaultLeaseMargin)
	}
	return orDefault(o.LeaseFor, defaultLeaseFor)
}

// release gives the lease back even when ctx has ended. A lease that cannot be released
// expires by itself; one lost to a takeover (the handler outran it) is worth a note.
func (o *Once) release(ctx context.Context, key, owner string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := o.Store.Release(rctx, key, owner); err != nil {
		Note(ctx, "leaseReleaseError", err.Error())
	}
}

// runClaim is run on a Claims store: claim the entity (waiting while another delivery
// holds it), skip a delivery already done, run the handler, finish recording it done.
func (o *Once) runClaim(ctx context.Context, claims idempotency.Claims, key, doneKey string, ev Event, handle func(context.Context, Event) error) error {
	owner := peerdom.NewDeliveryID()
	remember := orDefault(o.RememberFor, defaultRememberFor)
	var c idempotency.Claim
	err := o.wait(ctx, key, func() error {
		var err error
		c, err = claims.Claim(ctx, key, owner, o.leaseTTL(ctx), remember, doneKey)
		return err
	})
	if err != nil {
		return err
	}
	finish := func(record string) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
		defer cancel()
		if ferr := claims.Finish(rctx, c, record); ferr != nil {
			if record != "" && !errors.Is(ferr, idempotency.ErrNotOwner) {
				Note(ctx, "recordError", ferr.Error())
			} else {
				Note(ctx, "leaseReleaseError", ferr.Error())
			}
		}
	}
	if c.Done {
		finish("")
		return Ignore("already done")
	}
	err = handle(ctx, ev)
	record := ""
	if doneKey != "" && (err == nil || IsIgnored(err)) {
		// The effect is done; failing the event now would only run it again, so a record
		// that cannot be written is noted, and the state checks catch a repeat.
		record = doneKey
	}
	finish(record)
	return err
}

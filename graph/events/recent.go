package events

// Reading the log backwards: the newest events of some topics, and the position a subscriber
// continues from so that it gets exactly what came after them (the API's recentEvents).

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/payhub/payhub/db"
)

const (
	// RecentMax is the most events ReadRecent returns.
	RecentMax = 500
	// RecentScanLimit is how many events of the topics asked ReadRecent looks at, at most: a
	// filter that takes few of them is answered with what that many held, not with a scan of the
	// whole log.
	RecentScanLimit = 10_000
	// recentPageMax bounds one page read from the log.
	recentPageMax = 500
)

// RecentTopic is a topic ReadRecent reads, with the filter of its events (nil takes all).
type RecentTopic struct {
	Topic string
	Match func(*Event) bool
}

// Recent is what ReadRecent found.
type Recent struct {
	// Events are the newest events matching, oldest first.
	Events []*Event
	// Head is the log's readable head when it was read (db.LastReadableEvent), the zero Position
	// when nothing in the log was readable. Every event at or before it had been written for good
	// by then (its transaction had ended), so it was there to be read; every event after it
	// becomes readable later. A subscriber of any topic that starts after Head therefore gets
	// exactly the events that were not there to be read: with Events, nothing missed, nothing
	// twice.
	Head Position
	// ScanLimitReached says the read stopped after scanLimit events of the topics, with fewer than
	// last matching: older matching events may exist.
	ScanLimitReached bool
}

// ReadRecent reads the log's newest events of topics that their filters take, at most last of
// them, looking at no more than scanLimit events (RecentScanLimit when not positive). It reads
// each topic backwards from the head, newest first, along events_topic_idx (db.ListEventsBefore),
// a page at a time, and merges the topics by position.
//
// The head is read first, in a statement of its own; the pages then read only below it. They may
// run in later statements (snapshots) than the head's and still see the same rows there: a row at
// or before the head belongs to a transaction older than every one running when the head was read,
// so no such row can appear, or vanish, afterwards.
func ReadRecent(ctx context.Context, q *db.Queries, topics []RecentTopic, last, scanLimit int) (Recent, error) {
	var out Recent
	if scanLimit <= 0 {
		scanLimit = RecentScanLimit
	}
	head, err := q.LastReadableEvent(ctx)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return out, nil // nothing readable: nothing to return, and everything is to come
	case err != nil:
		return out, fmt.Errorf("events: read the log's head: %w", err)
	}
	out.Head = Position{Xact: head.XactID.Uint64, ID: head.ID}
	if last <= 0 || len(topics) == 0 {
		return out, nil
	}
	// The first page of each topic reads before (head's transaction, head's id + 1): the head
	// itself and everything below it. Nothing else lies between the two: the head's transaction
	// has ended, so it has no rows beyond those it had.
	start := Position{Xact: out.Head.Xact, ID: out.Head.ID + 1}
	readers := make([]*backReader, len(topics))
	for i, t := range topics {
		readers[i] = &backReader{topic: t.Topic, match: t.Match, before: start, size: min(last, recentPageMax)}
	}
	scanned := 0
	for len(out.Events) < last {
		if scanned >= scanLimit {
			out.ScanLimitReached = slices.ContainsFunc(readers, (*backReader).mayHaveMore)
			break
		}
		var best *backReader
		var bestEv *Event
		for _, r := range readers {
			ev, err := r.peek(ctx, q, scanLimit-scanned)
			if err != nil {
				return Recent{}, err
			}
			if ev != nil && (bestEv == nil || ev.Position.After(bestEv.Position)) {
				best, bestEv = r, ev
			}
		}
		if best == nil {
			break // every topic read to its start
		}
		best.next++
		scanned++
		if best.match == nil || best.match(bestEv) {
			out.Events = append(out.Events, bestEv)
		}
	}
	slices.Reverse(out.Events)
	return out, nil
}

// backReader reads one topic of the log backwards, a page at a time.
type backReader struct {
	topic  string
	match  func(*Event) bool
	before Position // the next page reads events before this one
	size   int      // the next page's length: doubles from the number asked for up to recentPageMax
	page   []*Event // newest first
	next   int
	done   bool // the topic has nothing before `before`
}

// peek returns the topic's next event going backwards, reading a page of at most budget events
// when the last one is used up; nil when the topic has no more.
func (r *backReader) peek(ctx context.Context, q *db.Queries, budget int) (*Event, error) {
	if r.next < len(r.page) {
		return r.page[r.next], nil
	}
	if r.done || budget <= 0 {
		return nil, nil
	}
	n := min(r.size, budget)
	rows, err := q.ListEventsBefore(ctx, db.ListEventsBeforeParams{Topic: r.topic,
		BeforeXactID: pgtype.Uint64{Uint64: r.before.Xact, Valid: true}, BeforeID: r.before.ID, RowLimit: int32(n)})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("events: read the log backwards: %w", err)
	}
	r.size = min(2*r.size, recentPageMax)
	r.page, r.next = r.page[:0], 0
	for _, row := range rows {
		r.page = append(r.page, FromRow(row))
	}
	r.done = len(rows) < n
	if len(r.page) == 0 {
		return nil, nil
	}
	r.before = r.page[len(r.page)-1].Position
	return r.page[0], nil
}

// mayHaveMore says whether the topic may hold events not looked at yet.
func (r *backReader) mayHaveMore() bool { return r.next < len(r.page) || !r.done }

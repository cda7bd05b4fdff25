package graph

// recentEvents (schema/eventlog.graphqls): the newest events of the subscriptions' topics, read
// backwards from the log by events.ReadRecent, filtered by the subscriptions' own matchers, and the
// cursor the subscriptions go on from.

import (
	"context"
	"slices"

	"github.com/payhub/payhub/graph/events"
	"github.com/payhub/payhub/graph/model"
	hubsync "github.com/payhub/payhub/sync"
)

const recentEventsDefault = 50

// recentTopics are the topics recentEvents reads: those with a subscription.
var recentTopics = map[model.EventTopic]string{
	model.EventTopicPayment: hubsync.TopicPayment,
	model.EventTopicFraud:   hubsync.TopicFraud,
	model.EventTopicAnomaly: hubsync.TopicAnomaly,
}

func (r *Resolver) recentEvents(ctx context.Context, topics []model.EventTopic, last *int, filter *model.RecentEventFilter) (*model.RecentEvents, error) {
	n := recentEventsDefault
	if last != nil {
		n = *last
	}
	if n < 1 || n > events.RecentMax {
		return nil, model.BadInput("last: %d is out of range: ask for 1 to %d events", n, events.RecentMax)
	}
	var asked []string
	for _, t := range topics {
		topic, ok := recentTopics[t]
		if !ok {
			return nil, model.BadInput("topics: %s has no subscription; recentEvents reads PAYMENT, FRAUD and ANOMALY", t)
		}
		if !slices.Contains(asked, topic) {
			asked = append(asked, topic)
		}
	}
	read, err := r.recentEventTopics(ctx, asked, filter)
	if err != nil {
		return nil, err
	}
	recent, err := events.ReadRecent(ctx, r.Queries, read, n, events.RecentScanLimit)
	if err != nil {
		return nil, err
	}
	out := &model.RecentEvents{Events: make([]*model.Event, len(recent.Events)), Cursor: recent.Head.Cursor(),
		ScanLimitReached: recent.ScanLimitReached}
	for i, ev := range recent.Events {
		out.Events[i] = model.EventFromLog(ev)
	}
	return out, nil
}

// recentEventTopics pairs each topic with its subscription's matcher for filter (each topic's
// fields of it): a topic that filter has a field for which its events cannot match (gateway or
// customerCode for anomalies; anomalyKinds or severities for payments and fraud reviews) is not
// read at all. The customer code is looked up whatever the topics, so that an unknown one is
// reported as the subscriptions report it.
func (r *Resolver) recentEventTopics(ctx context.Context, topics []string, f *model.RecentEventFilter) ([]events.RecentTopic, error) {
	if f == nil {
		f = &model.RecentEventFilter{}
	}
	// The payment and fraud topics' matcher for {kinds, gateway, customerCode}: the same for both,
	// so the customer is looked up once.
	paymentLike, err := r.eventMatch(ctx, f.Kinds, f.Gateway, nil, nil, f.CustomerCode)
	if err != nil {
		return nil, err
	}
	anomaly, err := anomalyEventMatch(&model.AnomalyEventFilter{Kinds: f.Kinds, AnomalyKinds: f.AnomalyKinds, Severities: f.Severities})
	if err != nil {
		return nil, err
	}
	anomalyFields := f.AnomalyKinds != nil || f.Severities != nil // only anomalies can match them
	paymentFields := f.Gateway != nil || f.CustomerCode != nil    // no anomaly can match them
	out := make([]events.RecentTopic, 0, len(topics))
	for _, topic := range topics {
		switch topic {
		case hubsync.TopicPayment, hubsync.TopicFraud:
			if !anomalyFields {
				out = append(out, events.RecentTopic{Topic: topic, Match: paymentLike})
			}
		case hubsync.TopicAnomaly:
			if !paymentFields {
				out = append(out, events.RecentTopic{Topic: topic, Match: anomaly})
			}
		}
	}
	return out, nil
}

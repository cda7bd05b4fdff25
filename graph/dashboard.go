package graph

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/graph/auth"
	"github.com/payhub/payhub/graph/model"
)

// The operations dashboard's reads (dashboard.graphqls). They live here, not in
// dashboard.resolvers.go, which gqlgen rewrites.

// Limits of paymentStats and settlementDays.
const (
	bucketMinutesDefault   = 60
	bucketMinutesMax       = 24 * 60
	paymentStatsMaxBuckets = 1000
	settlementDaysMax      = 366
)

// The stored statuses paymentStats' figures of "now" count.
var (
	openStatus = []string{"open"}
	deadStatus = []string{"dead"}
)

// paymentStatsWindow validates paymentStats' arguments: to after from, bucketMinutes 1..1440
// (null is the default, 60), at most paymentStatsMaxBuckets buckets. The window is kept to the
// microsecond, the database's precision, so that buckets fall where the database bins them.
func paymentStatsWindow(from, to time.Time, bucketMinutes *int) (*model.PaymentStats, error) {
	minutes := bucketMinutesDefault
	if bucketMinutes != nil {
		minutes = *bucketMinutes
	}
	if minutes < 1 || minutes > bucketMinutesMax {
		return nil, badInput("bucketMinutes is 1..%d, not %d", bucketMinutesMax, minutes)
	}
	from, to = from.Truncate(time.Microsecond).UTC(), to.Truncate(time.Microsecond).UTC()
	if !to.After(from) {
		return nil, badInput("to (%s) must be after from (%s)", to.Format(time.RFC3339Nano), from.Format(time.RFC3339Nano))
	}
	if n := bucketCount(from, to, minutes); n > paymentStatsMaxBuckets {
		return nil, badInput("from..to at %d-minute buckets makes %d buckets; at most %d: ask for a shorter window or larger buckets",
			minutes, n, paymentStatsMaxBuckets)
	}
	return &model.PaymentStats{From: from, To: to, BucketMinutes: minutes}, nil
}

// bucketCount is how many buckets of minutes cover [from, to): the last may be cut short by to.
func bucketCount(from, to time.Time, minutes int) int64 {
	bucket := time.Duration(minutes) * time.Minute
	d := to.Sub(from) // saturates at ~292 years: still far too many buckets, refused
	n := int64(d / bucket)
	if d%bucket != 0 {
		n++
	}
	return n
}

func paymentStatsGroups(rows []db.PaymentStatsGroupsRow) []*model.PaymentStatsGroup {
	out := make([]*model.PaymentStatsGroup, len(rows))
	for i, r := range rows {
		out[i] = &model.PaymentStatsGroup{
			Gateway: model.Gateway(strings.ToUpper(r.Gateway)),
			Kind:    model.PaymentKind(strings.ToUpper(r.Kind)),
			Status:  model.PaymentStatus(strings.ToUpper(r.Status)),
			Count:   int(r.Payments),
			Amount:  model.NewMoney(r.Amount, r.Currency),
		}
	}
	return out
}

// paymentVolume lays the rows of db.PaymentVolume (one per bucket and currency, only where
// money was taken) out over every bucket of the window, the empty ones included.
func paymentVolume(s *model.PaymentStats, rows []db.PaymentVolumeRow) []*model.PaymentVolumeBucket {
	bucket := time.Duration(s.BucketMinutes) * time.Minute
	n := int(bucketCount(s.From, s.To, s.BucketMinutes))
	out := make([]*model.PaymentVolumeBucket, n)
	for i := range out {
		out[i] = &model.PaymentVolumeBucket{Start: s.From.Add(time.Duration(i) * bucket), Amounts: []*model.Money{}}
	}
	for _, r := range rows {
		i := int(r.BucketStart.Sub(s.From) / bucket)
		if i < 0 || i >= n { // cannot happen: the query bins the window's own payments from its start
			continue
		}
		out[i].Count += int(r.Payments)
		out[i].Amounts = append(out[i].Amounts, model.NewMoney(r.Amount, r.Currency)) // rows come by currency
	}
	return out
}

// settlementDaysParams validates settlementDays' filter: dateFrom no later than dateTo, at most
// settlementDaysMax days from one to the other, both included.
func settlementDaysParams(f model.SettlementDayFilter) (db.SettlementDayBatchesParams, error) {
	from, to := f.DateFrom.Time, f.DateTo.Time
	if to.Before(from) {
		return db.SettlementDayBatchesParams{}, badInput("filter.dateTo (%s) is before filter.dateFrom (%s)",
			to.Format(time.DateOnly), from.Format(time.DateOnly))
	}
	if days := int(to.Sub(from).Hours()/24) + 1; days > settlementDaysMax {
		return db.SettlementDayBatchesParams{}, badInput("filter.dateFrom..dateTo is %d days; at most %d", days, settlementDaysMax)
	}
	return db.SettlementDayBatchesParams{DateFrom: from, DateTo: to, Gateway: enumParam(f.Gateway)}, nil
}

// settlementDays merges the day's batches (by status and currency) and its discrepancies into one
// SettlementDay per gateway and day, newest day first, then by gateway. A day with discrepancies
// but no batch (payments no batch settled) is a day too.
func settlementDays(batches []db.SettlementDayBatchesRow, discrepancies []db.SettlementDayDiscrepanciesRow) []*model.SettlementDay {
	type key struct {
		gateway string
		date    time.Time
	}
	days := map[key]*model.SettlementDay{}
	// net sums by currency; the rows come by status within a day, so a currency recurs.
	net := map[key]map[string]decimal.Decimal{}
	day := func(gateway string, date time.Time) (key, *model.SettlementDay) {
		k := key{gateway, model.NewDate(date).Time}
		d := days[k]
		if d == nil {
			d = &model.SettlementDay{Gateway: model.Gateway(strings.ToUpper(gateway)), Date: model.NewDate(date),
				Batches: []*model.SettlementStatusCount{}, Net: []*model.Money{}}
			days[k] = d
		}
		return k, d
	}
	for _, r := range batches {
		k, d := day(r.Gateway, r.BatchDate)
		d.BatchCount += int(r.Batches)
		d.LineCount += int(r.Lines)
		status := model.SettlementBatchStatus(strings.ToUpper(r.Status))
		if i := slices.IndexFunc(d.Batches, func(c *model.SettlementStatusCount) bool { return c.Status == status }); i >= 0 {
			d.Batches[i].Count += int(r.Batches)
		} else {
			d.Batches = append(d.Batches, &model.SettlementStatusCount{Status: status, Count: int(r.Batches)})
		}
		if net[k] == nil {
			net[k] = map[string]decimal.Decimal{}
		}
		currency := strings.TrimSpace(r.Currency)
		net[k][currency] = net[k][currency].Add(r.Net)
	}
	for _, r := range discrepancies {
		_, d := day(r.Gateway, r.SettlementDate)
		d.DiscrepancyCount += int(r.Discrepancies)
		d.OpenDiscrepancyCount += int(r.OpenDiscrepancies)
	}
	out := make([]*model.SettlementDay, 0, len(days))
	for k, d := range days {
		// Statuses in the enum's order (IMPORTED first, as a batch goes), currencies by code.
		slices.SortFunc(d.Batches, func(a, b *model.SettlementStatusCount) int {
			return cmp.Compare(slices.Index(model.AllSettlementBatchStatus, a.Status), slices.Index(model.AllSettlementBatchStatus, b.Status))
		})
		for _, currency := range slices.Sorted(maps.Keys(net[k])) {
			d.Net = append(d.Net, model.NewMoney(net[k][currency], currency))
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b *model.SettlementDay) int {
		if c := b.Date.Compare(a.Date.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.Gateway, b.Gateway)
	})
	return out
}

// viewerOf is the request's API key as the API shows it.
func viewerOf(p *auth.Principal) *model.Viewer {
	return &model.Viewer{Name: p.Name, Role: model.Role(strings.ToUpper(string(p.Role)))}
}

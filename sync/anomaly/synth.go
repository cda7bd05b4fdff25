package anomaly

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// SynthOptions sizes a synthetic data set. Zero fields take DefaultSynthOptions' values.
type SynthOptions struct {
	Start      time.Time // first emitted event
	Days       int       // simulated days emitted
	WarmupDays int       // leading days meant for Warm: unlabelled, nothing injected
	Events     int       // approximate number of events emitted
	Merchants  int       // merchant accounts, at most 12
	Customers  int
	PerKind    int // injected incidents per anomaly kind
}

// DefaultSynthOptions: about 200,000 events over 30 days (7 of them warm-up), 10 merchants,
// 3,000 customers, 110 incidents of each kind.
func DefaultSynthOptions() SynthOptions {
	return SynthOptions{
		Start:      time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC),
		Days:       30,
		WarmupDays: 7,
		Events:     200_000,
		Merchants:  10,
		Customers:  3000,
		PerKind:    110,
	}
}

// Labelled is one synthetic event with the anomaly kinds it should trigger (empty for normal
// traffic). Warmup marks the events of the first WarmupDays, meant for Detector.Warm; they are
// never labelled. Incident groups the events of one injected incident (0 for normal traffic) and
// Scenario names how it was made; none of this is ever shown to the detector.
type Labelled struct {
	Event    Event
	Labels   []Kind
	Warmup   bool
	Incident int
	Scenario string
}

// Synthesize makes a labelled event stream, deterministic for a seed.
//
// Normal traffic. Each merchant has its own currency, typical amount (a log-normal level drawn
// between 30 and 500), spread of customer levels, decline rate, refund rate (1–8%), settlement
// noise, and whether it authorizes then captures (the capture is a second payment event, with
// ParentPaymentID, minutes to hours later) or sells outright. Three merchants take some orders
// by phone: those payments come from the merchant's call-centre IP, in office hours, many per
// hour. Customers belong to one merchant, have their own log-normal spending level (levels of one
// merchant span about two orders of magnitude, so no global threshold fits) and spread, an
// activity level (a few pay daily, many a few times a month), one to three cards, an email
// (usually) and one to three IPs; one in ten is on a mobile network whose IPs are shared with
// other customers. Guests (12% of web traffic) pay with fresh details. Declines happen (3–10%),
// and are often retried within minutes, sometimes with another card; 2.5% of customers' payments
// come with one or two more payments on the same card within minutes (several invoices paid at
// once). Refunds follow some payments hours to days later. A quarter of a percent of payments
// have a SYSPRO posting go dead, sometimes two or three postings of the same payment together.
// Reconciliation reports small discrepancies (fee and FX rounding) every morning.
//
// Injected incidents (labelled period only), each kind PerKind times:
//   - amount_outlier_customer: an established customer (20 or more earlier payments in the
//     stream) pays more than 5.5 of their own σ above their level and 8 to 120 times it. Where that amount is also beyond anything the merchant sees, the payment is
//     labelled amount_outlier_merchant too (amounts are kept out of a narrow band just above the
//     merchant's normal range, so that the label is unambiguous).
//   - amount_outlier_merchant: a payment at least 5 times beyond the largest amount the
//     merchant's normal traffic can produce, by a guest, a brand-new customer or an established
//     customer (then labelled amount_outlier_customer too).
//   - velocity: card testing (one stolen card, new or a real customer's, many small attempts,
//     mostly declined, from rotating proxies), card cycling (one account, often a real customer's,
//     trying many cards), bot runs (one IP, many cards and emails), and mixes (one card and one
//     IP; one email and one IP): 6–16 attempts within 1.5–9 minutes. Each attempt is labelled
//     with the kinds whose key it shares with the rest of the burst.
//   - duplicate_payment: a real payment charged again 2 s to 4.5 min later, with the same
//     reference (a retried capture) or a new one (a double click); both charges are labelled.
//   - refund_ratio_spike: 1.5–3 days' worth of refunds (at least 15) issued at one merchant
//     within 1–5 hours, of real payments of the last ten days.
//   - settlement_mismatch: a discrepancy the size of a real payment (missing, settled twice),
//     of several payments, or of a chargeback with its fee.
//   - dead_posting_burst: 6–40 postings of recent payments going dead within 1–9 minutes, mostly
//     with one error (a closed period, a missing warehouse...).
//
// The detector never sees labels; injected events are made by the same code as normal ones
// (identifiers, references and ids are assigned in time order after everything is generated).
func Synthesize(seed int64, opts SynthOptions) []Labelled {
	def := DefaultSynthOptions()
	if opts.Start.IsZero() {
		opts.Start = def.Start
	}
	if opts.Days <= 0 {
		opts.Days = def.Days
	}
	if opts.WarmupDays <= 0 {
		opts.WarmupDays = def.WarmupDays
	}
	if opts.Events <= 0 {
		opts.Events = def.Events
	}
	if opts.Merchants <= 0 {
		opts.Merchants = def.Merchants
	}
	opts.Merchants = min(opts.Merchants, len(merchantCatalogue))
	if opts.Customers <= 0 {
		opts.Customers = def.Customers
	}
	if opts.PerKind <= 0 {
		opts.PerKind = def.PerKind
	}
	g := &gen{
		rng:  rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15)),
		opts: opts,
	}
	g.start = opts.Start.UnixNano()
	g.labelStart = g.start + int64(opts.WarmupDays)*day
	g.end = g.start + int64(opts.Days)*day
	g.preStart = g.start - preDays*day
	g.setup()
	g.normalTraffic()
	g.settlementNoise()
	g.index()
	g.injectAmountOutliers()
	g.injectDuplicates()
	g.injectVelocity()
	g.injectRefundSpikes()
	g.injectSettlementMismatches()
	g.injectDeadPostingBursts()
	return g.finish()
}

const (
	day     = int64(24 * time.Hour)
	preDays = 4 // payments before Start, not emitted, so that refunds in the first days have parents
	// established is how many earlier payments make a customer established: customer outliers
	// are injected only there, so that the label does not hinge on the detector's minimum history.
	established = 20
)

var merchantCatalogue = []struct{ account, currency string }{
	{"opayo:payhub_retail", "GBP"}, {"cybersource:payhub_sandbox", "USD"}, {"opayo:payhub_trade", "GBP"},
	{"cybersource:payhub_eu", "EUR"}, {"opayo:payhub_spares", "GBP"}, {"cybersource:payhub_us_b2b", "USD"},
	{"opayo:payhub_ie", "EUR"}, {"cybersource:payhub_uk", "GBP"}, {"opayo:payhub_moto", "GBP"},
	{"cybersource:payhub_ca", "CAD"}, {"opayo:payhub_outlet", "GBP"}, {"cybersource:payhub_au", "AUD"},
}

var (
	firstNames = []string{"alex", "sam", "jo", "chris", "pat", "morgan", "jamie", "taylor", "robin", "lee", "kim", "dana", "ash", "charlie", "max", "nico"}
	lastNames  = []string{"smith", "jones", "brown", "taylor", "wilson", "evans", "walker", "wright", "green", "hall", "wood", "clarke", "king", "baker", "hill", "moore"}
	domains    = []string{"gmail.com", "outlook.com", "yahoo.co.uk", "icloud.com", "btinternet.com", "acme-trading.co.uk", "northfab.com", "hotmail.com", "proton.me", "brightbuild.io"}
	errorTexts = []string{
		"Customer %s is on hold",
		"Stock code %s not on file",
		"Warehouse %s is not valid for this stock code",
		"GL period %s is closed",
		"Tax code %s is not defined",
		"Credit limit exceeded for customer %s",
		"Sales order %s is locked by another operator",
		"Bank %s is not defined in Cash Book",
	}
	customerHours = []float64{0.15, 0.1, 0.08, 0.07, 0.08, 0.15, 0.35, 0.6, 0.9, 1.1, 1.2, 1.25, 1.3, 1.25, 1.2, 1.15, 1.1, 1.1, 1.15, 1.2, 1.1, 0.9, 0.6, 0.3}
	officeHours   = []float64{0, 0, 0, 0, 0, 0, 0, 0, 0.8, 1, 1, 1, 0.7, 0.9, 1, 1, 1, 0.8, 0, 0, 0, 0, 0, 0}
)

type gen struct {
	rng                          *rand.Rand
	opts                         SynthOptions
	preStart, start, labelStart  int64
	end                          int64
	merchants                    []*gMerchant
	mWeights                     []float64
	customers                    []*gCustomer
	mobilePool                   []string
	codes                        []int // shuffled customer code numbers, handed out in order
	events                       []*gev
	approved                     []*gev // primary approved payments, sorted by time after index()
	seq, incident                int
	used                         map[*gCustomer]bool
	lastBurst                    []int64
	settleLine                   int
	refundSpikeStarts            map[*gMerchant][]int64
	refundsEmittedPerMerchantDay map[*gMerchant]float64
}

type gMerchant struct {
	account, currency       string
	weight                  float64
	level, spread           float64 // log level and spread of its customers' levels
	refundRate, declineRate float64
	authCapture             bool
	motoShare               float64
	callCentreIP            string
	noiseMed, noiseSigma    float64 // settlement noise, log-normal
	mismatchesPerDay        float64
	custs                   []*gCustomer
	custCum                 []float64
	normalMax, anomalyMin   float64 // log amounts: the most normal traffic can reach; where merchant outliers start
	approved                []*gev  // its primary approved payments, by time
}

type gCustomer struct {
	code          string
	m             *gMerchant
	mu, sigma     float64
	activity      float64
	email         string
	cards, ips    []string
	mobile        bool
	approvedSoFar int
}

type refObj struct{ n int }

type gev struct {
	e        Event
	t        int64
	seq      int
	class    int  // 0: payment row; 1: posting; 2: settlement line
	parent   *gev // becomes ParentPaymentID
	pay      *gev // for a dead posting: its payment
	ref      *refObj
	m        *gMerchant
	c        *gCustomer
	primary  bool    // an approved payment that is not a capture
	frac     float64 // refund share of the parent's amount; 0 = own amount
	labels   []Kind
	incident int
	scenario string
	refunded bool
	prior    int // approved payments by the customer emitted before this one
}

// --- random helpers -------------------------------------------------------------------------

func (g *gen) uniform(a, b float64) float64 { return a + (b-a)*g.rng.Float64() }

func (g *gen) between(a, b time.Duration) int64 {
	return int64(a) + g.rng.Int64N(int64(b-a)+1)
}

// truncNorm is a standard normal draw limited to ±k.
func (g *gen) truncNorm(k float64) float64 {
	for {
		if x := g.rng.NormFloat64(); math.Abs(x) <= k {
			return x
		}
	}
}

func (g *gen) poisson(lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= g.rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func (g *gen) pick(cum []float64) int {
	x := g.rng.Float64() * cum[len(cum)-1]
	i, _ := slices.BinarySearch(cum, x)
	return min(i, len(cum)-1)
}

func (g *gen) fingerprint() string { return fmt.Sprintf("fp_%016x", g.rng.Uint64()) }

func (g *gen) ip() string {
	return fmt.Sprintf("%d.%d.%d.%d", 11+g.rng.IntN(212), g.rng.IntN(256), g.rng.IntN(256), 1+g.rng.IntN(254))
}

func (g *gen) email() string {
	f, l := firstNames[g.rng.IntN(len(firstNames))], lastNames[g.rng.IntN(len(lastNames))]
	return fmt.Sprintf("%s.%s%d@%s", f, l, g.rng.IntN(10000), domains[g.rng.IntN(len(domains))])
}

func (g *gen) code() string {
	c := g.codes[0]
	g.codes = g.codes[1:]
	return fmt.Sprintf("C%05d", c)
}

// timeOfDay draws a time on day d (relative to Start) following hourly weights.
func (g *gen) timeOfDay(d int64, hours []float64) int64 {
	cum := make([]float64, 24)
	s := 0.0
	for i, w := range hours {
		s += w
		cum[i] = s
	}
	h := g.pick(cum)
	return g.start + d*day + int64(h)*int64(time.Hour) + g.rng.Int64N(int64(time.Hour))
}

// money draws are statistics: amounts leave here as decimals with two places.
func amountOf(logAmount float64) decimal.Decimal {
	a := decimal.NewFromFloat(math.Exp(logAmount)).Round(2)
	if a.LessThan(decimal.New(50, -2)) {
		a = decimal.New(50, -2)
	}
	return a
}

// --- set-up -----------------------------------------------------------------------------------

func (g *gen) setup() {
	g.used = map[*gCustomer]bool{}
	g.refundSpikeStarts = map[*gMerchant][]int64{}
	for i := 0; i < 40; i++ {
		g.mobilePool = append(g.mobilePool, g.ip())
	}
	g.codes = g.rng.Perm(90000)
	for i := range g.codes {
		g.codes[i] += 10000
	}
	for i := 0; i < g.opts.Merchants; i++ {
		c := merchantCatalogue[i]
		m := &gMerchant{
			account: c.account, currency: c.currency,
			weight:           g.uniform(0.4, 2),
			level:            math.Log(g.uniform(30, 500)),
			spread:           g.uniform(0.7, 1.1),
			refundRate:       g.uniform(0.01, 0.08),
			declineRate:      g.uniform(0.03, 0.10),
			authCapture:      i%3 == 1,
			noiseMed:         math.Exp(g.uniform(math.Log(0.02), math.Log(0.8))),
			noiseSigma:       g.uniform(0.3, 0.7),
			mismatchesPerDay: g.uniform(1, 4),
		}
		if i == 0 || i == 2 || i == 8 {
			m.motoShare = g.uniform(0.15, 0.35)
			m.callCentreIP = g.ip()
		}
		m.normalMax = m.level + 2.5*m.spread + 3.5*0.6
		m.anomalyMin = m.normalMax + math.Log(5)
		g.merchants = append(g.merchants, m)
		g.mWeights = append(g.mWeights, m.weight)
	}
	cum := cumulative(g.mWeights)
	for i := 0; i < g.opts.Customers; i++ {
		m := g.merchants[g.pick(cum)]
		c := &gCustomer{
			code: g.code(), m: m,
			mu:       m.level + m.spread*g.truncNorm(2.5),
			sigma:    g.uniform(0.2, 0.6),
			activity: math.Exp(g.rng.NormFloat64()),
			mobile:   g.rng.Float64() < 0.1,
		}
		if g.rng.Float64() < 0.9 {
			c.email = g.email()
		}
		nCards := 1
		if x := g.rng.Float64(); x > 0.9 {
			nCards = 3
		} else if x > 0.6 {
			nCards = 2
		}
		for range nCards {
			c.cards = append(c.cards, g.fingerprint())
		}
		for range 1 + g.rng.IntN(3) {
			c.ips = append(c.ips, g.ip())
		}
		m.custs = append(m.custs, c)
		g.customers = append(g.customers, c)
	}
	for _, m := range g.merchants {
		w := make([]float64, len(m.custs))
		for i, c := range m.custs {
			w[i] = c.activity
		}
		m.custCum = cumulative(w)
	}
}

func cumulative(w []float64) []float64 {
	out := make([]float64, len(w))
	s := 0.0
	for i, x := range w {
		s += x
		out[i] = s
	}
	return out
}

// --- event construction ----------------------------------------------------------------------

func (g *gen) add(v *gev) *gev {
	g.seq++
	v.seq = g.seq
	g.events = append(g.events, v)
	return v
}

// paymentEvent makes a payment-row event (payment or decline) for m, c (nil: guest) at t.
func (g *gen) paymentEvent(kind EventKind, m *gMerchant, c *gCustomer, t int64, card, email, ip string, ref *refObj, amt decimal.Decimal) *gev {
	e := Event{Kind: kind, Merchant: m.account, Email: email, IP: ip, Card: card, Amount: amt, Currency: m.currency}
	if c != nil {
		e.Customer = c.code
	}
	return g.add(&gev{e: e, t: t, class: 0, ref: ref, m: m, c: c})
}

// approve adds an approved payment with its normal consequences: a capture for
// authorize-then-capture merchants, maybe a refund, maybe dead postings.
func (g *gen) approve(m *gMerchant, c *gCustomer, t int64, card, email, ip string, ref *refObj, amt decimal.Decimal, consequences bool) *gev {
	p := g.paymentEvent(EventPayment, m, c, t, card, email, ip, ref, amt)
	p.primary = true
	if m.authCapture {
		cp := g.paymentEvent(EventPayment, m, c, t+g.captureDelay(), card, email, ip, ref, amt)
		cp.parent = p
	}
	if !consequences {
		return p
	}
	if g.rng.Float64() < m.refundRate {
		g.refund(p, t+g.refundDelay(), fracOf(g))
	}
	if g.rng.Float64() < 0.0025 {
		at := t + g.between(30*time.Second, 2*time.Hour)
		text := g.errorText(g.rng.IntN(len(errorTexts)), p)
		g.deadPosting(p, at, text)
		if g.rng.Float64() < 0.15 {
			for range 1 + g.rng.IntN(2) {
				g.deadPosting(p, at+g.between(0, 2*time.Minute), text)
			}
		}
	}
	return p
}

func fracOf(g *gen) float64 {
	if g.rng.Float64() < 0.75 {
		return 1
	}
	return g.uniform(0.1, 0.9)
}

func (g *gen) captureDelay() int64 {
	d := math.Exp(math.Log(float64(20*time.Minute)) + 1.2*g.rng.NormFloat64())
	return int64(math.Min(math.Max(d, float64(2*time.Minute)), float64(6*time.Hour)))
}

func (g *gen) refundDelay() int64 {
	d := math.Exp(math.Log(float64(20*time.Hour)) + 1.2*g.rng.NormFloat64())
	return int64(math.Min(math.Max(d, float64(10*time.Minute)), float64(12*24*time.Hour)))
}

func (g *gen) refund(p *gev, t int64, frac float64) *gev {
	r := g.add(&gev{t: t, class: 0, parent: p, m: p.m, c: p.c, frac: frac, ref: p.ref,
		e: Event{Kind: EventRefund, Merchant: p.e.Merchant, Customer: p.e.Customer, Email: p.e.Email,
			Card: p.e.Card, Currency: p.e.Currency}})
	p.refunded = true
	return r
}

func (g *gen) errorText(i int, p *gev) string {
	var arg string
	switch i {
	case 0, 5:
		arg = p.e.Customer
		if arg == "" {
			arg = "CASH01"
		}
	case 1:
		arg = fmt.Sprintf("SK-%04d", g.rng.IntN(5000))
	case 2:
		arg = fmt.Sprintf("W%02d", g.rng.IntN(20))
	case 3:
		arg = fmt.Sprintf("2025/%02d", 1+g.rng.IntN(12))
	case 4:
		arg = fmt.Sprintf("T%d", g.rng.IntN(9))
	case 6:
		arg = fmt.Sprintf("%06d", g.rng.IntN(1000000))
	default:
		arg = fmt.Sprintf("BK%02d", g.rng.IntN(30))
	}
	return fmt.Sprintf(errorTexts[i], arg)
}

func (g *gen) deadPosting(p *gev, t int64, text string) *gev {
	return g.add(&gev{t: t, class: 1, pay: p, m: p.m, c: p.c,
		e: Event{Kind: EventDeadPosting, SubjectType: "erp_posting", Merchant: p.e.Merchant, Customer: p.e.Customer,
			Currency: p.e.Currency, Detail: text}})
}

// identity is the card, email and IP of an attempt.
func (g *gen) identity(m *gMerchant, c *gCustomer, moto bool) (card, email, ip string) {
	if c == nil {
		card, ip = g.fingerprint(), g.ip()
		if g.rng.Float64() < 0.65 {
			email = g.email()
		}
		return
	}
	card = c.cards[0]
	if len(c.cards) > 1 && g.rng.Float64() < 0.25 {
		card = c.cards[1+g.rng.IntN(len(c.cards)-1)]
	}
	email = c.email
	switch {
	case moto:
		ip = m.callCentreIP
	case c.mobile && g.rng.Float64() < 0.5:
		ip = g.mobilePool[g.rng.IntN(len(g.mobilePool))]
	case g.rng.Float64() < 0.7:
		ip = c.ips[0]
	default:
		ip = c.ips[g.rng.IntN(len(c.ips))]
	}
	return
}

// customerAmount is a normal amount for c (or, for a guest, for a random level at m).
func (g *gen) normalAmount(m *gMerchant, c *gCustomer) decimal.Decimal {
	if c == nil {
		return amountOf(m.level + m.spread*g.truncNorm(2.5) + g.uniform(0.2, 0.6)*g.truncNorm(3.5))
	}
	return amountOf(c.mu + c.sigma*g.truncNorm(3.5))
}

// --- normal traffic --------------------------------------------------------------------------

func (g *gen) normalTraffic() {
	// Events per primary attempt: the attempt, retries and batches, captures, refunds.
	expansion, wsum := 1.08, 0.0
	for _, m := range g.merchants {
		wsum += m.weight
	}
	for _, m := range g.merchants {
		share := m.weight / wsum
		if m.authCapture {
			expansion += share * 0.95
		}
		expansion += share * m.refundRate
	}
	days := int64(g.opts.Days + preDays)
	attempts := int(float64(g.opts.Events) / expansion * float64(days) / float64(g.opts.Days))
	cum := cumulative(g.mWeights)
	for range attempts {
		m := g.merchants[g.pick(cum)]
		d := int64(g.rng.IntN(int(days))) - preDays
		moto := m.motoShare > 0 && g.rng.Float64() < m.motoShare
		var t int64
		var c *gCustomer
		if moto {
			t = g.timeOfDay(d, officeHours)
			c = m.custs[g.pick(m.custCum)]
		} else {
			t = g.timeOfDay(d, customerHours)
			if g.rng.Float64() >= 0.12 {
				c = m.custs[g.pick(m.custCum)]
			}
		}
		g.attempt(m, c, t, moto)
	}
}

func (g *gen) attempt(m *gMerchant, c *gCustomer, t int64, moto bool) {
	card, email, ip := g.identity(m, c, moto)
	ref := &refObj{}
	amt := g.normalAmount(m, c)
	for try := 0; try < 3; try++ {
		pDecline := m.declineRate
		if try > 0 {
			pDecline = 0.35
		}
		if g.rng.Float64() < pDecline {
			g.paymentEvent(EventDecline, m, c, t, card, email, ip, ref, amt)
			if try < 2 && g.rng.Float64() < 0.55 {
				t += g.between(15*time.Second, 4*time.Minute)
				if c != nil && len(c.cards) > 1 && g.rng.Float64() < 0.4 {
					card = c.cards[g.rng.IntN(len(c.cards))]
				}
				continue
			}
			return
		}
		g.approve(m, c, t, card, email, ip, ref, amt, true)
		if try == 0 && c != nil && g.rng.Float64() < 0.025 {
			extra := 1
			if g.rng.Float64() < 0.35 {
				extra = 2
			}
			for range extra {
				t += g.between(20*time.Second, 3*time.Minute)
				g.approve(m, c, t, card, email, ip, &refObj{}, g.normalAmount(m, c), true)
			}
		}
		return
	}
}

func (g *gen) settlementNoise() {
	for _, m := range g.merchants {
		for d := int64(0); d < int64(g.opts.Days); d++ {
			for range g.poisson(m.mismatchesPerDay) {
				a := decimal.NewFromFloat(math.Exp(math.Log(m.noiseMed) + m.noiseSigma*g.truncNorm(3))).Round(2)
				if !a.IsPositive() {
					a = decimal.New(1, -2)
				}
				if g.rng.IntN(2) == 0 {
					a = a.Neg()
				}
				g.mismatch(m, g.start+d*day+5*int64(time.Hour)+g.rng.Int64N(2*int64(time.Hour)), a)
			}
		}
	}
}

func (g *gen) mismatch(m *gMerchant, t int64, diff decimal.Decimal) *gev {
	expected := decimal.NewFromFloat(g.uniform(5000, 250000)).Round(2)
	settled := expected.Add(diff)
	date := time.Unix(0, t-day).UTC().Format("2006-01-02")
	detail := fmt.Sprintf("settlement for %s on %s: expected %s, settled %s", m.account, date,
		money(expected, m.currency), money(settled, m.currency))
	return g.add(&gev{t: t, class: 2, m: m,
		e: Event{Kind: EventSettlementMismatch, SubjectType: "settlement_line", Merchant: m.account,
			Amount: diff, Currency: m.currency, Detail: detail}})
}

// index sorts the primary approved payments by time and counts, for each, the customer's
// approved payments emitted before it.
func (g *gen) index() {
	slices.SortStableFunc(g.events, func(a, b *gev) int { return compareInt64(a.t, b.t) })
	for _, v := range g.events {
		if !v.primary {
			continue
		}
		g.approved = append(g.approved, v)
		v.m.approved = append(v.m.approved, v)
		if v.c != nil && v.t >= g.start {
			v.prior = v.c.approvedSoFar
			v.c.approvedSoFar++
		}
	}
	g.refundsEmittedPerMerchantDay = map[*gMerchant]float64{}
	for _, v := range g.events {
		if v.e.Kind == EventRefund && v.t >= g.start {
			g.refundsEmittedPerMerchantDay[v.m] += 1 / float64(g.opts.Days)
		}
	}
}

// labelRange draws a time in the labelled period, clear of its ends.
func (g *gen) labelTime() int64 {
	lo, hi := g.labelStart+int64(time.Hour), g.end-8*int64(time.Hour)
	return lo + g.rng.Int64N(hi-lo)
}

func (g *gen) newIncident(v []*gev, scenario string, labels ...Kind) {
	g.incident++
	for _, x := range v {
		x.incident = g.incident
		x.scenario = scenario
		x.labels = append(x.labels, labels...)
	}
}

// candidates are primary approved payments in the labelled period satisfying ok, shuffled.
func (g *gen) candidates(ok func(*gev) bool) []*gev {
	var out []*gev
	for _, v := range g.approved {
		if v.t >= g.labelStart+int64(time.Hour) && v.t < g.end-8*int64(time.Hour) && len(v.labels) == 0 && ok(v) {
			out = append(out, v)
		}
	}
	g.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// --- injections ------------------------------------------------------------------------------

func (g *gen) injectAmountOutliers() {
	n := g.opts.PerKind
	est := g.candidates(func(v *gev) bool { return v.c != nil && v.prior >= established })
	next := func() *gev {
		for len(est) > 0 {
			v := est[0]
			est = est[1:]
			if !g.used[v.c] {
				g.used[v.c] = true
				return v
			}
		}
		return nil
	}
	for range n {
		v := next()
		if v == nil {
			break
		}
		c, m := v.c, v.m
		la := c.mu + math.Max(5.5*c.sigma, math.Log(6)) + g.uniform(0.3, 1.5)
		labels := []Kind{AmountOutlierCustomer}
		if la > m.normalMax {
			if la < m.anomalyMin {
				la = m.anomalyMin + g.uniform(0, 1)
			}
			labels = append(labels, AmountOutlierMerchant)
		}
		v.e.Amount = amountOf(la)
		g.newIncident([]*gev{v}, "customer_big_purchase", labels...)
	}
	for i := range n {
		var v *gev
		switch i % 4 {
		case 0: // an established customer
			if v = next(); v != nil {
				v.e.Amount = amountOf(v.m.anomalyMin + g.uniform(0, 1.5))
				g.newIncident([]*gev{v}, "merchant_big_payment_established", AmountOutlierMerchant, AmountOutlierCustomer)
				continue
			}
			fallthrough
		case 1: // a brand-new customer account
			m := g.merchants[g.pick(cumulative(g.mWeights))]
			card, _, ip := g.identity(m, nil, false)
			v = g.approve(m, nil, g.labelTime(), card, g.email(), ip, &refObj{}, amountOf(m.anomalyMin+g.uniform(0, 1.5)), false)
			v.e.Customer = g.code()
			v.primary = false
			g.newIncident([]*gev{v}, "merchant_big_payment_new_customer", AmountOutlierMerchant)
		default: // a guest
			m := g.merchants[g.pick(cumulative(g.mWeights))]
			card, email, ip := g.identity(m, nil, false)
			v = g.approve(m, nil, g.labelTime(), card, email, ip, &refObj{}, amountOf(m.anomalyMin+g.uniform(0, 1.5)), false)
			v.primary = false
			g.newIncident([]*gev{v}, "merchant_big_payment_guest", AmountOutlierMerchant)
		}
	}
}

func (g *gen) injectDuplicates() {
	cands := g.candidates(func(v *gev) bool { return v.e.Card != "" })
	for i := 0; i < g.opts.PerKind && i < len(cands); i++ {
		v := cands[i]
		var delay int64
		if g.rng.Float64() < 0.4 {
			delay = g.between(2*time.Second, 10*time.Second) // a double click
		} else {
			delay = g.between(20*time.Second, 270*time.Second) // a retry after a timeout
		}
		ref, scenario := v.ref, "duplicate_same_reference"
		if g.rng.Float64() < 0.55 {
			ref, scenario = &refObj{}, "duplicate_new_reference"
		}
		dup := g.approve(v.m, v.c, v.t+delay, v.e.Card, v.e.Email, v.e.IP, ref, v.e.Amount, false)
		dup.primary = false
		dup.e.Customer = v.e.Customer
		if g.rng.Float64() < 0.5 {
			g.refund(dup, dup.t+g.between(time.Hour, 48*time.Hour), 1)
		}
		g.newIncident([]*gev{v, dup}, scenario, DuplicatePayment)
	}
}

func (g *gen) injectVelocity() {
	p := g.opts.PerKind
	cardOnly, emailOnly, ipOnly := p*7/10, p*7/10, p/2
	type plan struct {
		name               string
		card, email, ip    bool
		count              int
		labels             []Kind
		declines           float64
		smallAmounts, anon bool
	}
	plans := []plan{
		{"card_testing", true, false, false, cardOnly, []Kind{CardVelocity}, 0.75, true, true},
		{"card_cycling", false, true, false, emailOnly, []Kind{EmailVelocity}, 0.6, false, false},
		{"bot_run", false, false, true, ipOnly, []Kind{IPVelocity}, 0.6, false, true},
		{"card_testing_one_machine", true, false, true, p - cardOnly, []Kind{CardVelocity, IPVelocity}, 0.75, true, true},
		{"card_cycling_one_machine", false, true, true, p - emailOnly, []Kind{EmailVelocity, IPVelocity}, 0.6, false, false},
	}
	cum := cumulative(g.mWeights)
	for _, pl := range plans {
		for range pl.count {
			m := g.merchants[g.pick(cum)]
			t0 := g.labelTime()
			k := 6 + g.rng.IntN(11)
			dur := g.between(90*time.Second, 9*time.Minute)
			times := []int64{t0, t0 + dur}
			for range k - 2 {
				times = append(times, t0+g.rng.Int64N(dur))
			}
			slices.Sort(times)
			var card, email, ip string
			var victim *gCustomer
			if pl.card {
				card = g.fingerprint()
				if g.rng.Float64() < 0.3 {
					card = g.customers[g.rng.IntN(len(g.customers))].cards[0]
				}
			}
			if pl.email {
				email = g.email()
				if c := g.customers[g.rng.IntN(len(g.customers))]; c.email != "" && g.rng.Float64() < 0.5 {
					victim, email, m = c, c.email, c.m
				}
			}
			if pl.ip {
				ip = g.ip()
			}
			var burst []*gev
			for _, t := range times {
				ac, ae, ai := card, email, ip
				if !pl.card {
					ac = g.fingerprint()
				}
				if !pl.email && (pl.anon || g.rng.Float64() < 0.5) {
					ae = ""
					if g.rng.Float64() < 0.5 {
						ae = g.email()
					}
				}
				if !pl.ip {
					ai = g.ip()
				}
				var amt decimal.Decimal
				switch {
				case pl.smallAmounts:
					amt = decimal.NewFromFloat(g.uniform(0.5, 3)).Round(2)
				case victim != nil:
					amt = amountOf(victim.mu + victim.sigma*g.truncNorm(2))
				default:
					amt = amountOf(m.level + 0.5*g.truncNorm(2))
				}
				kind := EventPayment
				if g.rng.Float64() < pl.declines {
					kind = EventDecline
				}
				v := g.paymentEvent(kind, m, nil, t, ac, ae, ai, &refObj{}, amt)
				if victim != nil {
					v.e.Customer = victim.code
				}
				burst = append(burst, v)
			}
			g.newIncident(burst, pl.name, pl.labels...)
		}
	}
}

func (g *gen) injectRefundSpikes() {
	order := g.rng.Perm(len(g.merchants))
	for i := range g.opts.PerKind {
		m := g.merchants[order[i%len(order)]]
		var t0 int64
		for try := 0; try < 200; try++ {
			t0 = g.labelTime()
			clear := true
			for _, s := range g.refundSpikeStarts[m] {
				if abs64(s-t0) < 30*int64(time.Hour) {
					clear = false
				}
			}
			if clear {
				break
			}
		}
		g.refundSpikeStarts[m] = append(g.refundSpikeStarts[m], t0)
		k := max(15, int(math.Round(g.uniform(1.5, 3)*g.refundsEmittedPerMerchantDay[m])))
		dur := g.between(time.Hour, 5*time.Hour)
		lo, _ := slices.BinarySearchFunc(m.approved, t0-10*day, func(v *gev, t int64) int { return compareInt64(v.t, t) })
		hi, _ := slices.BinarySearchFunc(m.approved, t0-10*int64(time.Minute), func(v *gev, t int64) int { return compareInt64(v.t, t) })
		var spike []*gev
		for try := 0; len(spike) < k && try < 50*k && hi > lo; try++ {
			p := m.approved[lo+g.rng.IntN(hi-lo)]
			if p.refunded || len(p.labels) > 0 {
				continue
			}
			spike = append(spike, g.refund(p, t0+g.rng.Int64N(dur), 1))
		}
		g.newIncident(spike, "refund_spike", RefundRatioSpike)
	}
}

func (g *gen) injectSettlementMismatches() {
	for i := range g.opts.PerKind {
		m := g.merchants[i%len(g.merchants)]
		d := int64(g.opts.WarmupDays + g.rng.IntN(g.opts.Days-g.opts.WarmupDays))
		t := g.start + d*day + 5*int64(time.Hour) + g.rng.Int64N(2*int64(time.Hour))
		lo, _ := slices.BinarySearchFunc(m.approved, t-day-5*int64(time.Hour), func(v *gev, t int64) int { return compareInt64(v.t, t) })
		hi, _ := slices.BinarySearchFunc(m.approved, t-5*int64(time.Hour), func(v *gev, t int64) int { return compareInt64(v.t, t) })
		if hi <= lo {
			continue
		}
		pay := func() decimal.Decimal { return m.approved[lo+g.rng.IntN(hi-lo)].e.Amount }
		var diff decimal.Decimal
		scenario := ""
		switch x := g.rng.Float64(); {
		case x < 0.55:
			diff, scenario = pay().Neg(), "settlement_missing_payment"
		case x < 0.75:
			for range 2 + g.rng.IntN(4) {
				diff = diff.Sub(pay())
			}
			scenario = "settlement_missing_payments"
		case x < 0.9:
			diff, scenario = pay().Add(decimal.New(15, 0)).Neg(), "settlement_chargeback"
		default:
			diff, scenario = pay(), "settlement_paid_twice"
		}
		g.newIncident([]*gev{g.mismatch(m, t, diff)}, scenario, SettlementMismatch)
	}
}

func (g *gen) injectDeadPostingBursts() {
	for range g.opts.PerKind {
		var t0 int64
		for try := 0; try < 200; try++ {
			t0 = g.labelTime()
			clear := true
			for _, s := range g.lastBurst {
				if abs64(s-t0) < 20*int64(time.Minute) {
					clear = false
				}
			}
			if clear {
				break
			}
		}
		g.lastBurst = append(g.lastBurst, t0)
		k := 6 + min(34, int(g.rng.ExpFloat64()*7))
		dur := g.between(time.Minute, 9*time.Minute)
		lo, _ := slices.BinarySearchFunc(g.approved, t0-3*int64(time.Hour), func(v *gev, t int64) int { return compareInt64(v.t, t) })
		hi, _ := slices.BinarySearchFunc(g.approved, t0, func(v *gev, t int64) int { return compareInt64(v.t, t) })
		if hi <= lo {
			continue
		}
		errKind := g.rng.IntN(len(errorTexts))
		mixed := g.rng.Float64() < 0.2
		var burst []*gev
		for j := range k {
			p := g.approved[lo+g.rng.IntN(hi-lo)]
			ek := errKind
			if mixed {
				ek = g.rng.IntN(len(errorTexts))
			}
			at := t0 + g.rng.Int64N(dur)
			if j == 0 {
				at = t0
			}
			burst = append(burst, g.deadPosting(p, at, g.errorText(ek, p)))
		}
		g.newIncident(burst, "dead_posting_burst", DeadPostingBurst)
	}
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// --- output ----------------------------------------------------------------------------------

// finish sorts everything by time, hands out ids and references in that order, resolves parents
// and emits the events from Start.
func (g *gen) finish() []Labelled {
	slices.SortStableFunc(g.events, func(a, b *gev) int {
		if c := compareInt64(a.t, b.t); c != 0 {
			return c
		}
		return a.seq - b.seq
	})
	pid, posting, line, refs := int64(1_000_000), int64(5_000_000), int64(9_000_000), 0
	for _, v := range g.events {
		switch v.class {
		case 0:
			pid++
			v.e.PaymentID = pid
			if v.ref != nil {
				if v.ref.n == 0 {
					refs++
					v.ref.n = refs
				}
				v.e.Reference = fmt.Sprintf("SO%07d", 1_000_000+v.ref.n)
			}
		case 1:
			posting++
			v.e.SubjectID = posting
		case 2:
			line++
			v.e.SubjectID = line
		}
	}
	out := make([]Labelled, 0, len(g.events))
	for _, v := range g.events {
		if v.parent != nil {
			v.e.ParentPaymentID = v.parent.e.PaymentID
			v.e.Reference = v.parent.e.Reference
			if v.e.Kind == EventRefund {
				v.e.Amount = v.parent.e.Amount.Mul(decimal.NewFromFloat(v.frac)).Round(2)
				if !v.e.Amount.IsPositive() {
					v.e.Amount = decimal.New(1, -2)
				}
			} else {
				v.e.Amount = v.parent.e.Amount
			}
		}
		if v.pay != nil {
			v.e.PaymentID = v.pay.e.PaymentID
		}
		if v.t < g.start || v.t >= g.end {
			continue
		}
		v.e.At = time.Unix(0, v.t).UTC()
		out = append(out, Labelled{Event: v.e, Labels: v.labels, Warmup: v.t < g.labelStart, Incident: v.incident, Scenario: v.scenario})
	}
	return out
}

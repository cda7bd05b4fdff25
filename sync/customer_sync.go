package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/payhub/payhub/connectors/cybersource"
	"github.com/payhub/payhub/connectors/syspro"
	"github.com/payhub/payhub/db"
)

// CustomerProfiles is what customer sync needs of Cybersource TMS; *cybersource.Client has it.
type CustomerProfiles interface {
	CreateCustomer(ctx context.Context, r cybersource.CustomerRequest) (*cybersource.Customer, error)
	GetCustomer(ctx context.Context, id string) (*cybersource.Customer, error)
	UpdateCustomer(ctx context.Context, id string, r cybersource.CustomerRequest) (*cybersource.Customer, error)
}

// Customer sync keeps the canonical customer, SYSPRO's AR customer (ARSQRY, ARSSCS) and the
// Cybersource TMS customer in step. Every field has one owner:
//
//	field            owner                        SYSPRO (ARSQRY / ARSSCS)       Cybersource TMS
//	name             SYSPRO                       Name: pulled                   not a TMS customer field
//	currency         SYSPRO                       Currency: pulled               -
//	on_hold          SYSPRO (credit status)       CustomerOnHold: pulled         -
//	billing_address  SYSPRO, once it has one      SoldToAddr1..5, SoldPostalCode -
//	email            gateway/shop (canonical)     Email: pushed                  buyerInformation.email: pushed
//	phone            gateway/shop (canonical)     Telephone: pushed              -
//	code             canonical (= SYSPRO code)    the key                        merchantCustomerID: pushed
//
// The owner's value wins wherever the two sides differ, with one exception: a side without a
// value takes the other's, whoever owns the field (SYSPRO without an address gets the canonical
// one; a canonical customer without an e-mail takes SYSPRO's or TMS's). SYSPRO's hold flag maps to
// status on_hold/active; a closed customer (a hub-only status) is left closed.
//
// A field both sides changed since the last sync (the values they agreed on then are kept in
// customer_links.synced_fields) is a conflict: the owner still wins, and the disagreement is
// recorded once in customer_sync_conflicts with a customer.sync_conflict event, for an operator
// to review. Changes applied to either side emit customer.updated. The canonical changes, the
// conflicts, the new base and the events of one customer and system commit in one transaction;
// the push to SYSPRO or TMS happens just before it, and a push lost to a failed transaction is
// found in agreement at the next run.
//
// Which customers: those linked to SYSPRO (customer_links system syspro; the link is added at the
// first sync of a customer with an order in SYSPRO, external id = customers.code), and those
// linked to a TMS customer (system cybersource, external id = TMS customer id). Every
// StatusInterval the periodic job customer_sync queues a customer_sync_customer job for the
// customerSyncBatch customers compared longest ago.
//
// Leaves ARSQRY does not report (its contact and address leaves are unconfirmed, syspro.md §3.6),
// and an empty name or currency, are treated as unknown, never as empty: nothing is pushed or
// pulled for them, so an installation whose ARSQRY leaves them out is never overwritten.
//
// TMS customers are not created here. TMS creates one when a card is stored (TOKEN_CREATE at
// checkout), which is when a profile has a purpose; a TMS customer without a payment instrument
// is of no use, and creating one for every SYSPRO account customer (most pay on invoice) would
// copy personal data to the gateway for nothing. The link to an existing TMS customer is made
// where the token is seen (normalisation); from then on this sync keeps its e-mail and
// merchantCustomerID current. A TMS customer has no name field (names live on payment
// instruments' billTo, card data entered at checkout), so the name is not pushed.

// customerSyncBatch bounds the customers one sync round queues.
const customerSyncBatch = 200

// Customer fields that sync compares (customer_sync_conflicts.field).
const (
	fieldName           = "name"
	fieldEmail          = "email"
	fieldPhone          = "phone"
	fieldCurrency       = "currency"
	fieldOnHold         = "on_hold"
	fieldBillingAddress = "billing_address"
)

// Systems of customer_links that customer sync talks to.
const (
	systemSyspro      = "syspro"
	systemCybersource = "cybersource"
	winnerCanonical   = "canonical"
)

// fieldRule is how one field is merged between the canonical customer and one other system.
type fieldRule struct {
	field string
	// canonicalOwns says the canonical value wins a disagreement; otherwise the other system's does.
	canonicalOwns bool
	// equal compares two values; nil is exact equality.
	equal func(a, b string) bool
}

func (r fieldRule) same(a, b string) bool {
	if r.equal != nil {
		return r.equal(a, b)
	}
	return a == b
}

func sameEmail(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

var sysproFieldRules = []fieldRule{
	{field: fieldName},
	{field: fieldCurrency},
	{field: fieldOnHold},
	{field: fieldBillingAddress},
	{field: fieldEmail, canonicalOwns: true, equal: sameEmail},
	{field: fieldPhone, canonicalOwns: true},
}

var tmsFieldRules = []fieldRule{
	{field: fieldEmail, canonicalOwns: true, equal: sameEmail},
}

// fieldChange is one field's move on one side.
type fieldChange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// fieldConflict is a field both sides changed since they last agreed.
type fieldConflict struct {
	field, canonical, other, base, winner string
}

// customerMerge is what merging one customer with one system decided.
type customerMerge struct {
	canonical map[string]fieldChange // to apply to the canonical customer
	other     map[string]fieldChange // to push to the other system
	agreed    map[string]string      // the new base, once the push succeeded
	conflicts []fieldConflict
}

// mergeCustomerFields compares the canonical values with the other system's against the base
// (the values they agreed on last time; nil before the first sync). A field missing from other is
// one that system did not report, and one missing from canonical does not take part; both keep
// their base.
func mergeCustomerFields(rules []fieldRule, system string, base, canonical, other map[string]string) customerMerge {
	m := customerMerge{canonical: map[string]fieldChange{}, other: map[string]fieldChange{}, agreed: map[string]string{}}
	for _, r := range rules {
		cv, cok := canonical[r.field]
		ov, ook := other[r.field]
		if !cok || !ook {
			if b, ok := base[r.field]; ok {
				m.agreed[r.field] = b
			}
			continue
		}
		if r.same(cv, ov) {
			m.agreed[r.field] = ov
			continue
		}
		canonicalWins := r.canonicalOwns
		switch {
		case canonicalWins && cv == "" && ov != "":
			canonicalWins = false
		case !canonicalWins && ov == "" && cv != "":
			canonicalWins = true
		}
		if b, known := base[r.field]; known && !r.same(cv, b) && !r.same(ov, b) {
			winner := system
			if canonicalWins {
				winner = winnerCanonical
			}
			m.conflicts = append(m.conflicts, fieldConflict{field: r.field, canonical: cv, other: ov, base: b, winner: winner})
		}
		if canonicalWins {
			m.other[r.field] = fieldChange{From: ov, To: cv}
			m.agreed[r.field] = cv
		} else {
			m.canonical[r.field] = fieldChange{From: cv, To: ov}
			m.agreed[r.field] = ov
		}
	}
	return m
}

// keepBase undoes, in the new base, the fields whose push failed: they still differ.
func (m *customerMerge) keepBase(base map[string]string) {
	for f := range m.other {
		if b, ok := base[f]; ok {
			m.agreed[f] = b
		} else {
			delete(m.agreed, f)
		}
	}
	m.other = map[string]fieldChange{}
}

// canonicalSyncValues are the canonical customer's values in the form sync compares.
func canonicalSyncValues(c db.Customer) map[string]string {
	lines, postal := sysproAddress(c.BillingAddress)
	v := map[string]string{
		fieldName:           c.Name,
		fieldEmail:          strings.TrimSpace(deref(c.Email)),
		fieldPhone:          strings.TrimSpace(deref(c.Phone)),
		fieldCurrency:       strings.TrimSpace(c.Currency),
		fieldBillingAddress: addressValue(lines, postal),
	}
	if c.Status != "closed" {
		v[fieldOnHold] = holdFlag(c.Status == "on_hold")
	}
	return v
}

// sysproSyncValues are SYSPRO's values of the fields it reported.
func sysproSyncValues(acc *syspro.CustomerAccount) map[string]string {
	v := map[string]string{fieldOnHold: holdFlag(acc.OnHold)}
	if name := strings.TrimSpace(acc.Name); name != "" {
		v[fieldName] = name
	}
	if cur := strings.ToUpper(strings.TrimSpace(acc.Currency)); len(cur) == 3 {
		v[fieldCurrency] = cur
	}
	if acc.Reported.Email {
		v[fieldEmail] = strings.TrimSpace(acc.Email)
	}
	if acc.Reported.Telephone {
		v[fieldPhone] = strings.TrimSpace(acc.Telephone)
	}
	if acc.Reported.SoldTo {
		v[fieldBillingAddress] = addressValue(acc.SoldToAddr, acc.SoldPostalCode)
	}
	return v
}

// addressValue is an address as sync compares it: SYSPRO's lines without the empty ones, each cut
// to 40 characters, and the postcode in upper case, as JSON; "" when there is nothing.
func addressValue(lines [5]string, postal string) string {
	a := struct {
		Lines      []string `json:"lines"`
		PostalCode string   `json:"postalCode,omitempty"`
	}{Lines: []string{}, PostalCode: strings.ToUpper(strings.TrimSpace(postal))}
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			a.Lines = append(a.Lines, truncate(l, 40))
		}
	}
	if len(a.Lines) == 0 && a.PostalCode == "" {
		return ""
	}
	b, _ := json.Marshal(a)
	return string(b)
}

// addressKeys are the canonical address keys in the order sysproAddress lays them on SYSPRO's lines.
var addressKeys = []string{"line1", "line2", "city", "region", "country"}

// canonicalAddressFromSyspro writes SYSPRO's sold-to address into the canonical address JSON,
// keeping its other keys. SYSPRO's lines go to the keys the canonical address already fills when
// they are as many (an address that only moved keeps its shape), else line by line to line1,
// line2, city, region and country.
func canonicalAddressFromSyspro(current []byte, lines [5]string, postal string) ([]byte, error) {
	addr := map[string]any{}
	if len(current) > 0 {
		if err := json.Unmarshal(current, &addr); err != nil || addr == nil {
			addr = map[string]any{}
		}
	}
	var filled []string
	for _, k := range addressKeys {
		if s, _ := addr[k].(string); strings.TrimSpace(s) != "" {
			filled = append(filled, k)
		}
	}
	var values []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			values = append(values, l)
		}
	}
	for _, k := range addressKeys {
		delete(addr, k)
	}
	if len(filled) == len(values) {
		for i, k := range filled {
			addr[k] = values[i]
		}
	} else {
		for i, l := range lines {
			if l = strings.TrimSpace(l); l != "" {
				addr[addressKeys[i]] = l
			}
		}
	}
	if p := strings.TrimSpace(postal); p != "" {
		addr["postalCode"] = p
	} else {
		delete(addr, "postalCode")
	}
	return json.Marshal(addr)
}

// holdFlag is the on_hold field's value: SYSPRO's CustomerOnHold flag.
func holdFlag(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

// customerSyncArgs is the periodic sync round.
type customerSyncArgs struct{}

func (customerSyncArgs) Kind() string { return "customer_sync" }

func (customerSyncArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByState: waitingStates}}
}

// customerSyncOneArgs syncs one customer. One such job per customer waits at a time; one that
// keeps failing gives up early, as the next round queues the customer again.
type customerSyncOneArgs struct {
	CustomerID int64 `json:"customerId"`
}

func (customerSyncOneArgs) Kind() string { return "customer_sync_customer" }

func (customerSyncOneArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: waitingStates}}
}

// registerCustomerSync adds the customer synchronisation jobs.
func (e *Engine) registerCustomerSync(r *registry) {
	if e.cfg.Syspro == nil && e.cfg.Profiles == nil {
		return
	}
	river.AddWorker(r.workers, &customerSyncWorker{engine: e})
	river.AddWorker(r.workers, &customerSyncOneWorker{engine: e})
	r.every(e.cfg.StatusInterval, customerSyncArgs{})
	r.working = true
}

// customerSyncQueue is where a customer's sync runs: the SYSPRO queue when it calls SYSPRO.
func (e *Engine) customerSyncQueue() string {
	if e.cfg.Syspro != nil {
		return QueueSyspro
	}
	return river.QueueDefault
}

type customerSyncWorker struct {
	river.WorkerDefaults[customerSyncArgs]
	engine *Engine
}

// Work queues a sync of the customers compared longest ago.
func (w *customerSyncWorker) Work(ctx context.Context, _ *river.Job[customerSyncArgs]) error {
	e := w.engine
	ids, err := e.queries.ListCustomersDueForSync(ctx, db.ListCustomersDueForSyncParams{
		WithSyspro: e.cfg.Syspro != nil, WithTms: e.cfg.Profiles != nil, RowLimit: customerSyncBatch,
	})
	if err != nil {
		return fmt.Errorf("sync: customers to sync: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	opts := &river.InsertOpts{Queue: e.customerSyncQueue()}
	params := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		params[i] = river.InsertManyParams{Args: customerSyncOneArgs{CustomerID: id}, InsertOpts: opts}
	}
	return e.inTx(ctx, func(tx pgx.Tx, _ *db.Queries) error {
		if _, err := e.river.InsertManyTx(ctx, tx, params); err != nil {
			return fmt.Errorf("sync: queue customer syncs: %w", err)
		}
		return nil
	})
}

type customerSyncOneWorker struct {
	river.WorkerDefaults[customerSyncOneArgs]
	engine *Engine
}

func (w *customerSyncOneWorker) Timeout(*river.Job[customerSyncOneArgs]) time.Duration {
	return w.engine.jobTimeout(2 * time.Minute)
}

func (w *customerSyncOneWorker) Work(ctx context.Context, job *river.Job[customerSyncOneArgs]) error {
	err := w.engine.SyncCustomer(ctx, job.Args.CustomerID)
	if isPermanent(err) {
		return river.JobCancel(err)
	}
	return err
}

// errCustomerMoved is a canonical customer changed by someone else during its sync.
var errCustomerMoved = errors.New("sync: the customer changed during its sync")

// customerSyncTries bounds the runs of one side of a sync that lose to concurrent changes.
const customerSyncTries = 3

// SyncCustomer synchronises one customer now with SYSPRO and Cybersource TMS, whichever of them
// are configured here and linked (see the ownership notes above). SYSPRO goes first, so that TMS
// gets what SYSPRO settled. An error of one system does not stop the other.
func (e *Engine) SyncCustomer(ctx context.Context, customerID int64) error {
	if e.cfg.Syspro == nil && e.cfg.Profiles == nil {
		return permanent(errors.New("sync: neither SYSPRO nor Cybersource TMS is configured here"))
	}
	var errs []error
	if e.cfg.Syspro != nil {
		errs = append(errs, e.retryMoved(ctx, customerID, e.syncSysproCustomer))
	}
	if e.cfg.Profiles != nil {
		errs = append(errs, e.retryMoved(ctx, customerID, e.syncTmsCustomers))
	}
	return errors.Join(errs...)
}

// retryMoved runs one side of a sync again when the customer changed meanwhile.
func (e *Engine) retryMoved(ctx context.Context, customerID int64, side func(context.Context, db.Customer, []db.CustomerLink) error) error {
	for try := 1; ; try++ {
		c, err := e.queries.GetCustomer(ctx, customerID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("sync: load customer %d: %w", customerID, err)
		}
		links, err := e.queries.ListCustomerLinks(ctx, customerID)
		if err != nil {
			return fmt.Errorf("sync: links of customer %d: %w", customerID, err)
		}
		err = side(ctx, c, links)
		if !errors.Is(err, errCustomerMoved) || try == customerSyncTries {
			return err
		}
	}
}

// syncSysproCustomer merges the customer with its SYSPRO account.
func (e *Engine) syncSysproCustomer(ctx context.Context, c db.Customer, links []db.CustomerLink) error {
	var link *db.CustomerLink
	for i := range links {
		if links[i].System == systemSyspro {
			link = &links[i]
			break
		}
	}
	code := c.Code
	if link != nil {
		code = link.ExternalID
	} else {
		has, err := e.queries.CustomerHasSysproOrders(ctx, &c.ID)
		if err != nil {
			return fmt.Errorf("sync: orders of customer %s: %w", c.Code, err)
		}
		if !has {
			return nil // not in SYSPRO as far as the hub knows: the posting of its first order adds it
		}
	}
	acc, err := e.cfg.Syspro.QueryCustomer(ctx, code)
	if err != nil {
		if !syspro.IsBusiness(err) {
			return fmt.Errorf("sync: ARSQRY %s: %w", code, err)
		}
		cause := err
		return e.inTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
			l, err := q.EnsureCustomerLink(ctx, db.EnsureCustomerLinkParams{CustomerID: c.ID, System: systemSyspro, ExternalID: code})
			if err != nil {
				return fmt.Errorf("sync: link customer %s to SYSPRO: %w", c.Code, err)
			}
			if _, err := q.MarkCustomerLinkSynced(ctx, db.MarkCustomerLinkSyncedParams{ID: l.ID}); err != nil {
				return err
			}
			return raiseAnomaly(ctx, q, anomaly{
				kind: "syspro_customer_missing", severity: "warning", subjectType: "customer", subjectID: c.ID,
				dedupeKey: fmt.Sprintf("syspro_customer_missing:%d", c.ID),
				summary:   fmt.Sprintf("SYSPRO does not know customer %s", code),
				details:   map[string]any{"code": code, "error": cause.Error()},
			})
		})
	}
	var base map[string]string
	if link != nil {
		base = decodeSyncedFields(link.SyncedFields)
	}
	m := mergeCustomerFields(sysproFieldRules, systemSyspro, base, canonicalSyncValues(c), sysproSyncValues(acc))
	var refused error
	if len(m.other) > 0 {
		setup := syspro.CustomerSetup{Customer: code}
		for f, ch := range m.other {
			switch f {
			case fieldName:
				setup.Name = ch.To
			case fieldCurrency:
				setup.Currency = ch.To
			case fieldEmail:
				setup.Email = ch.To
			case fieldPhone:
				setup.Telephone = ch.To
			case fieldBillingAddress:
				setup.SoldToAddr, setup.SoldPostalCode = sysproAddress(c.BillingAddress)
			}
		}
		if _, err := e.cfg.Syspro.UpdateCustomer(ctx, setup); err != nil {
			if !syspro.IsBusiness(err) {
				return fmt.Errorf("sync: ARSSCS update of %s: %w", code, err)
			}
			refused = err
		}
	}
	return e.inTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		if refused != nil {
			if err := raiseAnomaly(ctx, q, anomaly{
				kind: "customer_sync_refused", severity: "warning", subjectType: "customer", subjectID: c.ID,
				dedupeKey: fmt.Sprintf("customer_sync_refused:%d:syspro", c.ID),
				summary:   fmt.Sprintf("SYSPRO refused the update of customer %s: %v", code, refused),
				details:   map[string]any{"code": code, "fields": m.other, "error": refused.Error()},
			}); err != nil {
				return err
			}
			m.keepBase(base)
		}
		l := link
		if l == nil {
			nl, err := q.EnsureCustomerLink(ctx, db.EnsureCustomerLinkParams{CustomerID: c.ID, System: systemSyspro, ExternalID: code})
			if err != nil {
				return fmt.Errorf("sync: link customer %s to SYSPRO: %w", c.Code, err)
			}
			l = &nl
		}
		return e.recordCustomerMerge(ctx, q, c, *l, m, func(cur db.Customer) (db.UpdateCustomerSyncedFieldsParams, error) {
			return applySysproFields(cur, m.canonical, acc)
		})
	})
}

// applySysproFields writes the changes SYSPRO won onto the customer's row.
func applySysproFields(cur db.Customer, changes map[string]fieldChange, acc *syspro.CustomerAccount) (db.UpdateCustomerSyncedFieldsParams, error) {
	p := updateParamsOf(cur)
	for f, ch := range changes {
		switch f {
		case fieldName:
			p.Name = ch.To
		case fieldCurrency:
			p.Currency = ch.To
		case fieldEmail:
			p.Email = nonEmpty(ch.To)
		case fieldPhone:
			p.Phone = nonEmpty(ch.To)
		case fieldOnHold:
			switch {
			case ch.To == "Y":
				p.Status = "on_hold"
			case p.Status == "on_hold":
				p.Status = "active"
			}
		case fieldBillingAddress:
			addr, err := canonicalAddressFromSyspro(cur.BillingAddress, acc.SoldToAddr, acc.SoldPostalCode)
			if err != nil {
				return p, err
			}
			p.BillingAddress = addr
		}
	}
	return p, nil
}

func updateParamsOf(c db.Customer) db.UpdateCustomerSyncedFieldsParams {
	return db.UpdateCustomerSyncedFieldsParams{
		ID: c.ID, Name: c.Name, Email: c.Email, Phone: c.Phone, Currency: c.Currency,
		BillingAddress: c.BillingAddress, Status: c.Status,
	}
}

// syncTmsCustomers merges the customer with each TMS customer linked to it.
func (e *Engine) syncTmsCustomers(ctx context.Context, c db.Customer, links []db.CustomerLink) error {
	var errs []error
	for _, l := range links {
		if l.System != systemCybersource {
			continue
		}
		err := e.syncTmsCustomer(ctx, c, l)
		if errors.Is(err, errCustomerMoved) {
			return err
		}
		errs = append(errs, err)
		if err == nil {
			// Later links compare with what this one may have changed.
			if c, err = e.queries.GetCustomer(ctx, c.ID); err != nil {
				return err
			}
		}
	}
	return errors.Join(errs...)
}

// syncTmsCustomer merges the customer with one TMS customer.
func (e *Engine) syncTmsCustomer(ctx context.Context, c db.Customer, link db.CustomerLink) error {
	prof, err := e.cfg.Profiles.GetCustomer(ctx, link.ExternalID)
	if err != nil {
		if !cybersource.IsNotFound(err) {
			return fmt.Errorf("sync: TMS customer %s: %w", link.ExternalID, err)
		}
		cause := err
		return e.inTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
			if _, err := q.MarkCustomerLinkSynced(ctx, db.MarkCustomerLinkSyncedParams{ID: link.ID}); err != nil {
				return err
			}
			return raiseAnomaly(ctx, q, anomaly{
				kind: "tms_customer_missing", severity: "warning", subjectType: "customer", subjectID: c.ID,
				dedupeKey: fmt.Sprintf("tms_customer_missing:%d", link.ID),
				summary:   fmt.Sprintf("Cybersource TMS no longer has customer %s of %s", link.ExternalID, c.Code),
				details:   map[string]any{"code": c.Code, "tmsCustomerId": link.ExternalID, "error": cause.Error()},
			})
		})
	}
	base := decodeSyncedFields(link.SyncedFields)
	other := map[string]string{fieldEmail: strings.TrimSpace(prof.BuyerInformation.Email)}
	m := mergeCustomerFields(tmsFieldRules, systemCybersource, base, canonicalSyncValues(c), other)
	var req cybersource.CustomerRequest
	if ch, ok := m.other[fieldEmail]; ok {
		req.Email = ch.To
	}
	if prof.BuyerInformation.MerchantCustomerID != c.Code {
		req.MerchantCustomerID = c.Code
		m.other["merchantCustomerId"] = fieldChange{From: prof.BuyerInformation.MerchantCustomerID, To: c.Code}
	}
	var refused error
	if req != (cybersource.CustomerRequest{}) {
		if _, err := e.cfg.Profiles.UpdateCustomer(ctx, link.ExternalID, req); err != nil {
			if !cybersource.IsInvalidRequest(err) {
				return fmt.Errorf("sync: update TMS customer %s: %w", link.ExternalID, err)
			}
			refused = err
		}
	}
	return e.inTx(ctx, func(_ pgx.Tx, q *db.Queries) error {
		if refused != nil {
			if err := raiseAnomaly(ctx, q, anomaly{
				kind: "customer_sync_refused", severity: "warning", subjectType: "customer", subjectID: c.ID,
				dedupeKey: fmt.Sprintf("customer_sync_refused:%d:cybersource:%s", c.ID, link.ExternalID),
				summary:   fmt.Sprintf("Cybersource TMS refused the update of customer %s (%s): %v", link.ExternalID, c.Code, refused),
				details:   map[string]any{"code": c.Code, "tmsCustomerId": link.ExternalID, "fields": m.other, "error": refused.Error()},
			}); err != nil {
				return err
			}
			m.keepBase(base)
		}
		return e.recordCustomerMerge(ctx, q, c, link, m, func(cur db.Customer) (db.UpdateCustomerSyncedFieldsParams, error) {
			p := updateParamsOf(cur)
			if ch, ok := m.canonical[fieldEmail]; ok {
				p.Email = nonEmpty(ch.To)
			}
			return p, nil
		})
	})
}

// recordCustomerMerge commits one merge in the caller's transaction: the conflicts (each once),
// the canonical changes, the new base of the link and the events. It fails with errCustomerMoved
// when the customer changed since c was read, as the merge was decided on c.
func (e *Engine) recordCustomerMerge(ctx context.Context, q *db.Queries, c db.Customer, link db.CustomerLink, m customerMerge,
	apply func(db.Customer) (db.UpdateCustomerSyncedFieldsParams, error)) error {
	cur, err := q.LockCustomer(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("sync: lock customer %s: %w", c.Code, err)
	}
	if !cur.UpdatedAt.Equal(c.UpdatedAt) {
		return errCustomerMoved
	}
	for _, cf := range m.conflicts {
		row, err := q.RecordCustomerSyncConflict(ctx, db.RecordCustomerSyncConflictParams{
			CustomerID: c.ID, Field: cf.field, System: link.System, CanonicalValue: cf.canonical,
			OtherValue: cf.other, BaseValue: &cf.base, Winner: cf.winner,
		})
		if errors.Is(err, pgx.ErrNoRows) {
			continue // the same disagreement is recorded and not yet reviewed
		}
		if err != nil {
			return fmt.Errorf("sync: record conflict on %s of %s: %w", cf.field, c.Code, err)
		}
		if err := appendEvent(ctx, q, TopicCustomer, "customer.sync_conflict", "customer", c.ID, map[string]any{
			"conflictId": row.ID, "customerId": c.ID, "code": c.Code, "field": cf.field, "system": link.System,
			"externalId": link.ExternalID, "canonicalValue": cf.canonical, "otherValue": cf.other, "baseValue": cf.base,
			"winner": cf.winner,
		}); err != nil {
			return err
		}
	}
	if len(m.canonical) > 0 {
		p, err := apply(cur)
		if err != nil {
			return fmt.Errorf("sync: apply %s fields to customer %s: %w", link.System, c.Code, err)
		}
		if _, err := q.UpdateCustomerSyncedFields(ctx, p); err != nil {
			return fmt.Errorf("sync: update customer %s from %s: %w", c.Code, link.System, err)
		}
	}
	fields, err := json.Marshal(m.agreed)
	if err != nil {
		return err
	}
	if _, err := q.MarkCustomerLinkSynced(ctx, db.MarkCustomerLinkSyncedParams{ID: link.ID, SyncedFields: fields}); err != nil {
		return fmt.Errorf("sync: record sync of customer %s with %s: %w", c.Code, link.System, err)
	}
	if len(m.canonical) == 0 && len(m.other) == 0 {
		return nil
	}
	return appendEvent(ctx, q, TopicCustomer, "customer.updated", "customer", c.ID, map[string]any{
		"customerId": c.ID, "code": c.Code, "system": link.System, "externalId": link.ExternalID,
		"changes": m.canonical, "pushed": m.other,
	})
}

// decodeSyncedFields reads a link's base; nil (no base) when it has none or it does not parse.
func decodeSyncedFields(raw []byte) map[string]string {
	if len(raw) == 0 {
		return nil
	}
	var m map[string]string
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

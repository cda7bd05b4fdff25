package cybersourcesim

import (
	"net/http"
	"net/mail"
	"strings"
	"time"
)

// Token Management Service (protocol doc §9): customers, payment instruments and instrument
// identifiers. Ids are 32 upper-case hex characters, instrument identifiers 19 digits ending in
// the card's last four. Errors are {"errors":[{"type","message","details"}]}; a deleted token
// answers 410, an unknown one 404; DELETE answers 204.

// Customer is a TMS customer token.
type Customer struct {
	ID                         string    `json:"id"`
	MerchantCustomerID         string    `json:"merchantCustomerId,omitempty"`
	Email                      string    `json:"email,omitempty"`
	ClientReferenceCode        string    `json:"clientReferenceCode,omitempty"`
	DefaultPaymentInstrumentID string    `json:"defaultPaymentInstrumentId,omitempty"`
	CreatedAt                  time.Time `json:"createdAt"`
	Deleted                    bool      `json:"deleted,omitempty"`
}

// PaymentInstrument is a TMS payment instrument: a card's expiry and billing address over an
// instrument identifier, owned by a customer or stand-alone.
type PaymentInstrument struct {
	ID                     string      `json:"id"`
	CustomerID             string      `json:"customerId,omitempty"`
	InstrumentIdentifierID string      `json:"instrumentIdentifierId"`
	Card                   CardSummary `json:"card"`
	BillTo                 *Address    `json:"billTo,omitempty"`
	Default                bool        `json:"default,omitempty"`
	State                  string      `json:"state"`
	CreatedAt              time.Time   `json:"createdAt"`
	Deleted                bool        `json:"deleted,omitempty"`
}

// InstrumentIdentifier is a TMS instrument identifier: a tokenized card number, shown masked.
type InstrumentIdentifier struct {
	ID        string      `json:"id"`
	Card      CardSummary `json:"card"`
	State     string      `json:"state"`
	CreatedAt time.Time   `json:"createdAt"`
	Deleted   bool        `json:"deleted,omitempty"`
}

const tokenActive = "ACTIVE"

// Request bodies.
type customerIn struct {
	BuyerInformation *struct {
		MerchantCustomerID *string `json:"merchantCustomerID"`
		Email              *string `json:"email"`
	} `json:"buyerInformation"`
	ClientReferenceInformation *struct {
		Code string `json:"code"`
	} `json:"clientReferenceInformation"`
	DefaultPaymentInstrument *idIn `json:"defaultPaymentInstrument"`
}

type instrumentIn struct {
	Default *bool `json:"default"`
	Card    *struct {
		ExpirationMonth string `json:"expirationMonth"`
		ExpirationYear  string `json:"expirationYear"`
		Type            string `json:"type"`
	} `json:"card"`
	BillTo               *Address `json:"billTo"`
	InstrumentIdentifier *struct {
		ID   string `json:"id"`
		Card *struct {
			Number string `json:"number"`
		} `json:"card"`
	} `json:"instrumentIdentifier"`
}

type identifierIn struct {
	Card *struct {
		Number string `json:"number"`
	} `json:"card"`
}

// --- customers ---

func (s *Server) handleCreateCustomer(w http.ResponseWriter, r *http.Request, body []byte) {
	var in customerIn
	if e := decodeJSON(s.clock.Now(), body, &in); e != nil {
		writeAPIError(w, tmsError(http.StatusBadRequest, tmsInvalidFields, "The request body is not valid JSON"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &Customer{}
	if e := s.applyCustomer(c, &in); e != nil {
		writeAPIError(w, e)
		return
	}
	c.ID, c.CreatedAt = s.newTokenID(), s.clock.Now()
	s.state.customers[c.ID] = c
	s.state.customerOrder = append(s.state.customerOrder, c.ID)
	writeHAL(w, http.StatusCreated, s.customerView(c))
}

func (s *Server) handleGetCustomer(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.customer(pathID(r, "id"))
	if e != nil {
		writeAPIError(w, e)
		return
	}
	writeHAL(w, http.StatusOK, s.customerView(c))
}

func (s *Server) handlePatchCustomer(w http.ResponseWriter, r *http.Request, body []byte) {
	var in customerIn
	if e := decodeJSON(s.clock.Now(), body, &in); e != nil {
		writeAPIError(w, tmsError(http.StatusBadRequest, tmsInvalidFields, "The request body is not valid JSON"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.customer(pathID(r, "id"))
	if e != nil {
		writeAPIError(w, e)
		return
	}
	next := *c
	if e := s.applyCustomer(&next, &in); e != nil {
		writeAPIError(w, e)
		return
	}
	if in.DefaultPaymentInstrument != nil {
		pi := s.state.instruments[in.DefaultPaymentInstrument.ID]
		if pi == nil || pi.Deleted || pi.CustomerID != c.ID {
			writeAPIError(w, tmsError(http.StatusBadRequest, tmsInvalidFields, "The default payment instrument must be one of the customer's", "defaultPaymentInstrument.id"))
			return
		}
		s.setDefaultInstrument(&next, pi)
	}
	*c = next
	writeHAL(w, http.StatusOK, s.customerView(c))
}

func (s *Server) handleDeleteCustomer(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.customer(pathID(r, "id"))
	if e != nil {
		writeAPIError(w, e)
		return
	}
	c.Deleted = true
	for _, id := range s.state.instrumentOrder {
		if pi := s.state.instruments[id]; pi.CustomerID == c.ID {
			pi.Deleted = true
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// applyCustomer validates and copies the fields of in onto c.
func (s *Server) applyCustomer(c *Customer, in *customerIn) *apiError {
	if b := in.BuyerInformation; b != nil {
		if b.Email != nil {
			if *b.Email != "" {
				if _, err := mail.ParseAddress(*b.Email); err != nil || !strings.Contains(*b.Email, "@") {
					return tmsError(http.StatusBadRequest, tmsInvalidFields, "Invalid e-mail address", "buyerInformation.email")
				}
			}
			c.Email = *b.Email
		}
		if b.MerchantCustomerID != nil {
			if len(*b.MerchantCustomerID) > 100 {
				return tmsError(http.StatusBadRequest, tmsInvalidFields, "merchantCustomerID is longer than 100 characters", "buyerInformation.merchantCustomerID")
			}
			c.MerchantCustomerID = *b.MerchantCustomerID
		}
	}
	if in.ClientReferenceInformation != nil {
		c.ClientReferenceCode = in.ClientReferenceInformation.Code
	}
	return nil
}

// customer finds a live customer: 404 when unknown, 410 when deleted.
func (s *Server) customer(id string) (*Customer, *apiError) {
	c := s.state.customers[id]
	switch {
	case c == nil:
		return nil, tmsError(http.StatusNotFound, tmsNotFound, "Customer not found: "+id)
	case c.Deleted:
		return nil, tmsError(http.StatusGone, tmsNotAvailable, "Customer has been deleted: "+id)
	}
	return c, nil
}

func (s *Server) customerView(c *Customer) obj {
	self := "/tms/v2/customers/" + c.ID
	v := obj{
		"_links": obj{"self": obj{"href": self}, "paymentInstruments": obj{"href": self + "/payment-instruments"},
			"shippingAddress": obj{"href": self + "/shipping-addresses"}},
		"id":               c.ID,
		"buyerInformation": obj{"merchantCustomerID": c.MerchantCustomerID, "email": c.Email},
		"metadata":         obj{"creator": s.opts.MerchantID},
	}
	if c.ClientReferenceCode != "" {
		v["clientReferenceInformation"] = obj{"code": c.ClientReferenceCode}
	}
	if pi := s.state.instruments[c.DefaultPaymentInstrumentID]; pi != nil && !pi.Deleted {
		v["defaultPaymentInstrument"] = obj{"id": pi.ID}
		v["_embedded"] = obj{"defaultPaymentInstrument": s.instrumentView(pi)}
	}
	return v
}

// --- payment instruments ---

func (s *Server) handleCreateCustomerInstrument(w http.ResponseWriter, r *http.Request, body []byte) {
	s.createInstrument(w, body, pathID(r, "id"))
}

func (s *Server) handleCreateInstrument(w http.ResponseWriter, r *http.Request, body []byte) {
	s.createInstrument(w, body, "")
}

// createInstrument makes a payment instrument, for a customer when customerID is set. The
// instrument identifier is named by id or made from instrumentIdentifier.card.number.
func (s *Server) createInstrument(w http.ResponseWriter, body []byte, customerID string) {
	var in instrumentIn
	if e := decodeJSON(s.clock.Now(), body, &in); e != nil {
		writeAPIError(w, tmsError(http.StatusBadRequest, tmsInvalidFields, "The request body is not valid JSON"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	var c *Customer
	if customerID != "" {
		var e *apiError
		if c, e = s.customer(customerID); e != nil {
			writeAPIError(w, e)
			return
		}
	}
	var missing []string
	if in.Card == nil || in.Card.ExpirationMonth == "" {
		missing = append(missing, "card.expirationMonth")
	}
	if in.Card == nil || in.Card.ExpirationYear == "" {
		missing = append(missing, "card.expirationYear")
	}
	if in.InstrumentIdentifier == nil || (in.InstrumentIdentifier.ID == "" && (in.InstrumentIdentifier.Card == nil || in.InstrumentIdentifier.Card.Number == "")) {
		missing = append(missing, "instrumentIdentifier.id")
	}
	if len(missing) > 0 {
		writeAPIError(w, tmsError(http.StatusBadRequest, tmsMissingFields, "One or more fields are missing", missing...))
		return
	}
	month, year, ok := normalizeExpiry(in.Card.ExpirationMonth, in.Card.ExpirationYear)
	if !ok {
		writeAPIError(w, tmsError(http.StatusBadRequest, tmsInvalidFields, "Invalid card expiration", "card.expirationMonth", "card.expirationYear"))
		return
	}
	var ii *InstrumentIdentifier
	if id := in.InstrumentIdentifier.ID; id != "" {
		var e *apiError
		if ii, e = s.identifier(id); e != nil {
			writeAPIError(w, tmsError(http.StatusBadRequest, tmsInvalidFields, "Unknown instrument identifier "+id, "instrumentIdentifier.id"))
			return
		}
	} else {
		var e *apiError
		if ii, _, e = s.tokenizeNumber(now, in.InstrumentIdentifier.Card.Number, "instrumentIdentifier.card.number"); e != nil {
			writeAPIError(w, e)
			return
		}
	}
	pi := s.newInstrument(now, c, ii, month, year, in.BillTo)
	if in.Default != nil && *in.Default && c != nil {
		s.setDefaultInstrument(c, pi)
	}
	writeHAL(w, http.StatusCreated, s.instrumentView(pi))
}

func (s *Server) handleListCustomerInstruments(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.customer(pathID(r, "id"))
	if e != nil {
		writeAPIError(w, e)
		return
	}
	list := []obj{}
	for _, id := range s.state.instrumentOrder {
		if pi := s.state.instruments[id]; pi.CustomerID == c.ID && !pi.Deleted {
			list = append(list, s.instrumentView(pi))
		}
	}
	self := "/tms/v2/customers/" + c.ID + "/payment-instruments"
	writeHAL(w, http.StatusOK, obj{"_links": obj{"self": obj{"href": self}}, "offset": 0, "limit": len(list),
		"count": len(list), "total": len(list), "_embedded": obj{"paymentInstruments": list}})
}

func (s *Server) handleGetCustomerInstrument(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, e := s.customerInstrument(pathID(r, "id"), pathID(r, "pi"))
	if e != nil {
		writeAPIError(w, e)
		return
	}
	writeHAL(w, http.StatusOK, s.instrumentView(pi))
}

func (s *Server) handleGetInstrument(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, e := s.instrument(pathID(r, "pi"))
	if e != nil {
		writeAPIError(w, e)
		return
	}
	writeHAL(w, http.StatusOK, s.instrumentView(pi))
}

func (s *Server) handlePatchCustomerInstrument(w http.ResponseWriter, r *http.Request, body []byte) {
	s.mu.Lock()
	pi, e := s.customerInstrument(pathID(r, "id"), pathID(r, "pi"))
	s.mu.Unlock()
	if e != nil {
		writeAPIError(w, e)
		return
	}
	s.patchInstrument(w, body, pi.ID)
}

func (s *Server) handlePatchInstrument(w http.ResponseWriter, r *http.Request, body []byte) {
	s.patchInstrument(w, body, pathID(r, "pi"))
}

// patchInstrument updates expiry, billTo and the default flag.
func (s *Server) patchInstrument(w http.ResponseWriter, body []byte, id string) {
	var in instrumentIn
	if e := decodeJSON(s.clock.Now(), body, &in); e != nil {
		writeAPIError(w, tmsError(http.StatusBadRequest, tmsInvalidFields, "The request body is not valid JSON"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, e := s.instrument(id)
	if e != nil {
		writeAPIError(w, e)
		return
	}
	month, year := pi.Card.ExpirationMonth, pi.Card.ExpirationYear
	if in.Card != nil && (in.Card.ExpirationMonth != "" || in.Card.ExpirationYear != "") {
		m, y := in.Card.ExpirationMonth, in.Card.ExpirationYear
		if m == "" {
			m = month
		}
		if y == "" {
			y = year
		}
		var ok bool
		if month, year, ok = normalizeExpiry(m, y); !ok {
			writeAPIError(w, tmsError(http.StatusBadRequest, tmsInvalidFields, "Invalid card expiration", "card.expirationMonth", "card.expirationYear"))
			return
		}
	}
	pi.Card.ExpirationMonth, pi.Card.ExpirationYear = month, year
	if in.BillTo != nil {
		b := *in.BillTo
		pi.BillTo = &b
	}
	if in.Default != nil && *in.Default {
		if c := s.state.customers[pi.CustomerID]; c != nil {
			s.setDefaultInstrument(c, pi)
		}
	}
	writeHAL(w, http.StatusOK, s.instrumentView(pi))
}

func (s *Server) handleDeleteCustomerInstrument(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, e := s.customerInstrument(pathID(r, "id"), pathID(r, "pi"))
	if e == nil {
		e = s.deleteInstrument(pi)
	}
	if e != nil {
		writeAPIError(w, e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleDeleteInstrument(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pi, e := s.instrument(pathID(r, "pi"))
	if e == nil {
		e = s.deleteInstrument(pi)
	}
	if e != nil {
		writeAPIError(w, e)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteInstrument refuses (409) to delete a customer's default instrument while the customer has
// others.
func (s *Server) deleteInstrument(pi *PaymentInstrument) *apiError {
	if c := s.state.customers[pi.CustomerID]; c != nil && c.DefaultPaymentInstrumentID == pi.ID {
		for _, id := range s.state.instrumentOrder {
			if o := s.state.instruments[id]; o.ID != pi.ID && o.CustomerID == c.ID && !o.Deleted {
				return tmsError(http.StatusConflict, tmsConflict, "The default payment instrument cannot be deleted while the customer has other payment instruments; make another one the default first")
			}
		}
		c.DefaultPaymentInstrumentID = ""
	}
	pi.Deleted = true
	pi.Default = false
	return nil
}

// instrument finds a live payment instrument: 404 when unknown, 410 when deleted.
func (s *Server) instrument(id string) (*PaymentInstrument, *apiError) {
	pi := s.state.instruments[id]
	switch {
	case pi == nil:
		return nil, tmsError(http.StatusNotFound, tmsNotFound, "Payment instrument not found: "+id)
	case pi.Deleted:
		return nil, tmsError(http.StatusGone, tmsNotAvailable, "Payment instrument has been deleted: "+id)
	}
	return pi, nil
}

// customerInstrument finds a live payment instrument of a live customer.
func (s *Server) customerInstrument(customerID, id string) (*PaymentInstrument, *apiError) {
	if _, e := s.customer(customerID); e != nil {
		return nil, e
	}
	pi, e := s.instrument(id)
	if e != nil {
		return nil, e
	}
	if pi.CustomerID != customerID {
		return nil, tmsError(http.StatusNotFound, tmsNotFound, "Payment instrument not found for this customer: "+id)
	}
	return pi, nil
}

// newInstrument stores a payment instrument; a customer's first becomes its default.
func (s *Server) newInstrument(now time.Time, c *Customer, ii *InstrumentIdentifier, month, year string, billTo *Address) *PaymentInstrument {
	card := ii.Card
	card.ExpirationMonth, card.ExpirationYear = month, year
	pi := &PaymentInstrument{ID: s.newTokenID(), InstrumentIdentifierID: ii.ID, Card: card, State: tokenActive, CreatedAt: now}
	if billTo != nil {
		b := *billTo
		pi.BillTo = &b
	}
	s.state.instruments[pi.ID] = pi
	s.state.instrumentOrder = append(s.state.instrumentOrder, pi.ID)
	if c != nil {
		pi.CustomerID = c.ID
		if c.DefaultPaymentInstrumentID == "" {
			s.setDefaultInstrument(c, pi)
		}
	}
	return pi
}

// setDefaultInstrument makes pi the customer's default.
func (s *Server) setDefaultInstrument(c *Customer, pi *PaymentInstrument) {
	if old := s.state.instruments[c.DefaultPaymentInstrumentID]; old != nil {
		old.Default = false
	}
	c.DefaultPaymentInstrumentID = pi.ID
	pi.Default = true
}

func (s *Server) instrumentView(pi *PaymentInstrument) obj {
	self := "/tms/v1/paymentinstruments/" + pi.ID
	links := obj{"self": obj{"href": self}}
	if pi.CustomerID != "" {
		self = "/tms/v2/customers/" + pi.CustomerID + "/payment-instruments/" + pi.ID
		links = obj{"self": obj{"href": self}, "customer": obj{"href": "/tms/v2/customers/" + pi.CustomerID}}
	}
	v := obj{
		"_links":               links,
		"id":                   pi.ID,
		"object":               "paymentInstrument",
		"default":              pi.Default,
		"state":                pi.State,
		"card":                 obj{"expirationMonth": pi.Card.ExpirationMonth, "expirationYear": pi.Card.ExpirationYear, "type": pi.Card.Type},
		"instrumentIdentifier": obj{"id": pi.InstrumentIdentifierID},
		"metadata":             obj{"creator": s.opts.MerchantID},
	}
	if pi.BillTo != nil {
		v["billTo"] = *pi.BillTo
	}
	if ii := s.state.identifiers[pi.InstrumentIdentifierID]; ii != nil {
		v["_embedded"] = obj{"instrumentIdentifier": s.identifierView(ii)}
	}
	return v
}

// --- instrument identifiers ---

// handleCreateInstrumentIdentifier tokenizes a card number: 201 with a new identifier, or 200 with
// the existing one when the card was tokenized before (TMS never makes two for one card).
func (s *Server) handleCreateInstrumentIdentifier(w http.ResponseWriter, r *http.Request, body []byte) {
	var in identifierIn
	if e := decodeJSON(s.clock.Now(), body, &in); e != nil {
		writeAPIError(w, tmsError(http.StatusBadRequest, tmsInvalidFields, "The request body is not valid JSON"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.Card == nil || strings.TrimSpace(in.Card.Number) == "" {
		writeAPIError(w, tmsError(http.StatusBadRequest, tmsMissingFields, "One or more fields are missing", "card.number"))
		return
	}
	ii, isNew, e := s.tokenizeNumber(s.clock.Now(), in.Card.Number, "card.number")
	if e != nil {
		writeAPIError(w, e)
		return
	}
	status := http.StatusOK
	if isNew {
		status = http.StatusCreated
	}
	writeHAL(w, status, s.identifierView(ii))
}

func (s *Server) handleGetInstrumentIdentifier(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ii, e := s.identifier(pathID(r, "id"))
	if e != nil {
		writeAPIError(w, e)
		return
	}
	writeHAL(w, http.StatusOK, s.identifierView(ii))
}

// handlePatchInstrumentIdentifier accepts an update and answers the identifier: its card number
// cannot change, so there is nothing else to apply.
func (s *Server) handlePatchInstrumentIdentifier(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.handleGetInstrumentIdentifier(w, r, nil)
}

// handleDeleteInstrumentIdentifier refuses (409) while live payment instruments use it.
func (s *Server) handleDeleteInstrumentIdentifier(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ii, e := s.identifier(pathID(r, "id"))
	if e != nil {
		writeAPIError(w, e)
		return
	}
	for _, id := range s.state.instrumentOrder {
		if pi := s.state.instruments[id]; pi.InstrumentIdentifierID == ii.ID && !pi.Deleted {
			writeAPIError(w, tmsError(http.StatusConflict, tmsConflict, "The instrument identifier is in use by payment instruments"))
			return
		}
	}
	ii.Deleted = true
	pan := s.state.panByIdentifier[ii.ID]
	delete(s.state.panByIdentifier, ii.ID)
	delete(s.state.identifierByPAN, pan)
	w.WriteHeader(http.StatusNoContent)
}

// identifier finds a live instrument identifier: 404 when unknown, 410 when deleted.
func (s *Server) identifier(id string) (*InstrumentIdentifier, *apiError) {
	ii := s.state.identifiers[id]
	switch {
	case ii == nil:
		return nil, tmsError(http.StatusNotFound, tmsNotFound, "Instrument identifier not found: "+id)
	case ii.Deleted:
		return nil, tmsError(http.StatusGone, tmsNotAvailable, "Instrument identifier has been deleted: "+id)
	}
	return ii, nil
}

// tokenizeNumber validates a card number and returns its instrument identifier, made if new.
func (s *Server) tokenizeNumber(now time.Time, number, field string) (*InstrumentIdentifier, bool, *apiError) {
	pan := strings.ReplaceAll(strings.TrimSpace(number), " ", "")
	if !allDigits(pan) || len(pan) < 12 || len(pan) > 19 || !luhnValid(pan) {
		return nil, false, tmsError(http.StatusBadRequest, tmsInvalidFields, "Invalid card number", field)
	}
	brand, ok := detectBrand(pan)
	if !ok {
		return nil, false, tmsError(http.StatusBadRequest, tmsInvalidFields, "Card type not supported", field)
	}
	ii, isNew := s.tokenizeCard(now, pan, brand)
	return ii, isNew, nil
}

// tokenizeCard returns the identifier of a valid card number, made if new.
func (s *Server) tokenizeCard(now time.Time, pan string, brand cardBrand) (*InstrumentIdentifier, bool) {
	if id, ok := s.state.identifierByPAN[pan]; ok {
		return s.state.identifiers[id], false
	}
	card := summarize(pan, brand, "", "")
	ii := &InstrumentIdentifier{ID: s.newInstrumentIdentifierID(card.Suffix), Card: card, State: tokenActive, CreatedAt: now}
	s.state.identifiers[ii.ID] = ii
	s.state.identifierOrder = append(s.state.identifierOrder, ii.ID)
	s.state.panByIdentifier[ii.ID] = pan
	s.state.identifierByPAN[pan] = ii.ID
	return ii, true
}

func (s *Server) identifierView(ii *InstrumentIdentifier) obj {
	self := "/tms/v1/instrumentidentifiers/" + ii.ID
	return obj{
		"_links":   obj{"self": obj{"href": self}, "paymentInstruments": obj{"href": self + "/paymentinstruments"}},
		"id":       ii.ID,
		"object":   "instrumentIdentifier",
		"state":    ii.State,
		"card":     obj{"number": ii.Card.Masked},
		"metadata": obj{"creator": s.opts.MerchantID},
	}
}

// createPaymentTokens is TOKEN_CREATE on an approved card payment: the instrument identifier
// always, and the customer and payment instrument as processingInformation.actionTokenTypes asks
// (all three when it is empty). The caller holds s.mu.
func (s *Server) createPaymentTokens(now time.Time, t *Transaction, src *chargeSource, billTo *Address, types []string) {
	want := map[string]bool{}
	for _, ty := range types {
		want[strings.ToLower(ty)] = true
	}
	if len(want) == 0 {
		want = map[string]bool{"customer": true, "paymentinstrument": true, "instrumentidentifier": true}
	}
	ii, isNew := s.tokenizeCard(now, src.pan, src.brand)
	t.InstrumentIdentifierID, t.InstrumentIdentifierNew, t.TokensCreated = ii.ID, isNew, true
	var c *Customer
	if want["customer"] {
		c = &Customer{ID: s.newTokenID(), ClientReferenceCode: t.ClientReferenceCode, CreatedAt: now}
		if billTo != nil {
			c.Email = billTo.Email
		}
		s.state.customers[c.ID] = c
		s.state.customerOrder = append(s.state.customerOrder, c.ID)
		t.CustomerID = c.ID
	}
	if want["paymentinstrument"] || want["customer"] {
		pi := s.newInstrument(now, c, ii, src.month, src.year, billTo)
		t.PaymentInstrumentID = pi.ID
	}
}
